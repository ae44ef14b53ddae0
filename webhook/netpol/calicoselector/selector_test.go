package calicoselector

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func allMatchCases() []matchCase { return slices.Concat(upstreamMatchCases, ownMatchCases) }
func allBadCases() []badCase     { return slices.Concat(upstreamBadCases, ownBadCases) }
func allCanonCases() []canonCase { return slices.Concat(upstreamCanonCases, ownCanonCases) }

// validSelectors is every selector the tables expect Parse to accept.
func validSelectors() []string {
	var out []string
	for _, c := range allMatchCases() {
		out = append(out, c.sel)
	}
	for _, c := range allCanonCases() {
		out = append(out, c.in, c.out)
	}
	for _, c := range upstreamRestrictionCases {
		out = append(out, c.sel)
		if c.sel != "" {
			out = append(out, "all() && ("+c.sel+")")
		}
	}
	return append(out, upstreamTokenSelectors...)
}

func mustParse(t *testing.T, src, sel string) *Selector {
	t.Helper()
	s, err := Parse(sel)
	if err != nil {
		t.Fatalf("%s: Parse(%q): %v", src, sel, err)
	}
	return s
}

// TestMatches: Calico's (selector, labels, match) cases, before and after a
// String round trip, and Evaluate with every value known agrees.
func TestMatches(t *testing.T) {
	n := 0
	for _, c := range allMatchCases() {
		s := mustParse(t, c.src, c.sel)
		again := mustParse(t, c.src, s.String())
		for _, want := range []bool{true, false} {
			labelSets := c.match
			if !want {
				labelSets = c.noMatch
			}
			for _, l := range labelSets {
				n++
				if got := s.Matches(l); got != want {
					t.Errorf("%s: %q on %v: Matches = %v, want %v", c.src, c.sel, l, got, want)
				}
				if got := again.Matches(l); got != want {
					t.Errorf("%s: %q (canonical %q) on %v: Matches = %v, want %v", c.src, c.sel, s.String(), l, got, want)
				}
				if got, key := s.Evaluate(l, nil); got != truth(want) || key != "" {
					t.Errorf("%s: %q on %v: Evaluate = %v %q, want %v", c.src, c.sel, l, got, key, truth(want))
				}
			}
		}
	}
	if n < 150 {
		t.Errorf("only %d (selector, labels) checks ran", n)
	}
}

// TestRejects: selectors Calico rejects are errors saying what and where.
func TestRejects(t *testing.T) {
	for _, c := range allBadCases() {
		s, err := Parse(c.sel)
		if err == nil {
			t.Errorf("%s: Parse(%q) = %q, want an error", c.src, c.sel, s.String())
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: Parse(%q) error %T is not a *SyntaxError", c.src, c.sel, err)
			continue
		}
		if se.Offset < 0 || se.Offset > len(c.sel) {
			t.Errorf("%s: Parse(%q): offset %d outside the input", c.src, c.sel, se.Offset)
		}
		if c.offset >= 0 && se.Offset != c.offset {
			t.Errorf("%s: Parse(%q): offset %d, want %d (%v)", c.src, c.sel, se.Offset, c.offset, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "calico selector ") || !strings.HasSuffix(msg, fmt.Sprintf(" at offset %d", se.Offset)) {
			t.Errorf("%s: Parse(%q): error %q does not say where", c.src, c.sel, msg)
		}
		if c.msg != "" && !strings.Contains(msg, c.msg) {
			t.Errorf("%s: Parse(%q): error %q, want it to contain %q", c.src, c.sel, msg, c.msg)
		}
		if errors.Is(err, ErrTooDeep) {
			t.Errorf("%s: Parse(%q): a syntax error is not ErrTooDeep", c.src, c.sel)
		}
	}
}

// TestBriefExample is the error format the integrating code was promised.
func TestBriefExample(t *testing.T) {
	_, err := Parse("a ==")
	if err == nil || err.Error() != `calico selector "a ==": expected a string after "==", found end of selector at offset 4` {
		t.Errorf("Parse(%q) error = %v", "a ==", err)
	}
}

// TestCanonical: String is Calico's Selector.String, and a fixed point.
func TestCanonical(t *testing.T) {
	for _, c := range allCanonCases() {
		s := mustParse(t, c.src, c.in)
		if got := s.String(); got != c.out {
			t.Errorf("%s: Parse(%q).String() = %q, want %q", c.src, c.in, got, c.out)
		}
		if again := mustParse(t, c.src, c.out); !again.Equal(s) {
			t.Errorf("%s: %q and its canonical form %q differ", c.src, c.in, c.out)
		}
	}
}

// TestRoundTrip: Parse(s.String()).String() == s.String() for every valid case.
func TestRoundTrip(t *testing.T) {
	sels := validSelectors()
	for _, sel := range sels {
		s := mustParse(t, "round trip", sel)
		again := mustParse(t, "round trip of "+sel, s.String())
		if again.String() != s.String() {
			t.Errorf("Parse(%q).String() = %q, which reads back as %q", sel, s.String(), again.String())
		}
	}
	if len(sels) < 200 {
		t.Errorf("only %d selectors round-tripped", len(sels))
	}
}

// TestLabelRestrictions: each of label_restriction_test.go's restrictions is
// a necessary condition, so no label set breaking it may match; like the
// upstream test, "all() && (sel)" must behave the same.
func TestLabelRestrictions(t *testing.T) {
	values := []string{"", "v1", "v2", "v3", "value", "foo", "x"}
	var probes []Map
	for _, a := range append([]string{"<absent>"}, values...) {
		for _, b := range append([]string{"<absent>"}, values...) {
			m := Map{}
			if a != "<absent>" {
				m["a"] = a
			}
			if b != "<absent>" {
				m["b"] = b
			}
			probes = append(probes, m)
		}
	}
	for _, c := range upstreamRestrictionCases {
		src := lrTest + ":labelRestrictionsTests " + c.sel
		for _, sel := range []string{c.sel, "all() && (" + c.sel + ")"} {
			if c.sel == "" && sel != "" {
				continue // upstream skips the prefixed form of ""
			}
			s := mustParse(t, src, sel)
			matched := 0
			for _, l := range probes {
				if !s.Matches(l) {
					continue
				}
				matched++
				for key, r := range c.res {
					v, ok := l[key]
					if r.present && !ok || r.absent && ok || r.oneOf != nil && (!ok || !slices.Contains(r.oneOf, v)) {
						t.Errorf("%s: %q matches %v, breaking the restriction on %q", src, sel, l, key)
					}
				}
			}
			possible := true
			for _, r := range c.res {
				possible = possible && (!r.present || !r.absent) && (r.oneOf == nil || len(r.oneOf) > 0)
			}
			if possible && matched == 0 {
				t.Errorf("%s: %q matched none of the probes", src, sel)
			}
		}
	}
}

// tokNamesCalico are Calico's tokenizer.Kind names for this package's kinds.
var tokNamesCalico = [...]string{
	tEOF: "TokEOF", tLabel: "TokLabel", tString: "TokStringLiteral", tLBrace: "TokLBrace",
	tRBrace: "TokRBrace", tComma: "TokComma", tEq: "TokEq", tNe: "TokNe", tIn: "TokIn",
	tNotIn: "TokNotIn", tContains: "TokContains", tStartsWith: "TokStartsWith",
	tEndsWith: "TokEndsWith", tNot: "TokNot", tAll: "TokAll", tGlobal: "TokGlobal",
	tHas: "TokHas", tLParen: "TokLParen", tRParen: "TokRParen", tAnd: "TokAnd", tOr: "TokOr",
}

// TestTokenizerUpstream: tokenizer_test.go's tokenTests, token for token;
// its error cases must fail in the tokenizer, not just the parser.
func TestTokenizerUpstream(t *testing.T) {
	for _, c := range upstreamTokenCases {
		toks, err := tokenize(c.in)
		if err != nil {
			t.Errorf("%s: tokenize(%q): %v", tokTest, c.in, err)
			continue
		}
		var got []string
		for _, tk := range toks {
			got = append(got, fmt.Sprintf("%s(%s)", tokNamesCalico[tk.kind], tk.val))
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s: tokenize(%q) = %s, want %s", tokTest, c.in, g, c.want)
		}
	}
	for _, c := range upstreamBadCases {
		if c.src != tokTest+":tokenTests" {
			continue // only the rows whose expected tokens are nil
		}
		if _, err := tokenize(c.sel); err == nil {
			t.Errorf("%s: tokenize(%q) succeeded, want a tokenizer error", c.src, c.sel)
		}
	}
	for _, sel := range upstreamTokenSelectors {
		mustParse(t, tokTest, sel)
	}
}

// evalCase: Evaluate's three-valued answers. The base semantics are
// ast.go's Evaluate methods; the Kleene extension is the API's contract.
var evalCases = []struct {
	src     string
	sel     string
	labels  Map
	unknown []string
	want    Truth
	key     string
}{
	{"Kleene: has(k) of a value-unknown key", `has(h)`, nil, []string{"h"}, True, ""},
	{"Kleene: !has(k) of a value-unknown key", `!has(h)`, nil, []string{"h"}, False, ""},
	{"Kleene: ==", `h == "abc"`, nil, []string{"h"}, Unknown, "h"},
	{"Kleene: value-unknown wins over labels", `h == "abc"`, Map{"h": "abc"}, []string{"h"}, Unknown, "h"},
	{"Kleene: != (absent would be true; the label is present)", `h != "abc"`, nil, []string{"h"}, Unknown, "h"},
	{"Kleene: in", `h in {"a", "b"}`, nil, []string{"h"}, Unknown, "h"},
	{"Kleene: not in", `h not in {"a"}`, nil, []string{"h"}, Unknown, "h"},
	{"Kleene: contains", `h contains "a"`, nil, []string{"h"}, Unknown, "h"},
	{"Kleene: starts with", `h starts with "a"`, nil, []string{"h"}, Unknown, "h"},
	{"Kleene: ends with", `h ends with "a"`, nil, []string{"h"}, Unknown, "h"},
	{"Kleene: !Unknown = Unknown", `!h == "a"`, nil, []string{"h"}, Unknown, "h"},
	{"value-free: in {} is false for every value", `h in {}`, nil, []string{"h"}, False, ""},
	{"value-free: not in {} is true for a present label", `h not in {}`, nil, []string{"h"}, True, ""},
	{"value-free: contains \"\" is true for a present label", `h contains ""`, nil, []string{"h"}, True, ""},
	{"value-free: starts with \"\"", `!h starts with ""`, nil, []string{"h"}, False, ""},
	{"value-free: ends with \"\"", `h ends with ""`, nil, []string{"h"}, True, ""},
	{"Kleene: True && Unknown = Unknown", `app == "web" && h == "x"`, Map{"app": "web"}, []string{"h"}, Unknown, "h"},
	{"Kleene: False && Unknown = False", `app == "db" && h == "x"`, Map{"app": "web"}, []string{"h"}, False, ""},
	{"Kleene: Unknown && False = False", `h == "x" && app == "db"`, Map{"app": "web"}, []string{"h"}, False, ""},
	{"Kleene: True || Unknown = True", `h == "x" || app == "web"`, Map{"app": "web"}, []string{"h"}, True, ""},
	{"Kleene: False || Unknown = Unknown", `app == "db" || h == "x"`, Map{"app": "web"}, []string{"h"}, Unknown, "h"},
	{"first key depended on (||)", `h == "x" || g == "y"`, nil, []string{"g", "h"}, Unknown, "h"},
	{"first key depended on (||, reversed)", `g == "y" || h == "x"`, nil, []string{"g", "h"}, Unknown, "g"},
	{"first key depended on (&&)", `has(app) && g == "y" && h == "x"`, Map{"app": ""}, []string{"g", "h"}, Unknown, "g"},
	{"a settled group depends on no key", `(h == "x" || app == "web") && g == "y"`, Map{"app": "web"}, []string{"g", "h"}, Unknown, "g"},
	{"Kleene: !(Unknown || True) = False", `!(h == "x" || app == "web")`, Map{"app": "web"}, []string{"h"}, False, ""},
	{"Kleene: !(Unknown && True) = Unknown", `!(h == "x" && app == "web")`, Map{"app": "web"}, []string{"h"}, Unknown, "h"},
	{"unknown keys the selector does not read", `app == "web"`, Map{"app": "web"}, []string{"h"}, True, ""},
	{"known keys read from labels", `app != "web"`, Map{"app": "web"}, []string{"h"}, False, ""},
	{"all()", `all()`, nil, []string{"h"}, True, ""},
	{"global()", `global() && has(h)`, nil, []string{"h"}, True, ""},
	{"empty selector", ``, nil, []string{"h"}, True, ""},
	{"nil valueUnknown knows every value", `h == "x"`, Map{"h": "x"}, nil, True, ""},
	{"pod-template-hash in a Deployment's pod template", `app == "web" && pod-template-hash in {"7d9f"}`,
		Map{"app": "web"}, []string{"pod-template-hash"}, Unknown, "pod-template-hash"},
}

func TestEvaluate(t *testing.T) {
	for _, c := range evalCases {
		s := mustParse(t, c.src, c.sel)
		var unknown func(string) bool
		if c.unknown != nil {
			unknown = func(k string) bool { return slices.Contains(c.unknown, k) }
		}
		got, key := s.Evaluate(c.labels, unknown)
		if got != c.want || key != c.key {
			t.Errorf("%s: %q on %v with %v unknown: Evaluate = %v %q, want %v %q", c.src, c.sel, c.labels, c.unknown, got, key, c.want, c.key)
		}
	}
}

func TestUsesGlobal(t *testing.T) {
	for _, c := range []struct {
		sel  string
		want bool
	}{
		{`global()`, true},
		{` global( )`, true},
		{`!global()`, true},
		{`has(a) || (global() && b == "x")`, true},
		{`!(!global())`, true},
		{`all()`, false},
		{``, false},
		{`global == "x"`, false},                // a label named global
		{`a == "global()"`, false},              // inside a string (Calico's CEL rule is textual and would refuse it)
		{`has(a) && (b in {"global("})`, false}, // likewise
	} {
		if got := MustParse(c.sel).UsesGlobal(); got != c.want {
			t.Errorf("Parse(%q).UsesGlobal() = %v, want %v", c.sel, got, c.want)
		}
	}
}

func TestKeys(t *testing.T) {
	for _, c := range []struct {
		sel  string
		want []string
	}{
		{`all()`, nil},
		{`global()`, nil},
		{``, nil},
		{`has(b) && a == "x"`, []string{"a", "b"}},
		{`c not in {} || !(b contains "x" && a != "y") || a starts with "z" || d ends with ""`, []string{"a", "b", "c", "d"}},
		{`has(k8s.io/x) && k8s.io/x in {"1"}`, []string{"k8s.io/x"}},
		{`has == "x"`, []string{"has"}},
	} {
		s := MustParse(c.sel)
		got := s.Keys()
		if !slices.Equal(got, c.want) {
			t.Errorf("Parse(%q).Keys() = %q, want %q", c.sel, got, c.want)
		}
		if len(got) > 0 {
			got[0] = "mutated"
			if s.Keys()[0] == "mutated" {
				t.Errorf("Parse(%q).Keys() shares its slice", c.sel)
			}
		}
	}
}

// TestZeroSelector: the zero Selector is all().
func TestZeroSelector(t *testing.T) {
	var s Selector
	if !s.Matches(Map{"a": "b"}) || !s.Matches(nil) || s.String() != "all()" || s.UsesGlobal() || s.Keys() != nil {
		t.Errorf("zero Selector is not all(): %q", s.String())
	}
	if got, key := s.Evaluate(nil, nil); got != True || key != "" {
		t.Errorf("zero Selector Evaluate = %v %q", got, key)
	}
	if !MustParse(`!has(a)`).Matches(nil) {
		t.Errorf("nil labels are not an empty label set")
	}
}

// TestNesting: MaxNesting groups parse; one more is ErrTooDeep (a limit of
// this package, not Calico's).
func TestNesting(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("!(", n) + "has(a)" + strings.Repeat(")", n) }
	s := mustParse(t, "nesting", deep(MaxNesting))
	if !s.Matches(Map{"a": ""}) || s.String() != "has(a)" {
		t.Errorf("%d nested negations: Matches or String wrong: %q", MaxNesting, s.String())
	}
	_, err := Parse(deep(MaxNesting + 1))
	var se *SyntaxError
	if !errors.Is(err, ErrTooDeep) || !errors.As(err, &se) || se.Offset != 2*MaxNesting+1 {
		t.Errorf("%d nested groups: error %v, want ErrTooDeep at offset %d", MaxNesting+1, err, 2*MaxNesting+1)
	}
	// The deepest selector within the 1024-byte MaxLength of Calico's CRD
	// selector fields (api/pkg/apis/projectcalico/v3) parses.
	crd := strings.Repeat("(", 509) + "all()" + strings.Repeat(")", 509)
	if len(crd) > 1024 {
		t.Fatalf("test selector is %d bytes", len(crd))
	}
	mustParse(t, "CRD MaxLength=1024", crd)
	// Depth is of nesting, not of count: many groups side by side are fine.
	wide := strings.Repeat("(has(a)) && ", 10*MaxNesting) + "has(b)"
	if _, err := Parse(wide); err != nil {
		t.Errorf("wide selector: %v", err)
	}
}

// TestErrorIsBounded: a huge selector is not echoed whole into the error.
func TestErrorIsBounded(t *testing.T) {
	_, err := Parse(strings.Repeat("has(a) && ", 100000) + "%")
	if err == nil || len(err.Error()) > 400 {
		t.Errorf("error for a 1 MB selector is %d bytes", len(err.Error()))
	}
}

// TestNoAllocation: Matches and Evaluate run per admission and must not allocate.
func TestNoAllocation(t *testing.T) {
	s := MustParse(`! (a == "b"&&! c != "d") || app in {"x", "web"} && has(h) && h not in {"1"} && env starts with "pr"`)
	labels := Map{"a": "b", "c": "d", "app": "web", "h": "?", "env": "prod"}
	unknown := func(k string) bool { return k == "h" }
	var sink Truth
	if n := testing.AllocsPerRun(100, func() {
		if s.Matches(labels) {
			sink++
		}
		r, _ := s.Evaluate(labels, unknown)
		sink += r
		r, _ = s.Evaluate(labels, nil)
		sink += r
	}); n != 0 {
		t.Errorf("Matches+Evaluate allocate %v times per run", n)
	}
	_ = sink
}

func BenchmarkEvaluate(b *testing.B) {
	s := MustParse(`! (a == "b"&&! c != "d") || !(a == "b" && !c != "d")`)
	labels := Map{"a": "b", "c": "d"}
	unknown := func(k string) bool { return k == "c" }
	b.ReportAllocs()
	for b.Loop() {
		s.Evaluate(labels, unknown)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(`! (a == "b"&&! c != "d") || !(a == "b" && !c != "d")`); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRequiredEqual: the equality a selector names as required is one that
// every label set it matches satisfies, over every selector of the tables
// and label sets that do and do not carry it; and the cases that name one.
func TestRequiredEqual(t *testing.T) {
	for _, tc := range []struct {
		sel, key, value string
		ok              bool
	}{
		{sel: "app == 'web'", key: "app", value: "web", ok: true},
		{sel: "app in {'web'}", key: "app", value: "web", ok: true},
		{sel: "has(tier) && app == 'web'", key: "app", value: "web", ok: true},
		{sel: "app == 'web' || app == 'api'"},
		{sel: "!(app == 'web')"},
		{sel: "app in {'api', 'web'}"},
		{sel: "app != 'web'"},
		{sel: "all()"},
		{sel: ""},
	} {
		key, value, ok := mustParse(t, "RequiredEqual", tc.sel).RequiredEqual()
		if key != tc.key || value != tc.value || ok != tc.ok {
			t.Errorf("%q: RequiredEqual() = %q, %q, %t; want %q, %q, %t", tc.sel, key, value, ok, tc.key, tc.value, tc.ok)
		}
	}
	named := 0
	for _, sel := range validSelectors() {
		s := mustParse(t, "tables", sel)
		key, value, ok := s.RequiredEqual()
		if !ok {
			continue
		}
		named++
		others := []Map{{}, {key: value + "x"}, {"other": value}}
		if value != "" {
			others = append(others, Map{key: ""})
		}
		for _, labels := range others {
			if s.Matches(labels) {
				t.Errorf("%q names %s == %q as required, yet matches %v", sel, key, value, labels)
			}
		}
	}
	if named == 0 {
		t.Error("no selector of the tables names a required equality")
	}
}
