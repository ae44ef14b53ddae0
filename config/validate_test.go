package config

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDefaultsAreValid(t *testing.T) {
	cfg := Defaults()
	if errs := Validate(&cfg); len(errs) > 0 {
		t.Fatalf("Validate(Defaults()) = %v", errs)
	}
	p := DefaultPolicy("eksguard-system")
	if p.Source != "defaults" || p.Hash == "" {
		t.Fatalf("DefaultPolicy: Source %q, Hash %q", p.Source, p.Hash)
	}
	want := map[string]Mode{
		"seccomp": ModeEnforce, "seccomp.unconfined": ModeWarn,
		"networkPolicy": ModeEnforce, "loadBalancerTLS": ModeEnforce,
	}
	got := map[string]Mode{
		"seccomp": cfg.Rules.Seccomp.Mode, "seccomp.unconfined": cfg.Rules.Seccomp.Unconfined,
		"networkPolicy": cfg.Rules.NetworkPolicy.Mode, "loadBalancerTLS": cfg.Rules.LoadBalancerTLS.Mode,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("default mode of %s = %q, want %q", k, got[k], w)
		}
	}
	if cfg.DryRun {
		t.Error("defaults are in dry-run")
	}
}

// Load reports validation errors with the line of the offending field (or
// of its nearest ancestor the document sets).
func TestLoadValidationErrors(t *testing.T) {
	exemption := func(lines ...string) string {
		return header + "exemptions:\n- " + strings.Join(lines, "\n  ") + "\n"
	}
	tests := []struct {
		name string
		doc  string
		want string
	}{{
		name: "rule mode",
		doc:  header + "rules:\n  seccomp:\n    mode: enforcing\n",
		want: `line 5: rules.seccomp.mode: Unsupported value: "enforcing": supported values: "enforce", "warn", "off"`,
	}, {
		name: "seccomp unconfined mode",
		doc:  header + "rules:\n  seccomp:\n    unconfined: deny\n",
		want: `line 5: rules.seccomp.unconfined: Unsupported value: "deny": supported values: "enforce", "warn", "off"`,
	}, {
		name: "default-deny engine",
		doc:  header + "rules:\n  networkPolicy:\n    clusterDefaultDeny:\n      ingress: true\n      engine: weave\n",
		want: `line 7: rules.networkPolicy.clusterDefaultDeny.engine: Unsupported value: "weave": supported values: "vpc-cni", "auto-mode", "calico", "cilium", "other"`,
	}, {
		name: "default-deny engine without a direction",
		doc:  header + "rules:\n  networkPolicy:\n    clusterDefaultDeny:\n      engine: calico\n",
		want: `line 6: rules.networkPolicy.clusterDefaultDeny.engine: Invalid value: "calico": an engine without ingress or egress declares nothing`,
	}, {
		name: "empty mode",
		doc:  header + "rules:\n  networkPolicy:\n    mode: \"\"\n",
		want: `line 5: rules.networkPolicy.mode: Required value`,
	}, {
		name: "networkPolicy mode and coverage",
		doc:  header + "rules:\n  networkPolicy:\n    mode: Warn\n    coverage: all\n",
		want: `line 5: rules.networkPolicy.mode: Unsupported value: "Warn": supported values: "enforce", "warn", "off"; ` +
			`line 6: rules.networkPolicy.coverage: Unsupported value: "all": supported values: "any", "ingress", "egress", "both"`,
	}, {
		name: "loadBalancerTLS settings",
		doc: header + "rules:\n  loadBalancerTLS:\n    mode: audit\n" +
			"    allowedSSLPolicies: [ELBSecurityPolicy-TLS13-1-2-2021-06, \" \", ELBSecurityPolicy-TLS13-1-2-2021-06]\n" +
			"    controllerDefaultSSLPolicy: \"\"\n" +
			"    albIngressClasses: [alb, ALB, alb]\n" +
			"    otherIngressClasses: require\n",
		want: `line 5: rules.loadBalancerTLS.mode: Unsupported value: "audit": supported values: "enforce", "warn", "off"; ` +
			`line 6: rules.loadBalancerTLS.allowedSSLPolicies[1]: Required value: must not be empty; ` +
			`line 6: rules.loadBalancerTLS.allowedSSLPolicies[2]: Duplicate value: "ELBSecurityPolicy-TLS13-1-2-2021-06"; ` +
			`line 7: rules.loadBalancerTLS.controllerDefaultSSLPolicy: Required value: the --default-ssl-policy of the AWS Load Balancer Controller; ` +
			`line 8: rules.loadBalancerTLS.albIngressClasses[1]: Invalid value: "ALB": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'); ` +
			`line 8: rules.loadBalancerTLS.albIngressClasses[2]: Duplicate value: "alb"; ` +
			`line 9: rules.loadBalancerTLS.otherIngressClasses: Unsupported value: "require": supported values: "ignore", "requireTLS"`,
	}, {
		name: "no allowed SSL policy",
		doc:  header + "rules:\n  loadBalancerTLS:\n    allowedSSLPolicies: []\n",
		want: `line 5: rules.loadBalancerTLS.allowedSSLPolicies: Required value: list the ELB security policies that may be used`,
	}, {
		name: "allowed SSL policies by type",
		doc: header + "rules:\n  loadBalancerTLS:\n    allowedSSLPoliciesByType:\n" +
			"      elb: [ELBSecurityPolicy-TLS-1-2-2017-01]\n      clb: []\n" +
			"      nlb: [ELBSecurityPolicy-TLS13-1-3-2021-06, ELBSecurityPolicy-TLS13-1-3-2021-06]\n",
		want: `line 6: rules.loadBalancerTLS.allowedSSLPoliciesByType[elb]: Unsupported value: "elb": supported values: "alb", "nlb", "clb"; ` +
			`line 7: rules.loadBalancerTLS.allowedSSLPoliciesByType[clb]: Required value: list the security policies that may be used; ` +
			`line 8: rules.loadBalancerTLS.allowedSSLPoliciesByType[nlb][1]: Duplicate value: "ELBSecurityPolicy-TLS13-1-3-2021-06"`,
	}, {
		name: "excluded namespace names",
		doc:  header + "scope:\n  excludedNamespaces: [kube-system, Kube_Public, kube-system]\n",
		want: `line 4: scope.excludedNamespaces[1]: Invalid value: "Kube_Public": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'); ` +
			`line 4: scope.excludedNamespaces[2]: Duplicate value: "kube-system"`,
	}, {
		name: "empty excluded namespace selector would exclude everything",
		doc:  header + "scope:\n  excludedNamespaceSelector: {}\n",
		want: `line 4: scope.excludedNamespaceSelector: Invalid value: "{}": an empty selector excludes every namespace; set the rule modes to off instead`,
	}, {
		name: "invalid selector operator",
		doc:  header + "scope:\n  excludedNamespaceSelector:\n    matchExpressions:\n    - {key: team, operator: Equals, values: [a]}\n",
		want: `line 6: scope.excludedNamespaceSelector.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator`,
	}, {
		name: "selector In without values",
		doc:  header + "annotationExemptions:\n  namespaceSelector:\n    matchExpressions:\n    - {key: team, operator: In}\n",
		want: `line 6: annotationExemptions.namespaceSelector.matchExpressions[0].values: Required value: must be specified when ` + "`operator`" + ` is 'In' or 'NotIn'`,
	}, {
		name: "empty annotation namespace selector",
		doc:  header + "annotationExemptions:\n  namespaces: [sandbox, \"\"]\n  namespaceSelector: {}\n",
		want: `line 4: annotationExemptions.namespaces[1]: Invalid value: "": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'); ` +
			`line 5: annotationExemptions.namespaceSelector: Invalid value: "{}": an empty selector lets objects in every namespace exempt themselves`,
	}, {
		name: "exemption without anything: errors at the exemption's line",
		doc:  header + "exemptions:\n- {}\n",
		want: `line 4: exemptions[0].name: Required value: names the exemption in metrics and logs; ` +
			`line 4: exemptions[0].rules: Required value: name at least one rule to lift; ` +
			`line 4: exemptions[0].namespaces: Required value: an exemption needs namespaces or a namespaceSelector; ` +
			`line 4: exemptions[0].reason: Required value: say why the exemption exists, for whoever reviews it`,
	}, {
		name: "exemption rules",
		doc:  exemption("name: a", "rules: [seccomp, netpol, seccomp]", "namespaces: [x]", "reason: r"),
		want: `line 5: exemptions[0].rules[1]: Unsupported value: "netpol": supported values: "seccomp", "networkPolicy", "loadBalancerTLS"; ` +
			`line 5: exemptions[0].rules[2]: Duplicate value: "seccomp"`,
	}, {
		name: "exemption names: unique, not reserved, DNS labels",
		doc: header + "exemptions:\n" +
			"- {name: a, rules: [seccomp], namespaces: [x], reason: r}\n" +
			"- {name: a, rules: [seccomp], namespaces: [x], reason: r}\n" +
			"- {name: annotation, rules: [seccomp], namespaces: [x], reason: r}\n" +
			"- {name: Legacy Apps, rules: [seccomp], namespaces: [x], reason: r}\n",
		want: `line 5: exemptions[1].name: Duplicate value: "a"; ` +
			`line 6: exemptions[2].name: Invalid value: "annotation": is reserved for annotation exemptions; ` +
			`line 7: exemptions[3].name: Invalid value: "Legacy Apps": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
	}, {
		name: "exemption namespaces and selectors",
		doc: exemption("name: a", "rules: [seccomp]", "namespaces: [team.a]", "namespaceSelector: {}",
			"objectSelector: {matchLabels: {app: \"a b\"}}", "reason: \" \""),
		want: `line 6: exemptions[0].namespaces[0]: Invalid value: "team.a": must not contain dots; ` +
			`line 7: exemptions[0].namespaceSelector: Invalid value: "{}": an empty selector exempts every namespace; set the rule mode to off instead; ` +
			`line 8: exemptions[0].objectSelector.matchLabels: Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'); ` +
			`line 9: exemptions[0].reason: Required value: say why the exemption exists, for whoever reviews it`,
	}, {
		name: "exemption expiry",
		doc:  exemption("name: a", "rules: [seccomp]", "namespaces: [x]", "reason: r", "expires: next week"),
		want: `line 8: exemptions[0].expires: Invalid value: "next week": must be a date (2026-12-31) or an RFC 3339 time (2026-12-31T18:00:00Z)`,
	}, {
		name: "impossible date",
		doc:  exemption("name: a", "rules: [seccomp]", "namespaces: [x]", "reason: r", "expires: 2026-02-30"),
		want: `line 8: exemptions[0].expires: Invalid value: "2026-02-30": must be a date (2026-12-31) or an RFC 3339 time (2026-12-31T18:00:00Z)`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load([]byte(tt.doc), "eksguard-system")
			if err == nil {
				t.Fatalf("Load succeeded (%s), want error %q", p.Summary(fixedNow), tt.want)
			}
			if err.Error() != tt.want {
				t.Fatalf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

// Validate also guards Configs built in code (the CLI, tests).
func TestValidateIdentity(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{{
		name:   "apiVersion missing",
		change: func(c *Config) { c.APIVersion = "" },
		want:   "apiVersion: Required value",
	}, {
		name:   "kind wrong",
		change: func(c *Config) { c.Kind = "ConfigMap" },
		want:   `kind: Unsupported value: "ConfigMap": supported values: "PolicyConfig"`,
	}, {
		name: "selector that LabelSelectorAsSelector would reject",
		change: func(c *Config) {
			c.Exemptions = []Exemption{{Name: "a", Rules: []RuleName{RuleSeccomp}, Reason: "r",
				NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "a", Operator: metav1.LabelSelectorOpExists, Values: []string{"x"}}}}}}
		},
		want: "exemptions[0].namespaceSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Defaults()
			tt.change(&cfg)
			errs := Validate(&cfg)
			if len(errs) != 1 || errs[0].Error() != tt.want {
				t.Fatalf("Validate = %v, want [%s]", errs, tt.want)
			}
			if _, err := Compile(cfg, ""); err == nil {
				t.Fatal("Compile accepted an invalid config")
			}
		})
	}
}
