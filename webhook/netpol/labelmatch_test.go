package netpol

import (
	"math/rand/v2"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestLabelMatcherAgreesWithSelector holds the compiled matcher to
// labels.Requirement.Matches (k8s.io/apimachinery pkg/labels/selector.go),
// the reference every counted kind's pod selector is parsed into, over
// generated selectors and pods drawn from a small vocabulary so that keys
// and values collide often.
func TestLabelMatcherAgreesWithSelector(t *testing.T) {
	keys := []string{"app", "team", "tier", "pod-template-hash", "a.b/c", "z"}
	values := []string{"web", "api", "fe", "be", ""}
	ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn,
		metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(from []string, max int) []string {
		var out []string
		for range 1 + rng.IntN(max) {
			out = append(out, from[rng.IntN(len(from))])
		}
		return out
	}
	var agreedMatch, agreedNoMatch int
	for i := range 20000 {
		ls := &metav1.LabelSelector{}
		if rng.IntN(2) == 0 {
			ls.MatchLabels = map[string]string{}
			for _, k := range pick(keys, 3) {
				ls.MatchLabels[k] = values[rng.IntN(len(values)-1)]
			}
		}
		for range rng.IntN(3) {
			r := metav1.LabelSelectorRequirement{Key: keys[rng.IntN(len(keys))], Operator: ops[rng.IntN(len(ops))]}
			if r.Operator == metav1.LabelSelectorOpIn || r.Operator == metav1.LabelSelectorOpNotIn {
				r.Values = pick(values[:len(values)-1], 3)
			}
			ls.MatchExpressions = append(ls.MatchExpressions, r)
		}
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		m := newLabelMatcher(sel)
		if m == nil {
			t.Fatalf("case %d: selector %s not compiled", i, sel)
		}
		pod := labels.Set{}
		for _, k := range pick(keys, 4) {
			pod[k] = values[rng.IntN(len(values))]
		}
		want := sel.Matches(pod)
		if got := m.matches(listOf(pod)); got != want {
			t.Fatalf("case %d: selector %s, pod %v: matcher says %t, labels.Selector %t", i, sel, pod, got, want)
		}
		if got := m.matchesLabels(pod); got != want {
			t.Fatalf("case %d: selector %s, pod %v: matcher over the label map says %t, labels.Selector %t", i, sel, pod, got, want)
		}
		if want {
			agreedMatch++
		} else {
			agreedNoMatch++
		}
	}
	// Both answers must be exercised for the agreement to mean anything.
	if agreedMatch < 1000 || agreedNoMatch < 1000 {
		t.Errorf("generated cases matched %d times and missed %d times: too one-sided", agreedMatch, agreedNoMatch)
	}
}

// TestLabelMatcherLeavesOtherSelectors: what the matcher cannot answer
// exactly stays with labels.Selector.
func TestLabelMatcherLeavesOtherSelectors(t *testing.T) {
	gt, err := labels.Parse("replicas>2")
	if err != nil {
		t.Fatal(err)
	}
	for name, sel := range map[string]labels.Selector{"nil": nil, "Nothing": labels.Nothing(), "Gt": gt} {
		if m := newLabelMatcher(sel); m != nil {
			t.Errorf("%s: compiled to %v, want nil", name, m)
		}
	}
	if m := newLabelMatcher(labels.Everything()); m == nil || !m.matches(listOf(labels.Set{"a": "b"})) {
		t.Errorf("Everything: %v, want an empty matcher that matches", m)
	}
}

// listOf is set as the index's scan lists it.
func listOf(set labels.Set) labelList {
	var l listedLabels
	l.fill(set)
	return l.list()
}

// TestInternNamespaces: namespace selectors with the same requirements
// share one compiled matcher (the scan answers each once per lookup); any
// difference in key, operator or values gives another.
func TestInternNamespaces(t *testing.T) {
	parse := func(s string) labels.Selector {
		t.Helper()
		sel, err := labels.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return sel
	}
	a, again := internNamespaces(parse("team=payments,stage in (dev,prod)")), internNamespaces(parse("stage in (prod,dev),team==payments"))
	if a == nil || a != again {
		t.Fatalf("equal selectors: %p and %p, want one shared matcher", a, again)
	}
	for _, other := range []string{"team=orders,stage in (dev,prod)", "team!=payments,stage in (dev,prod)", "team=payments,stage in (dev)", "team=payments", "team,stage in (dev,prod)", ""} {
		if m := internNamespaces(parse(other)); m == nil || m == a {
			t.Errorf("%q: %p, want its own matcher (shared one %p)", other, m, a)
		}
	}
	if m := internNamespaces(labels.Nothing()); m != nil {
		t.Errorf("Nothing: %v, want nil (left to the selector)", m)
	}
}
