package report

import (
	"slices"
	"strings"
	"testing"

	jsonpatch "gomodules.xyz/jsonpatch/v2"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/offline"
	"github.com/eksguard/eksguard/webhook/decision"
)

// TestReportedFindings: reports take findings as data: a denied finding
// with its field path, even when its detail holds "; "; a warning whole,
// beyond the 120 characters a kubectl warning is cut to; one note per patch
// operation, attributed to the rule that made it.
func TestReportedFindings(t *testing.T) {
	long := strings.Repeat("w", 200)
	r := offline.Result{Findings: []decision.Finding{
		{Rule: config.RuleLoadBalancerTLS, Outcome: decision.OutcomeDenied, Field: "spec.ports[0]", Detail: "plaintext TCP listener; add it"},
		{Rule: config.RuleNetworkPolicy, Outcome: decision.OutcomeWarned, Detail: long},
		{Rule: config.RuleLoadBalancerTLS, Outcome: decision.OutcomeMutated, Detail: "d", Patches: []jsonpatch.JsonPatchOperation{
			jsonpatch.NewOperation("add", "/a", 1), jsonpatch.NewOperation("remove", "/b", nil)}},
	}}
	want := []reported{
		{rule: config.RuleLoadBalancerTLS, level: "error", message: "spec.ports[0]: plaintext TCP listener; add it"},
		{rule: config.RuleNetworkPolicy, level: "warning", message: long},
		{rule: config.RuleLoadBalancerTLS, level: "note", message: "eksguard will add /a 1"},
		{rule: config.RuleLoadBalancerTLS, level: "note", message: "eksguard will remove /b "},
	}
	if got := reportedFindings(r); !slices.Equal(got, want) {
		t.Errorf("reportedFindings:\n got %+v\nwant %+v", got, want)
	}
}
