package netpol

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/eksguard/eksguard/config"
)

// policy builds a NetworkPolicy spec for tests: selector, policy types and
// whether it has an egress rule.
func policy(sel metav1.LabelSelector, types []networkingv1.PolicyType, egressRules bool) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{PodSelector: sel, PolicyTypes: types}}
	if egressRules {
		np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{}}
	}
	return np
}

var (
	ingressOnly = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	egressOnly  = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	bothTypes   = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
)

func expr(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
}

func TestPolicyIsolation(t *testing.T) {
	tests := []struct {
		name        string
		types       []networkingv1.PolicyType
		egressRules bool
		want        Isolation
	}{
		{name: "omitted, no egress rules: Ingress", want: Isolation{Ingress: true}},
		{name: "omitted, egress rules: Ingress and Egress", egressRules: true, want: Isolation{Ingress: true, Egress: true}},
		{name: "empty list is defaulted like omitted", types: []networkingv1.PolicyType{}, egressRules: true, want: Isolation{Ingress: true, Egress: true}},
		{name: "Ingress only, even with egress rules", types: ingressOnly, egressRules: true, want: Isolation{Ingress: true}},
		{name: "Egress only", types: egressOnly, want: Isolation{Egress: true}},
		{name: "both", types: bothTypes, want: Isolation{Ingress: true, Egress: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			np := policy(metav1.LabelSelector{}, tt.types, tt.egressRules)
			if got := PolicyIsolation(&np.Spec); got != tt.want {
				t.Errorf("PolicyIsolation() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCompileSelection(t *testing.T) {
	tests := []struct {
		name     string
		selector metav1.LabelSelector
		labels   labels.Set
		want     bool
	}{
		{name: "{} selects a pod with labels", labels: labels.Set{"app": "web"}, want: true},
		{name: "{} selects a pod without labels", want: true},
		{name: "matchLabels equal", selector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, labels: labels.Set{"app": "web", "tier": "fe"}, want: true},
		{name: "matchLabels other value", selector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, labels: labels.Set{"app": "db"}, want: false},
		{name: "matchLabels every pair must hold", selector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "fe"}}, labels: labels.Set{"app": "web"}, want: false},
		{name: "In matches a listed value", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("app", metav1.LabelSelectorOpIn, "web", "api")}}, labels: labels.Set{"app": "api"}, want: true},
		{name: "In rejects another value", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("app", metav1.LabelSelectorOpIn, "web", "api")}}, labels: labels.Set{"app": "db"}, want: false},
		{name: "In rejects a missing key", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("app", metav1.LabelSelectorOpIn, "web")}}, want: false},
		{name: "NotIn rejects a listed value", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("app", metav1.LabelSelectorOpNotIn, "web")}}, labels: labels.Set{"app": "web"}, want: false},
		{name: "NotIn matches another value", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("app", metav1.LabelSelectorOpNotIn, "web")}}, labels: labels.Set{"app": "db"}, want: true},
		{name: "NotIn matches a missing key", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("app", metav1.LabelSelectorOpNotIn, "web")}}, labels: labels.Set{"tier": "fe"}, want: true},
		{name: "Exists matches any value", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("app", metav1.LabelSelectorOpExists)}}, labels: labels.Set{"app": ""}, want: true},
		{name: "Exists rejects a missing key", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("app", metav1.LabelSelectorOpExists)}}, labels: labels.Set{"tier": "fe"}, want: false},
		{name: "DoesNotExist matches a missing key", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("debug", metav1.LabelSelectorOpDoesNotExist)}}, labels: labels.Set{"app": "web"}, want: true},
		{name: "DoesNotExist rejects a present key", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("debug", metav1.LabelSelectorOpDoesNotExist)}}, labels: labels.Set{"debug": "true"}, want: false},
		{
			name: "matchLabels and matchExpressions all hold",
			selector: metav1.LabelSelector{
				MatchLabels:      map[string]string{"app": "web"},
				MatchExpressions: []metav1.LabelSelectorRequirement{expr("tier", metav1.LabelSelectorOpIn, "fe"), expr("debug", metav1.LabelSelectorOpDoesNotExist)},
			},
			labels: labels.Set{"app": "web", "tier": "fe"},
			want:   true,
		},
		{
			name: "matchLabels hold but an expression fails",
			selector: metav1.LabelSelector{
				MatchLabels:      map[string]string{"app": "web"},
				MatchExpressions: []metav1.LabelSelectorRequirement{expr("tier", metav1.LabelSelectorOpIn, "fe")},
			},
			labels: labels.Set{"app": "web", "tier": "be"},
			want:   false,
		},
		{
			name: "expressions hold but matchLabels fail",
			selector: metav1.LabelSelector{
				MatchLabels:      map[string]string{"app": "web"},
				MatchExpressions: []metav1.LabelSelectorRequirement{expr("tier", metav1.LabelSelectorOpExists)},
			},
			labels: labels.Set{"app": "db", "tier": "be"},
			want:   false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compiled, err := Compile(policy(tt.selector, nil, false))
			if err != nil {
				t.Fatalf("Compile() error = %v", err)
			}
			if m, _ := compiled.Selections[0].matchPod(&Pod{Labels: tt.labels}); (m == matches) != tt.want {
				t.Errorf("selection %+v matches %v = %v, want %t", compiled.Selections[0], tt.labels, m, tt.want)
			}
			if got := covers([]*Compiled{compiled}, tt.labels, config.CoverageAny); got != tt.want {
				t.Errorf("covers(any) = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestCompileRejectsInvalidSelectors(t *testing.T) {
	tests := []struct {
		name     string
		selector metav1.LabelSelector
	}{
		{name: "unknown operator", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("app", "Matches", "web")}}},
		{name: "In without values", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("app", metav1.LabelSelectorOpIn)}}},
		{name: "Exists with values", selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("app", metav1.LabelSelectorOpExists, "web")}}},
		{name: "invalid label key", selector: metav1.LabelSelector{MatchLabels: map[string]string{"not a key": "web"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Compile(policy(tt.selector, nil, false)); err == nil {
				t.Errorf("Compile() succeeded, want an error")
			}
		})
	}
}

func TestCovers(t *testing.T) {
	web := metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	db := metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	all := metav1.LabelSelector{}
	webPod := labels.Set{"app": "web"}

	tests := []struct {
		name     string
		policies []*networkingv1.NetworkPolicy
		// want is the ruletest.Answer for coverage any, ingress, egress, both.
		want [4]bool
	}{
		{name: "no policies", want: [4]bool{false, false, false, false}},
		{name: "a policy for other pods", policies: []*networkingv1.NetworkPolicy{policy(db, bothTypes, false)}, want: [4]bool{false, false, false, false}},
		{name: "default-deny {} both", policies: []*networkingv1.NetworkPolicy{policy(all, bothTypes, false)}, want: [4]bool{true, true, true, true}},
		{name: "defaulted Ingress", policies: []*networkingv1.NetworkPolicy{policy(web, nil, false)}, want: [4]bool{true, true, false, false}},
		{name: "defaulted Ingress+Egress from egress rules", policies: []*networkingv1.NetworkPolicy{policy(web, nil, true)}, want: [4]bool{true, true, true, true}},
		{name: "Egress only", policies: []*networkingv1.NetworkPolicy{policy(web, egressOnly, false)}, want: [4]bool{true, false, true, false}},
		{
			name:     "union of an Ingress and an Egress policy",
			policies: []*networkingv1.NetworkPolicy{policy(web, ingressOnly, false), policy(all, egressOnly, false)},
			want:     [4]bool{true, true, true, true},
		},
		{
			name:     "only the policies that select the pod count",
			policies: []*networkingv1.NetworkPolicy{policy(web, ingressOnly, false), policy(db, egressOnly, false)},
			want:     [4]bool{true, true, false, false},
		},
		{
			name:     "many non-selecting policies before a selecting one",
			policies: []*networkingv1.NetworkPolicy{policy(db, bothTypes, false), policy(db, nil, true), policy(web, egressOnly, false)},
			want:     [4]bool{true, false, true, false},
		},
	}
	coverages := [4]config.Coverage{config.CoverageAny, config.CoverageIngress, config.CoverageEgress, config.CoverageBoth}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var compiled []*Compiled
			for _, np := range tt.policies {
				c, err := Compile(np)
				if err != nil {
					t.Fatalf("Compile() error = %v", err)
				}
				compiled = append(compiled, c)
			}
			for i, coverage := range coverages {
				if got := covers(compiled, webPod, coverage); got != tt.want[i] {
					t.Errorf("covers(%s) = %t, want %t", coverage, got, tt.want[i])
				}
				if got := isolate(compiled, webPod).Satisfies(coverage); got != tt.want[i] {
					t.Errorf("isolate().Satisfies(%s) = %t, want %t", coverage, got, tt.want[i])
				}
			}
		})
	}
}

func TestSatisfiesDefaultsToAny(t *testing.T) {
	if !(Isolation{Egress: true}).Satisfies("") {
		t.Errorf("an unset coverage must mean any")
	}
	if (Isolation{}).Satisfies("") {
		t.Errorf("no isolation must not satisfy an unset coverage")
	}
}
