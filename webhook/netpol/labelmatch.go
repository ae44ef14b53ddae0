package netpol

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// labelMatcher is a pod label selector compiled for the index's scan: the
// requirements sorted by key, as labels.Selector keeps them, matched by a
// merge walk over the pod's labels sorted once per evaluation. It answers
// exactly as labels.Requirement.Matches (k8s.io/apimachinery
// pkg/labels/selector.go) for the operators of label selectors, without a
// map lookup per requirement: hashing the key twice (Has, then Get) was
// most of the per-policy cost of a lookup.
type labelMatcher []labelRequirement

type labelRequirement struct {
	key    string
	op     selection.Operator
	values []string
}

// newLabelMatcher compiles sel; nil when sel is not a plain list of
// requirements or uses an operator the matcher leaves to sel (Gt, Lt).
func newLabelMatcher(sel labels.Selector) labelMatcher {
	if sel == nil {
		return nil
	}
	reqs, selectable := sel.Requirements()
	if !selectable {
		return nil
	}
	m := make(labelMatcher, 0, len(reqs))
	for i := range reqs {
		r := &reqs[i]
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In, selection.NotEquals, selection.NotIn,
			selection.Exists, selection.DoesNotExist:
		default:
			return nil
		}
		m = append(m, labelRequirement{key: r.Key(), op: r.Operator(), values: r.ValuesUnsorted()})
	}
	if !slices.IsSortedFunc(m, func(a, b labelRequirement) int { return strings.Compare(a.key, b.key) }) {
		return nil
	}
	if len(m) == 0 {
		// Everything: an empty non-nil matcher.
		return labelMatcher{}
	}
	return m
}

// sortedLabels is a pod's labels sorted by key.
type sortedLabels []labelPair

type labelPair struct{ key, value string }

// sortLabels fills into with set sorted by key (into's capacity reused).
func sortLabels(set labels.Set, into sortedLabels) sortedLabels {
	into = into[:0]
	for k, v := range set {
		into = append(into, labelPair{k, v})
	}
	slices.SortFunc(into, func(a, b labelPair) int { return strings.Compare(a.key, b.key) })
	return into
}

// matches reports whether pod labels satisfy every requirement.
func (m labelMatcher) matches(pod sortedLabels) bool {
	j := 0
	for i := range m {
		r := &m[i]
		for j < len(pod) && pod[j].key < r.key {
			j++
		}
		present := j < len(pod) && pod[j].key == r.key
		switch r.op {
		case selection.Exists:
			if !present {
				return false
			}
		case selection.DoesNotExist:
			if present {
				return false
			}
		case selection.NotEquals, selection.NotIn:
			if present && slices.Contains(r.values, pod[j].value) {
				return false
			}
		default: // Equals, DoubleEquals, In
			if !present || !slices.Contains(r.values, pod[j].value) {
				return false
			}
		}
	}
	return true
}

// matchesLabels is matches over an unsorted label view, as
// labels.Requirement.Matches answers it (outside the index's scan).
func (m labelMatcher) matchesLabels(ls labels.Labels) bool {
	for i := range m {
		if !m[i].matchesLabels(ls) {
			return false
		}
	}
	return true
}

func (r *labelRequirement) matchesLabels(ls labels.Labels) bool {
	switch r.op {
	case selection.Exists:
		return ls.Has(r.key)
	case selection.DoesNotExist:
		return !ls.Has(r.key)
	case selection.NotEquals, selection.NotIn:
		return !ls.Has(r.key) || !slices.Contains(r.values, ls.Get(r.key))
	default: // Equals, DoubleEquals, In
		return ls.Has(r.key) && slices.Contains(r.values, ls.Get(r.key))
	}
}
