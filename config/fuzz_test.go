package config

import (
	"os"
	"testing"
	"time"
)

// FuzzLoad feeds the policy parser arbitrary documents, seeded with the
// sample ConfigMap's policy and edge cases: it must never panic, and a
// document it accepts must compile to a policy that summarizes.
func FuzzLoad(f *testing.F) {
	if sample, err := os.ReadFile("../examples/policy-configmap.yaml"); err == nil {
		f.Add(sample)
	}
	for _, seed := range []string{
		header,
		header + "dryRun: true\nrules: {networkPolicy: {coverage: both, hostNetwork: enforce, clusterDefaultDeny: {ingress: true}}}\n",
		header + "exemptions: [{name: x, rules: [seccomp], namespaces: [a], reason: r, expires: 2026-12-31}]\n",
		header + "scope: {excludedNamespaceSelector: {matchExpressions: [{key: a, operator: In}]}}\n",
		"", "null", "- a\n- b\n", "{", header + "dryRun: yes please\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Load(doc, "eksguard-system")
		if err != nil {
			return
		}
		if p.Summary(time.Now()) == "" {
			t.Fatal("an accepted policy has no summary")
		}
	})
}
