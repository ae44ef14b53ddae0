package calicoselector

import (
	"errors"
	"slices"
	"testing"
)

// FuzzParse, seeded with every table's selectors: Parse never panics; an
// error is a *SyntaxError inside the input; a parsed selector's String reads
// back to the same String, Keys and UsesGlobal, and matches the same label
// sets; surrounding spaces and tabs change nothing; Evaluate agrees with
// Matches, and a definite answer with a value-unknown key holds for every
// value that key could take.
func FuzzParse(f *testing.F) {
	for _, sel := range validSelectors() {
		f.Add(sel)
	}
	for _, c := range allBadCases() {
		f.Add(c.sel)
	}
	for _, c := range upstreamTokenCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		padded, perr := Parse(" \t" + expr + "\t ")
		if (err == nil) != (perr == nil) {
			t.Fatalf("Parse(%q) err %v, but padded with spaces and tabs err %v", expr, err, perr)
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(expr) || se.Msg == "" {
				t.Fatalf("Parse(%q): error %#v is not a *SyntaxError inside the input", expr, err)
			}
			return
		}
		str := s.String()
		if padded.String() != str {
			t.Fatalf("Parse(%q).String() = %q, padded %q", expr, str, padded.String())
		}
		again, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q, which does not parse: %v", expr, str, err)
		}
		if again.String() != str || !slices.Equal(again.Keys(), s.Keys()) || again.UsesGlobal() != s.UsesGlobal() {
			t.Fatalf("Parse(%q) = %q (keys %q, global %v) reads back as %q (keys %q, global %v)",
				expr, str, s.Keys(), s.UsesGlobal(), again.String(), again.Keys(), again.UsesGlobal())
		}
		values := literals(s)
		for _, l := range labelSets(s.Keys(), values) {
			m := s.Matches(l)
			if again.Matches(l) != m {
				t.Fatalf("%q matches %v: %v, but its canonical form %q: %v", expr, l, m, str, !m)
			}
			if got, key := s.Evaluate(l, nil); got != truth(m) || key != "" {
				t.Fatalf("%q on %v: Matches %v but Evaluate %v %q", expr, l, m, got, key)
			}
			for _, k := range s.Keys()[:min(2, len(s.Keys()))] {
				checkKleene(t, s, l, k, values)
			}
		}
	})
}

// checkKleene: with k's value unknown, a True or False answer must be
// Matches' answer for every value k could have; Unknown must name k.
func checkKleene(t *testing.T, s *Selector, l Map, k string, values []string) {
	got, key := s.Evaluate(l, func(key string) bool { return key == k })
	if got == Unknown {
		if key != k {
			t.Fatalf("%q on %v with %q unknown: Unknown names %q", s.String(), l, k, key)
		}
		return
	}
	if key != "" {
		t.Fatalf("%q on %v with %q unknown: %v names %q", s.String(), l, k, got, key)
	}
	for _, v := range values {
		filled := Map{k: v}
		for lk, lv := range l {
			if lk != k {
				filled[lk] = lv
			}
		}
		if truth(s.Matches(filled)) != got {
			t.Fatalf("%q with %q unknown on %v: Evaluate %v, but with %s=%q Matches %v", s.String(), k, l, got, k, v, got != True)
		}
	}
}

// literals are the strings s compares with, and near misses of them, so label
// sets built from them reach every branch.
func literals(s *Selector) []string {
	out := []string{"", "zz"}
	if s.root == nil {
		return out
	}
	s.root.walk(func(n *node) {
		vals := n.set
		if n.value != "" {
			vals = []string{n.value}
		}
		for _, v := range vals {
			if len(out) < 12 {
				out = append(out, v, v+"x", "x"+v)
			}
		}
	})
	return out
}

// labelSets are a few fixed label sets plus some built from keys and values.
func labelSets(keys, values []string) []Map {
	sets := []Map{{}, {"a": "b"}, {"a": "a", "b": "b", "c": "d"}}
	keys = keys[:min(4, len(keys))]
	for i := range 8 {
		m := Map{}
		for j, k := range keys {
			if idx := (i*(j+1) + j) % (len(values) + 1); idx < len(values) {
				m[k] = values[idx]
			}
		}
		sets = append(sets, m)
	}
	return sets
}
