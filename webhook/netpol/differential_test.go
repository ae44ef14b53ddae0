package netpol

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

// The reference below decides coverage from the API documentation alone,
// written out by hand: it shares no code with the rule (no labels.Selector,
// no Compile, no Isolation).

// referenceSelects reports whether a pod selector selects a pod with podLabels.
func referenceSelects(sel metav1.LabelSelector, podLabels map[string]string) bool {
	for key, want := range sel.MatchLabels {
		got, present := podLabels[key]
		if !present || got != want {
			return false
		}
	}
	for _, e := range sel.MatchExpressions {
		value, present := podLabels[e.Key]
		listed := false
		for _, v := range e.Values {
			if v == value {
				listed = true
			}
		}
		switch e.Operator {
		case "In":
			if !present || !listed {
				return false
			}
		case "NotIn":
			if present && listed {
				return false
			}
		case "Exists":
			if !present {
				return false
			}
		case "DoesNotExist":
			if present {
				return false
			}
		default:
			panic("the generator made operator " + e.Operator)
		}
	}
	return true
}

// referenceDirections is what a policy isolates once the API server has
// defaulted it: no policyTypes means Ingress, and Egress too if it has
// egress rules.
func referenceDirections(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(np.Spec.PolicyTypes) == 0 {
		return true, len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		if t == "Ingress" {
			ingress = true
		}
		if t == "Egress" {
			egress = true
		}
	}
	return ingress, egress
}

func referenceCovered(policies []*networkingv1.NetworkPolicy, namespace string, podLabels map[string]string, coverage string) bool {
	ingress, egress := false, false
	for _, np := range policies {
		if np.Namespace != namespace || !referenceSelects(np.Spec.PodSelector, podLabels) {
			continue
		}
		i, e := referenceDirections(np)
		ingress = ingress || i
		egress = egress || e
	}
	return referenceSatisfies(ingress, egress, coverage)
}

// generator makes random pods and policies over a small label alphabet, so
// that selectors often match and often do not.
type generator struct {
	rnd        *rand.Rand
	namespaces []string
	keys       []string
	values     []string
}

// newGenerator draws over three namespaces, four label keys and three values.
func newGenerator(seed int64) *generator {
	return &generator{
		rnd:        rand.New(rand.NewSource(seed)),
		namespaces: []string{"shop", "blog", "ops"},
		keys:       []string{"app", "tier", "team", "debug"},
		values:     []string{"a", "b", "c"},
	}
}

// referenceSatisfies is what coverage asks of the isolated directions.
func referenceSatisfies(ingress, egress bool, coverage string) bool {
	switch coverage {
	case "any":
		return ingress || egress
	case "ingress":
		return ingress
	case "egress":
		return egress
	case "both":
		return ingress && egress
	}
	panic("unknown coverage " + coverage)
}

func (g *generator) pick(from []string) string { return from[g.rnd.Intn(len(from))] }

func (g *generator) podLabels() map[string]string {
	out := map[string]string{}
	for _, k := range g.keys {
		if g.rnd.Intn(2) == 0 {
			out[k] = g.pick(g.values)
		}
	}
	return out
}

func (g *generator) values1to3() []string {
	n := 1 + g.rnd.Intn(3)
	out := make([]string, n)
	for i := range out {
		out[i] = g.pick(g.values)
	}
	return out
}

func (g *generator) policy(i int) *networkingv1.NetworkPolicy {
	np := netpolObject(g.pick(g.namespaces), fmt.Sprintf("np-%d", i), metav1.LabelSelector{})
	// About one policy in six is {}.
	if g.rnd.Intn(6) != 0 {
		for range g.rnd.Intn(3) {
			if np.Spec.PodSelector.MatchLabels == nil {
				np.Spec.PodSelector.MatchLabels = map[string]string{}
			}
			np.Spec.PodSelector.MatchLabels[g.pick(g.keys)] = g.pick(g.values)
		}
		for range g.rnd.Intn(3) {
			e := metav1.LabelSelectorRequirement{Key: g.pick(g.keys)}
			switch g.rnd.Intn(4) {
			case 0:
				e.Operator, e.Values = metav1.LabelSelectorOpIn, g.values1to3()
			case 1:
				e.Operator, e.Values = metav1.LabelSelectorOpNotIn, g.values1to3()
			case 2:
				e.Operator = metav1.LabelSelectorOpExists
			case 3:
				e.Operator = metav1.LabelSelectorOpDoesNotExist
			}
			np.Spec.PodSelector.MatchExpressions = append(np.Spec.PodSelector.MatchExpressions, e)
		}
	}
	typeChoices := [][]networkingv1.PolicyType{nil, {}, ingressOnly, egressOnly, bothTypes, {networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress}}
	np.Spec.PolicyTypes = typeChoices[g.rnd.Intn(len(typeChoices))]
	for range g.rnd.Intn(3) {
		np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{})
	}
	return np
}

// TestDifferential compares eksguard's verdicts with the reference on
// thousands of random pods and policies: through the index (the cached
// path) and through the pod handler, whose index is empty in every other
// world so that its ruletest.Answer comes from the live read.
func TestDifferential(t *testing.T) {
	g := newGenerator(20261127)
	handlers := policiesByCoverage(t)

	const worlds, podsPerWorld = 200, 25
	verdicts := map[bool]int{}
	for world := range worlds {
		var policies []*networkingv1.NetworkPolicy
		live := &liveReader{}
		for i := range g.rnd.Intn(12) {
			np := g.policy(i)
			policies = append(policies, np)
			live.policies = append(live.policies, *np)
		}
		indexed := policies
		if world%2 == 1 {
			indexed = nil
		}
		for p := range podsPerWorld {
			namespace, podLabels := g.pick(g.namespaces), g.podLabels()
			for _, coverage := range config.Coverages {
				want := referenceCovered(policies, namespace, podLabels, string(coverage))
				verdicts[want]++
				checker := newTestChecker(handlers[coverage], indexed, live)

				if world%2 == 0 {
					if got, _ := lookupIndex(checker.Index, namespace, podLabels, coverage); got != want {
						t.Fatalf("world %d pod %d %v in %s, coverage %s: index says covered=%t, reference %t; policies:\n%s",
							world, p, podLabels, namespace, coverage, got, want, describe(policies))
					}
				}
				pod := mustJSON(t, &corev1.Pod{
					TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
					ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: namespace, Labels: podLabels},
				})
				resp := NewPodHandler(checker).Handle(context.Background(),
					admissionRequest(admissionv1.Create, podKind, namespace, "p", pod, nil))
				if resp.Allowed != want {
					t.Fatalf("world %d pod %d %v in %s, coverage %s: handler allowed=%t (%s), reference covered=%t; policies:\n%s",
						world, p, podLabels, namespace, coverage, resp.Allowed, ruletest.AnswerOf(resp), want, describe(policies))
				}
			}
		}
	}
	// The comparison means something only if both verdicts are common.
	if verdicts[true] < 2000 || verdicts[false] < 2000 {
		t.Errorf("verdicts are lopsided: %d covered, %d uncovered", verdicts[true], verdicts[false])
	}
	t.Logf("%d covered, %d uncovered verdicts agree", verdicts[true], verdicts[false])
}

// policiesByCoverage compiles the defaults under each coverage setting.
func policiesByCoverage(t *testing.T) map[config.Coverage]*config.Policy {
	out := map[config.Coverage]*config.Policy{}
	for _, c := range config.Coverages {
		out[c] = ruletest.CompilePolicy(t, func(cfg *config.Config) { cfg.Rules.NetworkPolicy.Coverage = c })
	}
	return out
}

func describe(policies []*networkingv1.NetworkPolicy) string {
	var out string
	for _, np := range policies {
		out += fmt.Sprintf("  %s/%s selector=%v types=%v egressRules=%d\n",
			np.Namespace, np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), np.Spec.PolicyTypes, len(np.Spec.Egress))
	}
	return out
}
