package netpol

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// labelMatcher is a pod label selector compiled for the index's scan. It
// answers exactly as labels.Requirement.Matches (k8s.io/apimachinery
// pkg/labels/selector.go) for the operators of label selectors, without a
// map lookup per requirement: hashing the key twice (Has, then Get), and
// comparing the operator as a string, were most of the per-policy cost of
// a lookup. The pod's labels are a short list, copied once per evaluation;
// a key is found by comparing lengths first, so most comparisons never
// read the key's bytes.
type labelMatcher []labelRequirement

type labelRequirement struct {
	key string
	op  requirementOp
	// value is the only value of an Equals or In (or NotEquals, NotIn)
	// requirement with one; values holds them when there are more.
	value  string
	values []string
}

// requirementOp is a selection.Operator the matcher answers.
type requirementOp uint8

const (
	opIn requirementOp = iota
	opNotIn
	opExists
	opDoesNotExist
)

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
		lr := labelRequirement{key: r.Key()}
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
			lr.op = opIn
		case selection.NotEquals, selection.NotIn:
			lr.op = opNotIn
		case selection.Exists:
			lr.op = opExists
		case selection.DoesNotExist:
			lr.op = opDoesNotExist
		default:
			return nil
		}
		if values := r.ValuesUnsorted(); len(values) == 1 {
			lr.value = values[0]
		} else if len(values) > 1 {
			lr.values = values
		}
		m = append(m, lr)
	}
	return m
}

// sharedNamespaceMatchers holds the compiled namespace selectors.
var sharedNamespaceMatchers internTable[labelMatcher]

// internNamespaces compiles sel, sharing the result with every selection
// whose namespace selector compiles to the same requirements; nil as
// newLabelMatcher.
func internNamespaces(sel labels.Selector) *labelMatcher {
	m := newLabelMatcher(sel)
	if m == nil {
		return nil
	}
	v, _ := sharedNamespaceMatchers.intern(m.key(), func() (*labelMatcher, error) { return &m, nil })
	return v
}

// key identifies m's requirements, in order (label keys and values cannot
// hold a NUL).
func (m labelMatcher) key() string {
	var b strings.Builder
	for i := range m {
		r := &m[i]
		b.WriteString(r.key)
		b.WriteByte(0)
		b.WriteByte('0' + byte(r.op))
		b.WriteString(r.value)
		for _, v := range r.values {
			b.WriteByte(0)
			b.WriteString(v)
		}
		b.WriteByte(1)
	}
	return b.String()
}

// has reports whether v is one of r's values.
func (r *labelRequirement) has(v string) bool {
	if r.values == nil {
		return v == r.value
	}
	return slices.Contains(r.values, v)
}

// labelList is a pod's labels as a list, for the index's scan.
type labelList []labelPair

type labelPair struct{ key, value string }

// listedLabels holds a label set as a list: in small (most sets) or
// large. It keeps no slice into itself, so an evaluation holding it stays
// on its caller's stack.
type listedLabels struct {
	small  [8]labelPair
	nsmall int
	large  labelList
}

// fill lists set (small's entries past nsmall are never read, so they are
// left as they are).
func (l *listedLabels) fill(set labels.Set) {
	l.nsmall, l.large = 0, nil
	if len(set) > len(l.small) {
		l.large = make(labelList, 0, len(set))
		for k, v := range set {
			l.large = append(l.large, labelPair{k, v})
		}
		return
	}
	for k, v := range set {
		l.small[l.nsmall] = labelPair{k, v}
		l.nsmall++
	}
}

// list is the listed labels.
func (l *listedLabels) list() labelList {
	if l.large != nil {
		return l.large
	}
	return l.small[:l.nsmall]
}

// value is the value of key among pod labels.
func (pod labelList) value(key string) (string, bool) {
	for j := range pod {
		if len(pod[j].key) == len(key) && pod[j].key == key {
			return pod[j].value, true
		}
	}
	return "", false
}

// matches reports whether pod labels satisfy every requirement.
func (m labelMatcher) matches(pod labelList) bool {
	for i := range m {
		r := &m[i]
		v, present := pod.value(r.key)
		switch r.op {
		case opIn:
			if !present || !r.has(v) {
				return false
			}
		case opNotIn:
			if present && r.has(v) {
				return false
			}
		case opExists:
			if !present {
				return false
			}
		case opDoesNotExist:
			if present {
				return false
			}
		}
	}
	return true
}

// matchesLabels is matches over a label view, as
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
	case opExists:
		return ls.Has(r.key)
	case opDoesNotExist:
		return !ls.Has(r.key)
	case opNotIn:
		return !ls.Has(r.key) || !r.has(ls.Get(r.key))
	default: // opIn
		return ls.Has(r.key) && r.has(ls.Get(r.key))
	}
}
