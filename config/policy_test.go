package config

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

var fixedNow = time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)

const decidePolicy = header + `
scope:
  excludedNamespaces: [kube-system, legacy]
  excludedNamespaceSelector:
    matchLabels: {eksguard.io/ignore: "true"}
exemptions:
  - name: payments-netpol
    rules: [networkPolicy]
    namespaces: [payments]
    reason: migration
  - name: observability-seccomp
    rules: [seccomp]
    namespaceSelector:
      matchLabels: {team: observability}
    reason: vendor profile
  - name: ledger-lb
    rules: [loadBalancerTLS]
    namespaces: [payments]
    objectSelector:
      matchLabels: {app: ledger}
    reason: TLS terminates in the pod
  - name: until-new-year
    rules: [seccomp]
    namespaces: [temp]
    reason: short-lived
    expires: 2026-12-31
  - name: until-noon
    rules: [seccomp]
    namespaces: [temp-noon]
    reason: short-lived
    expires: "2026-11-27T12:00:00Z"
annotationExemptions:
  namespaces: [sandbox]
  namespaceSelector:
    matchLabels: {sandbox: "true"}
`

func mustLoad(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Load([]byte(doc), "eksguard-system")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

func TestDecide(t *testing.T) {
	policy := mustLoad(t, decidePolicy)
	dryRun := mustLoad(t, decidePolicy+"dryRun: true\n")
	exempt := map[string]string{ExemptAnnotation: "networkPolicy, seccomp"}
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}

	tests := []struct {
		name       string
		policy     *Policy
		rule       RuleName
		configured Mode
		subject    Subject
		now        time.Time
		want       Decision
	}{
		{name: "in scope, enforce", rule: RuleNetworkPolicy, configured: ModeEnforce,
			subject: Subject{Namespace: "shop"}, want: Decision{Mode: ModeEnforce}},
		{name: "in scope, warn", rule: RuleSeccomp, configured: ModeWarn,
			subject: Subject{Namespace: "shop"}, want: Decision{Mode: ModeWarn}},
		{name: "off stays off, even where excluded", rule: RuleSeccomp, configured: ModeOff,
			subject: Subject{Namespace: "kube-system"}, want: Decision{Mode: ModeOff}},

		// Scope.
		{name: "excluded by name", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "legacy"}, want: Decision{Mode: ModeOff, Excluded: true}},
		{name: "own namespace always excluded", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "eksguard-system"}, want: Decision{Mode: ModeOff, Excluded: true}},
		{name: "a default exclusion the document's list leaves out is checked", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "kube-public"}, want: Decision{Mode: ModeEnforce}},
		{name: "excluded by namespace label", rule: RuleNetworkPolicy, configured: ModeEnforce,
			subject: Subject{Namespace: "shop", NamespaceLabels: labels.Set{"eksguard.io/ignore": "true"}},
			want:    Decision{Mode: ModeOff, Excluded: true}},
		{name: "namespace label with another value", rule: RuleNetworkPolicy, configured: ModeEnforce,
			subject: Subject{Namespace: "shop", NamespaceLabels: labels.Set{"eksguard.io/ignore": "false"}},
			want:    Decision{Mode: ModeEnforce}},
		{name: "the exclusion label on the object itself does nothing", rule: RuleNetworkPolicy, configured: ModeEnforce,
			subject: Subject{Namespace: "shop", Labels: labels.Set{"eksguard.io/ignore": "true"}},
			want:    Decision{Mode: ModeEnforce}},

		// Exemptions.
		{name: "exempted by namespace", rule: RuleNetworkPolicy, configured: ModeEnforce,
			subject: Subject{Namespace: "payments"}, want: Decision{Mode: ModeOff, Exemption: "payments-netpol"}},
		{name: "an exemption lifts only its rules", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "payments"}, want: Decision{Mode: ModeEnforce}},
		{name: "exempted by namespace selector", rule: RuleSeccomp, configured: ModeWarn,
			subject: Subject{Namespace: "agents", NamespaceLabels: labels.Set{"team": "observability"}},
			want:    Decision{Mode: ModeOff, Exemption: "observability-seccomp"}},
		{name: "namespace selector labels on the object do not exempt it", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "agents", Labels: labels.Set{"team": "observability"}},
			want:    Decision{Mode: ModeEnforce}},
		{name: "object selector narrows: matching object", rule: RuleLoadBalancerTLS, configured: ModeEnforce,
			subject: Subject{Namespace: "payments", Labels: labels.Set{"app": "ledger"}},
			want:    Decision{Mode: ModeOff, Exemption: "ledger-lb"}},
		{name: "object selector narrows: other object", rule: RuleLoadBalancerTLS, configured: ModeEnforce,
			subject: Subject{Namespace: "payments", Labels: labels.Set{"app": "web"}},
			want:    Decision{Mode: ModeEnforce}},
		{name: "object selector cannot widen to other namespaces", rule: RuleLoadBalancerTLS, configured: ModeEnforce,
			subject: Subject{Namespace: "shop", Labels: labels.Set{"app": "ledger"}},
			want:    Decision{Mode: ModeEnforce}},

		// Expiry.
		{name: "date expiry: before", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "temp"}, now: fixedNow, want: Decision{Mode: ModeOff, Exemption: "until-new-year"}},
		{name: "date expiry: last second of the day", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "temp"}, now: at("2026-12-31T23:59:59Z"), want: Decision{Mode: ModeOff, Exemption: "until-new-year"}},
		{name: "date expiry: the next day", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "temp"}, now: at("2027-01-01T00:00:00Z"), want: Decision{Mode: ModeEnforce}},
		{name: "time expiry: before", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "temp-noon"}, now: at("2026-11-27T11:59:59Z"), want: Decision{Mode: ModeOff, Exemption: "until-noon"}},
		{name: "time expiry: at", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "temp-noon"}, now: at("2026-11-27T12:00:00Z"), want: Decision{Mode: ModeEnforce}},

		// Annotation exemptions.
		{name: "annotation honoured in an allowed namespace", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "sandbox", Annotations: exempt},
			want:    Decision{Mode: ModeOff, Exemption: AnnotationExemption}},
		{name: "annotation lifts only the rules it names", rule: RuleLoadBalancerTLS, configured: ModeEnforce,
			subject: Subject{Namespace: "sandbox", Annotations: exempt}, want: Decision{Mode: ModeEnforce}},
		{name: "annotation honoured in a namespace allowed by label", rule: RuleNetworkPolicy, configured: ModeWarn,
			subject: Subject{Namespace: "lab", NamespaceLabels: labels.Set{"sandbox": "true"}, Annotations: exempt},
			want:    Decision{Mode: ModeOff, Exemption: AnnotationExemption}},
		{name: "annotation ignored elsewhere", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "shop", Annotations: exempt}, want: Decision{Mode: ModeEnforce}},
		{name: "annotation ignored where only the object carries the allowing label", rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "shop", Labels: labels.Set{"sandbox": "true"}, Annotations: exempt},
			want:    Decision{Mode: ModeEnforce}},
		{name: "annotation must name the rule exactly", rule: RuleNetworkPolicy, configured: ModeEnforce,
			subject: Subject{Namespace: "sandbox", Annotations: map[string]string{ExemptAnnotation: "networkpolicy,all"}},
			want:    Decision{Mode: ModeEnforce}},
		{name: "annotation ignored by the built-in defaults", policy: DefaultPolicy("eksguard-system"),
			rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "sandbox", Annotations: exempt}, want: Decision{Mode: ModeEnforce}},

		// Dry-run.
		{name: "dry-run turns enforce into warn", policy: dryRun, rule: RuleNetworkPolicy, configured: ModeEnforce,
			subject: Subject{Namespace: "shop"}, want: Decision{Mode: ModeWarn}},
		{name: "dry-run leaves warn", policy: dryRun, rule: RuleSeccomp, configured: ModeWarn,
			subject: Subject{Namespace: "shop"}, want: Decision{Mode: ModeWarn}},
		{name: "dry-run leaves off", policy: dryRun, rule: RuleSeccomp, configured: ModeOff,
			subject: Subject{Namespace: "shop"}, want: Decision{Mode: ModeOff}},
		{name: "dry-run keeps exclusions", policy: dryRun, rule: RuleSeccomp, configured: ModeEnforce,
			subject: Subject{Namespace: "legacy"}, want: Decision{Mode: ModeOff, Excluded: true}},
		{name: "dry-run keeps exemptions", policy: dryRun, rule: RuleNetworkPolicy, configured: ModeEnforce,
			subject: Subject{Namespace: "payments"}, want: Decision{Mode: ModeOff, Exemption: "payments-netpol"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.policy
			if p == nil {
				p = policy
			}
			now := tt.now
			if now.IsZero() {
				now = fixedNow
			}
			if got := p.Decide(tt.rule, tt.configured, tt.subject, now); got != tt.want {
				t.Fatalf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNeedsNamespaceLabels(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want bool
	}{
		{name: "defaults", doc: header, want: false},
		{name: "names only", doc: header + "scope: {excludedNamespaces: [a]}\nannotationExemptions: {namespaces: [b]}\n" +
			"exemptions: [{name: x, rules: [seccomp], namespaces: [c], objectSelector: {matchLabels: {a: b}}, reason: r}]\n", want: false},
		{name: "exclusion selector", doc: header + "scope: {excludedNamespaceSelector: {matchLabels: {a: b}}}\n", want: true},
		{name: "annotation selector", doc: header + "annotationExemptions: {namespaceSelector: {matchLabels: {a: b}}}\n", want: true},
		{name: "exemption selector", doc: header +
			"exemptions: [{name: x, rules: [seccomp], namespaceSelector: {matchLabels: {a: b}}, reason: r}]\n", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustLoad(t, tt.doc).NeedsNamespaceLabels(); got != tt.want {
				t.Fatalf("NeedsNamespaceLabels = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	p := mustLoad(t, decidePolicy+"dryRun: true\n")
	p.Source = "eksguard-system/eksguard-policy@42"
	want := "eksguard-system/eksguard-policy@42 (hash " + p.Hash[:12] + "): seccomp=enforce (unconfined=warn), " +
		"networkPolicy=enforce (coverage=any), loadBalancerTLS=enforce, dryRun (enforce acts as warn), 5 exemption(s), expired: until-noon"
	if got := p.Summary(time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)); got != want {
		t.Fatalf("Summary\n got: %s\nwant: %s", got, want)
	}
}

// The hash identifies content: equal documents, equal hashes.
func TestHash(t *testing.T) {
	a := mustLoad(t, header+"dryRun: false\n")
	b := mustLoad(t, header)
	c := mustLoad(t, header+"dryRun: true\n")
	if a.Hash != b.Hash || a.Hash != DefaultPolicy("").Hash {
		t.Errorf("same content, different hashes: %s %s", a.Hash, b.Hash)
	}
	if a.Hash == c.Hash {
		t.Error("different content, same hash")
	}
}

func BenchmarkDecide(b *testing.B) {
	p, err := Load([]byte(decidePolicy), "eksguard-system")
	if err != nil {
		b.Fatal(err)
	}
	s := Subject{Namespace: "shop", NamespaceLabels: labels.Set{"team": "web"}, Labels: labels.Set{"app": "web"},
		Annotations: map[string]string{ExemptAnnotation: "seccomp"}}
	for b.Loop() {
		p.Decide(RuleSeccomp, ModeEnforce, s, fixedNow)
	}
}

func BenchmarkLoad(b *testing.B) {
	doc := []byte(decidePolicy)
	for b.Loop() {
		if _, err := Load(doc, "eksguard-system"); err != nil {
			b.Fatal(err)
		}
	}
}
