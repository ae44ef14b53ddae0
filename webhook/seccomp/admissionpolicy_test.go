package seccomp

import (
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

// TestRenderAdmissionPolicy: what the policy in force becomes. The CEL is
// evaluated by the API server in test/admissionpolicy_test.go; here, what
// is rendered when.
func TestRenderAdmissionPolicy(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	conditionNames := func(ap AdmissionPolicy) []string {
		var names []string
		for _, c := range ap.Policy.Spec.MatchConditions {
			names = append(names, c.Name)
		}
		return names
	}
	base := []string{"no-pod-seccomp-profile", "linux-pod", "no-conflicting-legacy-annotation", "has-containers", "not-a-mirror-pod-from-its-node"}
	tests := []struct {
		name     string
		edit     func(*config.Config)
		bound    bool
		extra    []string
		until    time.Time
		contains []string
	}{
		{name: "enforce: bound", bound: true},
		{name: "warn: not bound (the webhook warns)", edit: func(c *config.Config) { c.Rules.Seccomp.Mode = config.ModeWarn }},
		{name: "off: not bound", edit: func(c *config.Config) { c.Rules.Seccomp.Mode = config.ModeOff }},
		{name: "dry run: not bound", edit: func(c *config.Config) { c.DryRun = true }},
		{name: "an exemption of seccomp, until it expires", bound: true,
			edit: func(c *config.Config) {
				c.Exemptions = []config.Exemption{
					{Name: "agents", Rules: []config.RuleName{config.RuleSeccomp}, Namespaces: []string{"monitoring"}, Reason: "r", Expires: "2026-12-31",
						ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "node-exporter"}}},
					{Name: "netpol-only", Rules: []config.RuleName{config.RuleNetworkPolicy}, Namespaces: []string{"legacy"}, Reason: "r"},
					{Name: "expired", Rules: []config.RuleName{config.RuleSeccomp}, Namespaces: []string{"old"}, Reason: "r", Expires: "2026-01-01"},
				}
			},
			extra: []string{"not-exempted-0"}, until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
			contains: []string{`request.namespace in ["monitoring"]`, `("app" in object.metadata.?labels.orValue({}) && object.metadata.?labels.orValue({})["app"] == "node-exporter")`}},
		{name: "excluded by label and annotation exemptions", bound: true,
			edit: func(c *config.Config) {
				c.Scope.ExcludedNamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "eksguard.io/ignore", Operator: metav1.LabelSelectorOpExists}}}
				c.AnnotationExemptions = config.AnnotationExemptions{Namespaces: []string{"sandbox"}}
			},
			extra:    []string{"not-excluded-by-label", "not-exempted-by-annotation"},
			contains: []string{`!(("eksguard.io/ignore" in namespaceObject.metadata.?labels.orValue({})))`, `.split(',').exists(r, r.trim() == "seccomp")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ap := RenderAdmissionPolicy(ruletest.CompilePolicy(t, tt.edit), "eksguard-seccomp", now)
			if (ap.Binding != nil) != tt.bound {
				t.Errorf("bound %v, want %v", ap.Binding != nil, tt.bound)
			}
			if got, want := strings.Join(conditionNames(ap), ","), strings.Join(append(append([]string{}, base...), tt.extra...), ","); got != want {
				t.Errorf("conditions %s, want %s", got, want)
			}
			if !ap.Until.Equal(tt.until) {
				t.Errorf("until %v, want %v", ap.Until, tt.until)
			}
			all := ""
			for _, c := range ap.Policy.Spec.MatchConditions {
				all += c.Expression + "\n"
			}
			for _, want := range tt.contains {
				if !strings.Contains(all, want) {
					t.Errorf("no condition holds %s:\n%s", want, all)
				}
			}
			m := ap.Policy.Spec.Mutations
			if len(m) != 1 || m[0].PatchType != admissionregistrationv1.PatchTypeJSONPatch || m[0].JSONPatch.Expression != AdmissionPolicyMutation {
				t.Errorf("mutations %+v", m)
			}
			if sel := ap.Policy.Spec.MatchConstraints.NamespaceSelector; len(sel.MatchExpressions) != 1 || !strings.Contains(strings.Join(sel.MatchExpressions[0].Values, ","), "kube-system") {
				t.Errorf("namespace selector %+v does not leave out the excluded namespaces", sel)
			}
		})
	}
}
