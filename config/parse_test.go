package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const header = "apiVersion: eksguard.io/v1alpha1\nkind: PolicyConfig\n"

func TestParseEveryField(t *testing.T) {
	doc := header + `dryRun: true
scope:
  excludedNamespaces: [kube-system, tools]
  excludedNamespaceSelector:
    matchLabels: {eksguard.io/ignore: "true"}
exemptions:
  - name: legacy
    rules: [networkPolicy, seccomp]
    namespaces: [payments]
    namespaceSelector:
      matchExpressions:
        - {key: team, operator: In, values: [a, b]}
    objectSelector:
      matchLabels: {app: ledger}
    reason: migration
    expires: 2026-12-31
annotationExemptions:
  namespaces: [sandbox]
  namespaceSelector:
    matchLabels: {sandbox: "yes"}
rules:
  seccomp:
    mode: warn
    unconfined: enforce
  networkPolicy:
    mode: off
    coverage: both
    hostNetwork: enforce
    clusterDefaultDeny: {ingress: true, egress: false, reason: VPC CNI strict mode}
    fargate: enforce
    windows: off
    windowsEngine: calico
    standalonePods: off
    fargateProfiles:
      - {name: batch, namespace: "batch-*", labels: {compute: fargate}}
    dns: {mode: enforce, namespace: dns, podLabels: {app: resolver}, autoMode: true}
  loadBalancerTLS:
    mode: warn
    allowedSSLPolicies: [ELBSecurityPolicy-TLS13-1-3-2021-06]
    controllerDefaultSSLPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06
    requireBackendTLS: true
    skipInternal: true
    albIngressClasses: [alb, alb-internal]
    lbcClasslessIngresses: true
    lbcCertificateManagement: true
    otherIngressClasses: requireTLS
    unknownClasses: {aws: enforce, other: warn}
    autoMode:
      defaultSSLPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06
      sslPolicyAnnotations: true
      defaultScheme: internal
      serviceDefaulting: true
`
	want := Config{
		APIVersion: APIVersion,
		Kind:       Kind,
		DryRun:     true,
		Scope: Scope{
			ExcludedNamespaces:        []string{"kube-system", "tools"},
			ExcludedNamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"eksguard.io/ignore": "true"}},
		},
		Exemptions: []Exemption{{
			Name:       "legacy",
			Rules:      []RuleName{RuleNetworkPolicy, RuleSeccomp},
			Namespaces: []string{"payments"},
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}},
			}},
			ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ledger"}},
			Reason:         "migration",
			Expires:        "2026-12-31",
		}},
		AnnotationExemptions: AnnotationExemptions{
			Namespaces:        []string{"sandbox"},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"sandbox": "yes"}},
		},
		Rules: RuleSettings{
			Seccomp: SeccompSettings{Mode: ModeWarn, Unconfined: ModeEnforce},
			NetworkPolicy: NetworkPolicySettings{Mode: ModeOff, Coverage: CoverageBoth, HostNetwork: ModeEnforce,
				ClusterDefaultDeny: ClusterDefaultDeny{Ingress: true, Reason: "VPC CNI strict mode"},
				Fargate:            ModeEnforce, Windows: ModeOff, WindowsEngine: EngineCalicoWindows, StandalonePods: ModeOff,
				FargateProfiles: []FargateProfile{{Name: "batch", Namespace: "batch-*", Labels: map[string]string{"compute": "fargate"}}},
				DNS:             DNSSettings{Mode: ModeEnforce, Namespace: "dns", PodLabels: map[string]string{"app": "resolver"}, AutoMode: true}},
			LoadBalancerTLS: LoadBalancerTLSSettings{
				Mode:                       ModeWarn,
				AllowedSSLPolicies:         []string{"ELBSecurityPolicy-TLS13-1-3-2021-06"},
				ControllerDefaultSSLPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
				RequireBackendTLS:          true,
				SkipInternal:               true,
				ALBIngressClasses:          []string{"alb", "alb-internal"},
				LBCClasslessIngresses:      true,
				LBCCertificateManagement:   true,
				OtherIngressClasses:        OtherIngressRequireTLS,
				UnknownClasses:             UnknownClasses{AWS: ModeEnforce, Other: ModeWarn},
				AutoMode: AutoModeSettings{DefaultSSLPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", SSLPolicyAnnotations: true,
					DefaultScheme: SchemeInternal, ServiceDefaulting: true},
			},
		},
	}
	got, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	assertConfig(t, got, want)
	if _, err := Load([]byte(doc), "eksguard-system"); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

func TestParseDefaults(t *testing.T) {
	withDefaults := func(change func(*Config)) Config {
		c := Defaults()
		change(&c)
		return c
	}
	tests := []struct {
		name string
		doc  string
		want Config
	}{{
		name: "only apiVersion and kind: the built-in defaults",
		doc:  header,
		want: Defaults(),
	}, {
		name: "null values keep their defaults",
		doc:  header + "dryRun:\nscope:\n  excludedNamespaces:\nexemptions: ~\nrules:\n  seccomp: null\n",
		want: Defaults(),
	}, {
		name: "a field set keeps its siblings' defaults",
		doc:  header + "rules:\n  networkPolicy:\n    coverage: ingress\n",
		want: withDefaults(func(c *Config) { c.Rules.NetworkPolicy.Coverage = CoverageIngress }),
	}, {
		name: "a list replaces the default list",
		doc:  header + "scope:\n  excludedNamespaces: [kube-system]\n",
		want: withDefaults(func(c *Config) { c.Scope.ExcludedNamespaces = []string{"kube-system"} }),
	}, {
		name: "an empty list empties the default list",
		doc:  header + "rules:\n  loadBalancerTLS:\n    albIngressClasses: []\n",
		want: withDefaults(func(c *Config) { c.Rules.LoadBalancerTLS.ALBIngressClasses = []string{} }),
	}, {
		name: "anchors and aliases",
		doc: header + "scope:\n  excludedNamespaces: &system [kube-system, kube-public]\n" +
			"annotationExemptions:\n  namespaces: *system\n",
		want: withDefaults(func(c *Config) {
			c.Scope.ExcludedNamespaces = []string{"kube-system", "kube-public"}
			c.AnnotationExemptions.Namespaces = []string{"kube-system", "kube-public"}
		}),
	}, {
		name: "quoted and unquoted dates, booleans in YAML 1.2 spellings",
		doc: header + "dryRun: True\nexemptions:\n" +
			"- {name: a, rules: [seccomp], namespaces: [x], reason: r, expires: 2026-01-02}\n" +
			"- {name: b, rules: [seccomp], namespaces: [x], reason: r, expires: \"2026-01-02T10:00:00Z\"}\n",
		want: withDefaults(func(c *Config) {
			c.DryRun = true
			c.Exemptions = []Exemption{
				{Name: "a", Rules: []RuleName{RuleSeccomp}, Namespaces: []string{"x"}, Reason: "r", Expires: "2026-01-02"},
				{Name: "b", Rules: []RuleName{RuleSeccomp}, Namespaces: []string{"x"}, Reason: "r", Expires: "2026-01-02T10:00:00Z"},
			}
		}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			assertConfig(t, got, tt.want)
		})
	}
}

// Parse must not share the default lists with Defaults callers.
func TestParseDoesNotAliasDefaults(t *testing.T) {
	cfg, err := Parse([]byte(header))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Rules.LoadBalancerTLS.AllowedSSLPolicies[0] = "changed"
	if DefaultAllowedSSLPolicies[0] == "changed" {
		t.Fatal("Parse result shares DefaultAllowedSSLPolicies")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{{
		name: "boolean of the wrong type",
		doc:  header + "dryRun: yes please\n",
		want: `line 3: dryRun: expected a boolean, got "yes please"`,
	}, {
		name: "YAML 1.1 yes is no boolean",
		doc:  header + "dryRun: yes\n",
		want: `line 3: dryRun: expected a boolean, got "yes"`,
	}, {
		name: "unknown nested field, with a suggestion",
		doc:  header + "rules:\n  networkPolicy:\n    mode: warn\n    covrage: both\n",
		want: `line 6: rules.networkPolicy: unknown field "covrage", did you mean "coverage"?`,
	}, {
		name: "unknown top-level field, nothing close",
		doc:  header + "enforcement: strict\n",
		want: `line 3: unknown field "enforcement"`,
	}, {
		name: "unknown field differing in case",
		doc:  header + "dryrun: true\n",
		want: `line 3: unknown field "dryrun", did you mean "dryRun"?`,
	}, {
		name: "unknown field in an exemption",
		doc:  header + "exemptions:\n- name: a\n  namespace: payments\n",
		want: `line 5: exemptions[0]: unknown field "namespace", did you mean "namespaces"?`,
	}, {
		name: "unknown field in a label selector",
		doc:  header + "scope:\n  excludedNamespaceSelector:\n    matchLabel: {a: b}\n",
		want: `line 5: scope.excludedNamespaceSelector: unknown field "matchLabel", did you mean "matchLabels"?`,
	}, {
		name: "list expected",
		doc:  header + "scope:\n  excludedNamespaces: kube-system\n",
		want: `line 4: scope.excludedNamespaces: expected a list, got "kube-system"`,
	}, {
		name: "mapping expected",
		doc:  header + "rules: [seccomp]\n",
		want: `line 3: rules: expected a mapping, got a list`,
	}, {
		name: "string expected, got a number",
		doc:  header + "rules:\n  loadBalancerTLS:\n    allowedSSLPolicies: [ELBSecurityPolicy-TLS13-1-2-2021-06, 2016]\n",
		want: `line 5: rules.loadBalancerTLS.allowedSSLPolicies[1]: expected a string, got 2016`,
	}, {
		name: "string expected, got a boolean",
		doc:  header + "rules:\n  seccomp:\n    mode: true\n",
		want: `line 5: rules.seccomp.mode: expected a string, got true`,
	}, {
		name: "string expected, got a mapping",
		doc:  header + "exemptions:\n- reason: {why: because}\n",
		want: `line 4: exemptions[0].reason: expected a string, got a mapping`,
	}, {
		name: "label value must be a string",
		doc:  header + "scope:\n  excludedNamespaceSelector:\n    matchLabels: {ignore: true}\n",
		want: `line 5: scope.excludedNamespaceSelector.matchLabels[ignore]: expected a string, got true`,
	}, {
		name: "label key must be a string",
		doc:  header + "scope:\n  excludedNamespaceSelector:\n    matchLabels: {1: a}\n",
		want: `line 5: scope.excludedNamespaceSelector.matchLabels: expected a string key, got 1`,
	}, {
		name: "field name must be a string",
		doc:  header + "[a]: b\n",
		want: `line 3: expected a field name, got a list`,
	}, {
		name: "field given twice",
		doc:  header + "dryRun: true\nrules: {}\ndryRun: false\n",
		want: `line 5: field "dryRun" given twice (first on line 3)`,
	}, {
		name: "every problem is reported, in document order",
		doc:  header + "dryRun: 1\nrules:\n  seccomp:\n    mod: warn\n  networkPolicy: []\n",
		want: `line 3: dryRun: expected a boolean, got 1; ` +
			`line 6: rules.seccomp: unknown field "mod", did you mean "mode"?; ` +
			`line 7: rules.networkPolicy: expected a mapping, got a list`,
	}, {
		name: "YAML syntax error",
		doc:  header + "rules: [\n",
		want: `line 3: invalid YAML: did not find expected node content`,
	}, {
		name: "tabs",
		doc:  header + "rules:\n\tseccomp: {}\n",
		want: `line 4: invalid YAML: found character that cannot start any token`,
	}, {
		name: "empty document",
		doc:  "",
		want: `line 1: empty document, expected a mapping with apiVersion and kind`,
	}, {
		name: "only comments",
		doc:  "# nothing yet\n",
		want: `line 1: empty document, expected a mapping with apiVersion and kind`,
	}, {
		name: "two documents",
		doc:  header + "---\n" + header,
		want: `line 3: only one YAML document is allowed`,
	}, {
		name: "document is a list",
		doc:  "- apiVersion: eksguard.io/v1alpha1\n",
		want: `line 1: expected a mapping with apiVersion and kind, got a list`,
	}, {
		name: "apiVersion and kind missing",
		doc:  "dryRun: true\n",
		want: `line 1: apiVersion: required field missing, set it to "eksguard.io/v1alpha1"; ` +
			`line 1: kind: required field missing, set it to "PolicyConfig"`,
	}, {
		name: "another version: its fields are not judged by this schema",
		doc:  "apiVersion: eksguard.io/v1\nkind: PolicyConfig\nnewField: x\n",
		want: `line 1: apiVersion: unsupported value "eksguard.io/v1", this eksguard reads "eksguard.io/v1alpha1"`,
	}, {
		name: "wrong kind",
		doc:  "apiVersion: eksguard.io/v1alpha1\nkind: Policy\n",
		want: `line 2: kind: unsupported value "Policy", this eksguard reads "PolicyConfig"`,
	}, {
		name: "alias bombs are cut short",
		doc:  header + aliasBomb(),
		want: `line 3: unknown field "x"; line 4: unknown field "y"; document too large: more than 20000 values (check anchors and aliases)`,
	}, {
		name: "at most ten errors are listed",
		doc:  header + "exemptions: [" + repeatList("{nam: a}", 12) + "]\n",
		want: unknownNamInFirstTenExemptions() + "; and 2 more errors",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Fatalf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

// aliasBomb nests aliases so that three lines expand to over a million values.
func aliasBomb() string {
	return "x: &m {key: a, operator: In, values: [a, a, a, a, a, a, a, a, a, a]}\n" +
		"y: &e {name: a, rules: [seccomp], namespaceSelector: {matchExpressions: [" + repeatList("*m", 100) + "]}}\n" +
		"exemptions: [" + repeatList("*e", 1000) + "]\n"
}

func repeatList(item string, n int) string {
	return strings.TrimSuffix(strings.Repeat(item+", ", n), ", ")
}

func unknownNamInFirstTenExemptions() string {
	msgs := make([]string, 10)
	for i := range msgs {
		msgs[i] = fmt.Sprintf(`line 3: exemptions[%d]: unknown field "nam", did you mean "name"?`, i)
	}
	return strings.Join(msgs, "; ")
}

func assertConfig(t *testing.T, got, want Config) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("config\n got: %s\nwant: %s", g, w)
	}
}
