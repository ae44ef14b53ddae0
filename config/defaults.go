package config

// DefaultAllowedSSLPolicies are the ELBv2 (Application and Network Load
// Balancer) security policies that negotiate only TLS 1.2 and 1.3: the
// allow-list for ALBs and NLBs unless allowedSSLPoliciesByType overrides it.
// Both load balancer types offer the same predefined policies.
var DefaultAllowedSSLPolicies = []string{
	// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
	// https://docs.aws.amazon.com/elasticloadbalancing/latest/network/describe-ssl-policies.html
	// TLS 1.3 and 1.2 (2021-06).
	"ELBSecurityPolicy-TLS13-1-2-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
	"ELBSecurityPolicy-TLS13-1-3-2021-06",
	// FIPS (2023-04), same pages, "FIPS policies" table.
	"ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
	"ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
	"ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
	"ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
	"ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
	"ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
	// Hybrid post-quantum key exchange (2025-09), same pages ("Security
	// policies with PQ in their names"); the console default is
	// ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09.
	"ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
	// TLS 1.2 only, and forward secrecy with TLS 1.2 only.
	"ELBSecurityPolicy-TLS-1-2-2017-01",
	"ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
	"ELBSecurityPolicy-FS-1-2-2019-08",
	"ELBSecurityPolicy-FS-1-2-Res-2019-08",
	"ELBSecurityPolicy-FS-1-2-Res-2020-10",
}

// DefaultAllowedClassicSSLPolicies are the Classic Load Balancer predefined
// policies that negotiate only TLS 1.2: the one ELBSecurityPolicy-TLS-1-2-2017-01
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/elb-security-policy-table.html,
// "Protocols by policy"). The TLS 1.3 policies are ELBv2 only.
var DefaultAllowedClassicSSLPolicies = []string{"ELBSecurityPolicy-TLS-1-2-2017-01"}

// LBCDefaultSSLPolicy is the AWS Load Balancer Controller's built-in
// --default-ssl-policy; it still allows TLS 1.0.
const LBCDefaultSSLPolicy = "ELBSecurityPolicy-2016-08"

// AWSDefaultSSLPolicy is the policy AWS gives a TLS listener created through
// the API without one, for every load balancer type (the pages above: "Other
// methods"); the in-tree provider's listeners get it when a Service names none.
const AWSDefaultSSLPolicy = "ELBSecurityPolicy-2016-08"

// Defaults returns the built-in configuration used when no ConfigMap exists
// and as the base that a ConfigMap document overrides.
func Defaults() Config {
	return Config{
		APIVersion: APIVersion,
		Kind:       Kind,
		Scope: Scope{
			ExcludedNamespaces: []string{"kube-system", "kube-public", "kube-node-lease"},
		},
		Rules: RuleSettings{
			Seccomp: SeccompSettings{Mode: ModeEnforce, Unconfined: ModeWarn},
			NetworkPolicy: NetworkPolicySettings{
				Mode:           ModeEnforce,
				Coverage:       CoverageAny,
				HostNetwork:    ModeWarn,
				Fargate:        ModeWarn,
				Windows:        ModeWarn,
				StandalonePods: ModeWarn,
				DNS: DNSSettings{
					Mode:      ModeWarn,
					Namespace: "kube-system",
					PodLabels: map[string]string{"k8s-app": "kube-dns"},
				},
			},
			LoadBalancerTLS: LoadBalancerTLSSettings{
				Mode:                       ModeEnforce,
				AllowedSSLPolicies:         append([]string(nil), DefaultAllowedSSLPolicies...),
				ControllerDefaultSSLPolicy: LBCDefaultSSLPolicy,
				ALBIngressClasses:          []string{"alb"},
				OtherIngressClasses:        OtherIngressIgnore,
				UnknownClasses:             UnknownClasses{AWS: ModeWarn, Other: ModeOff},
				AutoMode: AutoModeSettings{
					DefaultSSLPolicy: AWSDefaultSSLPolicy,
					DefaultScheme:    SchemeInternetFacing,
				},
			},
		},
	}
}

// DefaultPolicy compiles Defaults; it cannot fail.
func DefaultPolicy(ownNamespace string) *Policy {
	p, err := Compile(Defaults(), ownNamespace)
	if err != nil {
		panic("built-in defaults are invalid: " + err.Error())
	}
	p.Source = "defaults"
	return p
}
