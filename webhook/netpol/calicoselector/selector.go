package calicoselector

import (
	"slices"
	"strings"
)

// Selector is a parsed Calico selector. The zero Selector is all().
type Selector struct {
	root   *node
	str    string
	keys   []string
	global bool
}

// Labels is what a selector reads: Get reports a label's value and whether it is present.
type Labels interface {
	Get(key string) (value string, present bool)
}

// Map adapts a map.
type Map map[string]string

// Get implements Labels.
func (m Map) Get(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// Truth is a three-valued answer.
type Truth int

const (
	False Truth = iota
	True
	Unknown
)

func (t Truth) String() string {
	switch t {
	case False:
		return "False"
	case True:
		return "True"
	case Unknown:
		return "Unknown"
	}
	return "Truth(?)"
}

type opKind uint8

const (
	opAll opKind = iota
	opGlobal
	opHas
	opEq
	opNe
	opContains
	opStartsWith
	opEndsWith
	opIn
	opNotIn
	opNot
	opAnd
	opOr
)

// node is one AST node; one struct for every kind keeps evaluation a switch
// rather than interface calls.
type node struct {
	op    opKind
	key   string   // label key of has() and the value tests
	value string   // operand of ==, !=, contains, starts with, ends with
	set   []string // sorted, unique: operand of in / not in
	kids  []*node  // one for opNot; two or more for opAnd / opOr
}

func newSelector(root *node) *Selector {
	s := &Selector{root: root}
	var b strings.Builder
	root.write(&b)
	s.str = b.String()
	root.walk(func(n *node) {
		switch n.op {
		case opGlobal:
			s.global = true
		case opAll, opNot, opAnd, opOr:
		default:
			s.keys = append(s.keys, n.key)
		}
	})
	slices.Sort(s.keys)
	s.keys = slices.Compact(s.keys)
	return s
}

func (n *node) walk(f func(*node)) {
	f(n)
	for _, k := range n.kids {
		k.walk(f)
	}
}

// Matches evaluates s on labels with Calico's semantics (the Evaluate methods
// in parser/ast.go). Nil labels are no labels.
func (s *Selector) Matches(labels Labels) bool {
	if s.root == nil {
		return true
	}
	if labels == nil {
		labels = Map(nil)
	}
	return s.root.match(labels)
}

func (n *node) match(l Labels) bool {
	switch n.op {
	case opAll, opGlobal:
		return true
	case opHas:
		_, ok := l.Get(n.key)
		return ok
	case opNot:
		return !n.kids[0].match(l)
	case opAnd:
		for _, k := range n.kids {
			if !k.match(l) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if k.match(l) {
				return true
			}
		}
		return false
	}
	v, ok := l.Get(n.key)
	return n.test(v, ok)
}

// test applies a value operation to a label's value; present is false when the
// label is absent, which only != and not in match (LabelNeValueNode, LabelNotInSetNode).
func (n *node) test(v string, present bool) bool {
	if !present {
		return n.op == opNe || n.op == opNotIn
	}
	switch n.op {
	case opEq:
		return v == n.value
	case opNe:
		return v != n.value
	case opContains:
		return strings.Contains(v, n.value)
	case opStartsWith:
		return strings.HasPrefix(v, n.value)
	case opEndsWith:
		return strings.HasSuffix(v, n.value)
	case opIn:
		_, found := slices.BinarySearch(n.set, v)
		return found
	case opNotIn:
		_, found := slices.BinarySearch(n.set, v)
		return !found
	}
	panic("calicoselector: test on a non-value node")
}

func noneUnknown(string) bool { return false }

// Evaluate is Matches when some labels are only partly known: for a key in
// valueUnknown the label is present but its value is not known yet (a
// controller-added hash); every other key reads from labels. It answers
// Unknown only when the result depends on such a value, and then names the
// first such key it depended on. The logic is Kleene's: False && x = False,
// True || x = True, !Unknown = Unknown; has(k) of a value-unknown key is True,
// every value test of one (!= and not in included) is Unknown, except the few
// no value can change (k in {}, k not in {}, k contains "", k starts with "",
// k ends with ""). A nil valueUnknown knows every value.
func (s *Selector) Evaluate(labels Labels, valueUnknown func(key string) bool) (Truth, string) {
	if s.root == nil {
		return True, ""
	}
	if labels == nil {
		labels = Map(nil)
	}
	if valueUnknown == nil {
		valueUnknown = noneUnknown
	}
	return s.root.eval(labels, valueUnknown)
}

func (n *node) eval(l Labels, unknown func(string) bool) (Truth, string) {
	switch n.op {
	case opAll, opGlobal:
		return True, ""
	case opHas:
		if unknown(n.key) {
			return True, ""
		}
		_, ok := l.Get(n.key)
		return truth(ok), ""
	case opNot:
		t, k := n.kids[0].eval(l, unknown)
		switch t {
		case True:
			return False, ""
		case False:
			return True, ""
		}
		return Unknown, k
	case opAnd, opOr:
		// decisive is the operand value that settles the whole: False for &&, True for ||.
		decisive := truth(n.op == opOr)
		res, key := truth(n.op == opAnd), ""
		for _, kid := range n.kids {
			t, k := kid.eval(l, unknown)
			if t == decisive {
				return t, ""
			}
			if t == Unknown && res != Unknown {
				res, key = Unknown, k
			}
		}
		return res, key
	}
	if unknown(n.key) {
		if n.valueFree() {
			// Present is all it takes: any value gives the same answer.
			return truth(n.test("", true)), ""
		}
		return Unknown, n.key
	}
	v, ok := l.Get(n.key)
	return truth(n.test(v, ok)), ""
}

// valueFree reports whether a value test gives the same answer for every
// value of a present label: in {} (never), not in {} (always), and contains,
// starts with or ends with "" (always).
func (n *node) valueFree() bool {
	switch n.op {
	case opIn, opNotIn:
		return len(n.set) == 0
	case opContains, opStartsWith, opEndsWith:
		return n.value == ""
	}
	return false
}

func truth(b bool) Truth {
	if b {
		return True
	}
	return False
}

// UsesGlobal reports whether s contains global() anywhere (Calico rejects it in
// a policy's top-level selector, namespaceSelector and serviceAccountSelector).
func (s *Selector) UsesGlobal() bool { return s.global }

// Keys lists the label keys s reads, sorted, without duplicates. The slice is the caller's.
func (s *Selector) Keys() []string { return slices.Clone(s.keys) }

// String is a canonical form that Parse reads back to an equal selector. It is
// Calico's Selector.String (collectFragments): && and || groups always
// parenthesised, sets sorted and unique, strings in "..." unless they
// contain '"'.
func (s *Selector) String() string {
	if s.root == nil {
		return "all()"
	}
	return s.str
}

func (n *node) write(b *strings.Builder) {
	switch n.op {
	case opAll:
		b.WriteString("all()")
	case opGlobal:
		b.WriteString("global()")
	case opHas:
		b.WriteString("has(")
		b.WriteString(n.key)
		b.WriteString(")")
	case opEq, opNe, opContains, opStartsWith, opEndsWith:
		b.WriteString(n.key)
		b.WriteString(opWords[n.op])
		writeQuoted(b, n.value)
	case opIn, opNotIn:
		b.WriteString(n.key)
		b.WriteString(opWords[n.op])
		b.WriteString("{")
		for i, v := range n.set {
			if i > 0 {
				b.WriteString(", ")
			}
			writeQuoted(b, v)
		}
		b.WriteString("}")
	case opNot:
		b.WriteString("!")
		n.kids[0].write(b)
	case opAnd, opOr:
		b.WriteString("(")
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(opWords[n.op])
			}
			k.write(b)
		}
		b.WriteString(")")
	}
}

var opWords = [...]string{
	opEq: " == ", opNe: " != ", opContains: " contains ", opStartsWith: " starts with ",
	opEndsWith: " ends with ", opIn: " in ", opNotIn: " not in ", opAnd: " && ", opOr: " || ",
}

// writeQuoted quotes with '"' unless s contains one (appendLabelOpAndQuotedString);
// a literal cannot hold both quotes, so this always reads back.
func writeQuoted(b *strings.Builder, s string) {
	q := `"`
	if strings.Contains(s, `"`) {
		q = `'`
	}
	b.WriteString(q)
	b.WriteString(s)
	b.WriteString(q)
}

// RequiredEqual is a label equality the selector cannot be true without:
// the whole selector is `key == 'value'` (or `key in {'value'}`), or an &&
// with such an operand. A label set whose key is absent or holds another
// value makes the selector False (Calico's EqualsNode, InNode and AndNode
// in parser/ast.go), unless the key's value is unknown. ok is false when
// there is no such operand at the top.
func (s *Selector) RequiredEqual() (key, value string, ok bool) {
	if s == nil || s.root == nil {
		return "", "", false
	}
	operands := []*node{s.root}
	if s.root.op == opAnd {
		operands = s.root.kids
	}
	for _, n := range operands {
		switch {
		case n.op == opEq:
			return n.key, n.value, true
		case n.op == opIn && len(n.set) == 1:
			return n.key, n.set[0], true
		}
	}
	return "", "", false
}
