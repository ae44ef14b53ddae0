package config

// DefaultAllowedSSLPolicies are ELB security policies that negotiate only
// TLS 1.2 and 1.3 (AWS "Security policies for your Application/Network Load Balancer").
var DefaultAllowedSSLPolicies = []string{
	"ELBSecurityPolicy-TLS13-1-2-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
	"ELBSecurityPolicy-TLS13-1-3-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
	"ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
	"ELBSecurityPolicy-TLS-1-2-2017-01",
	"ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
	"ELBSecurityPolicy-FS-1-2-2019-08",
	"ELBSecurityPolicy-FS-1-2-Res-2019-08",
	"ELBSecurityPolicy-FS-1-2-Res-2020-10",
}

// LBCDefaultSSLPolicy is the AWS Load Balancer Controller's built-in
// --default-ssl-policy; it still allows TLS 1.0.
const LBCDefaultSSLPolicy = "ELBSecurityPolicy-2016-08"

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
				Mode:        ModeEnforce,
				Coverage:    CoverageAny,
				HostNetwork: ModeWarn,
			},
			LoadBalancerTLS: LoadBalancerTLSSettings{
				Mode:                       ModeEnforce,
				AllowedSSLPolicies:         append([]string(nil), DefaultAllowedSSLPolicies...),
				ControllerDefaultSSLPolicy: LBCDefaultSSLPolicy,
				ALBIngressClasses:          []string{"alb"},
				OtherIngressClasses:        OtherIngressIgnore,
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
