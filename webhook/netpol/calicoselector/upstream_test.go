package calicoselector

import "strings"

// The tables in this file are Calico's own selector test cases, from
// projectcalico/calico commit 87c15906f20c4ca1fda55af92295e7678b0cc0b2,
// re-encoded; every row names the file and table it comes from. Rows whose
// src starts with "source:" are not upstream tests but rules read off
// Calico's source (the function named).
//
// Deliberately not encoded:
//   - parser_test.go canonicalisationTests' expectedUid values: UniqueID is
//     Calico's hash of String(); eksguard has no use for it.
//   - parser_test.go Visitor tests' prefixing: PrefixVisitor has no
//     counterpart here; their input/output pairs are kept as canonicalisation
//     cases with the "visited/" prefix removed.
//   - label_restriction_test.go's exact LabelRestrictions maps and its cache
//     test: that API is not reimplemented; each restriction is checked as a
//     necessary condition for a match instead.
//   - stringset_test.go's direct StringSet API calls: kept as set literals.
//   - the tokenizer_test.go cases that are not whole selectors are checked
//     against the tokenizer only (TestTokenizerUpstream).

const (
	parserTest   = "libcalico-go/lib/selector/parser/parser_test.go"
	tokTest      = "libcalico-go/lib/selector/tokenizer/tokenizer_test.go"
	lrTest       = "libcalico-go/lib/selector/parser/label_restriction_test.go"
	setTest      = "libcalico-go/lib/selector/parser/stringset_test.go"
	benchTest    = "libcalico-go/lib/selector/selector_benchmarks_test.go"
	selectorsSrc = "parser_test.go:selectorTests"
)

// none is an empty label set; Calico's tests write it {}.
var none = Map{}

type matchCase struct {
	src            string
	sel            string
	match, noMatch []Map
}

var upstreamMatchCases = []matchCase{
	// libcalico-go/lib/selector/parser/parser_test.go: selectorTests, in order.
	{parserTest + ":selectorTests", `a == "b"`,
		[]Map{{"a": "b"}, {"a": "b", "c": "d"}},
		[]Map{none, {"a": "c"}, {"c": "d"}}},
	{parserTest + ":selectorTests", `a == "b" && c == "d"`,
		[]Map{{"a": "b", "c": "d"}},
		[]Map{none, {"a": "b", "c": "e"}, {"a": "c", "c": "d"}, {"c": "d"}, {"a": "b"}}},
	{parserTest + ":selectorTests", `a == "b" || c == "d"`,
		[]Map{{"a": "b", "c": "d"}, {"a": "b"}, {"c": "d"}},
		[]Map{none, {"a": "e", "c": "e"}, {"c": "e"}, {"a": "e"}}},
	{parserTest + ":selectorTests", `a in {"'", '"', "c"}`,
		[]Map{{"a": "c"}, {"a": `"`}, {"a": `'`}},
		[]Map{none, {"a": "e"}}},
	{parserTest + ":selectorTests", `a not in {"'", '"', "c"}`,
		[]Map{none, {"a": "e"}},
		[]Map{{"a": "c"}, {"a": `"`}, {"a": `'`}}},
	{parserTest + ":selectorTests", `a == 'a'`, []Map{{"a": "a"}}, nil},
	{parserTest + ":selectorTests", `a == "a"`, []Map{{"a": "a"}}, nil},
	{parserTest + ":selectorTests", `a != "b"`, []Map{{"a": "a"}}, nil},
	{parserTest + ":selectorTests", `a != "a"`, []Map{none}, nil},
	{parserTest + ":selectorTests", `a contains "a"`,
		[]Map{{"a": "a"}, {"a": "bab"}, {"a": "aaa", "b": "c"}},
		[]Map{none, {"a": "b"}, {"b": "aaa"}}},
	{parserTest + ":selectorTests", `a starts with "a"`,
		[]Map{{"a": "a"}, {"a": "abb"}, {"a": "aaa", "b": "c"}},
		[]Map{none, {"a": "b"}, {"a": "baa"}, {"b": "aaa"}}},
	{parserTest + ":selectorTests", `a ends with "a"`,
		[]Map{{"a": "a"}, {"a": "bba"}, {"a": "aaa", "b": "c"}},
		[]Map{none, {"a": "b"}, {"a": "aab"}, {"b": "aaa"}}},
	{parserTest + ":selectorTests", `a in {"a"}`, []Map{{"a": "a"}}, nil},
	{parserTest + ":selectorTests", `!a in {"a"}`, []Map{{"a": "b"}}, nil},
	{parserTest + ":selectorTests", `a in {"a", "b"}`, []Map{{"a": "a"}}, nil},
	{parserTest + ":selectorTests", `a in {"a", "b"}`, []Map{{"a": "b"}}, nil},
	{parserTest + ":selectorTests", `a not in {"d", "e"}`, []Map{{"a": "a"}}, nil},
	{parserTest + ":selectorTests", `has(a)`, []Map{{"a": "b"}}, nil},
	{parserTest + ":selectorTests", `!has(a)`, []Map{{"b": "b"}}, nil},
	{parserTest + ":selectorTests", ``, []Map{none}, nil},
	{parserTest + ":selectorTests", ` `, []Map{none}, nil},
	{parserTest + ":selectorTests", ``, []Map{{"a": "b"}}, nil},
	{parserTest + ":selectorTests", `all()`, []Map{none}, nil},
	{parserTest + ":selectorTests", ` all()`, []Map{none}, nil},
	{parserTest + ":selectorTests", ` all()`, []Map{{"a": "b"}}, nil},
	{parserTest + ":selectorTests", `global()`, []Map{none}, nil},
	{parserTest + ":selectorTests", ` global()`, []Map{none}, nil},
	{parserTest + ":selectorTests", ` global()`, []Map{{"a": "b"}}, nil},
	{parserTest + ":selectorTests", `a == 'a'`, nil, []Map{{"a": "b"}}},
	{parserTest + ":selectorTests", `a == 'a'`, nil, []Map{none}},
	{parserTest + ":selectorTests", `a != "a"`, nil, []Map{{"a": "a"}}},
	{parserTest + ":selectorTests", `a != 'a'`, nil, []Map{{"a": "a"}}},
	{parserTest + ":selectorTests", `a in {"a"}`, nil, []Map{{"a": "b"}}},
	{parserTest + ":selectorTests", `a not in {"a"}`, nil, []Map{{"a": "a"}}},
	{parserTest + ":selectorTests", `a in {"a", "b"}`, nil, []Map{{"a": "c"}}},
	{parserTest + ":selectorTests", `has(b)`, nil, []Map{{"a": "b"}}},
	{parserTest + ":selectorTests", `!!has(b)`, nil, []Map{{"a": "b"}}},
	{parserTest + ":selectorTests", `! has(a)`, nil, []Map{{"a": "b"}}},
	{parserTest + ":selectorTests", `!has(a)`, nil, []Map{{"a": "b"}}},
	{parserTest + ":selectorTests", `!!! has(a)`, nil, []Map{{"a": "b"}}},
	{parserTest + ":selectorTests", `!!!has(a)`, nil, []Map{{"a": "b"}}},
	{parserTest + ":selectorTests", `!! ! has(a)`, nil, []Map{{"a": "b"}}},
	{parserTest + ":selectorTests", `! !!has(a)`, nil, []Map{{"a": "b"}}},
	// selectorTests, "Boolean expressions...".
	{parserTest + ":selectorTests", `a == 'a1' && b == 'b1'`, []Map{{"a": "a1", "b": "b1"}}, nil},
	{parserTest + ":selectorTests", `a == 'a1' && b != 'b1'`, nil, []Map{{"a": "a1", "b": "b1"}}},
	{parserTest + ":selectorTests", `a != 'a1' && b == 'b1'`, nil, []Map{{"a": "a1", "b": "b1"}}},
	{parserTest + ":selectorTests", `a != 'a1' && b != 'b1'`, nil, []Map{{"a": "a1", "b": "b1"}}},
	{parserTest + ":selectorTests", `a != 'a1' && !b == 'b1'`, nil, []Map{{"a": "a1", "b": "b1"}}},
	{parserTest + ":selectorTests", `!a == 'a1' && b == 'b1'`, nil, []Map{{"a": "a1", "b": "b1"}}},
	{parserTest + ":selectorTests", `has(a) && !has(b)`, []Map{{"a": "a"}}, nil},
	{parserTest + ":selectorTests", `!has(b) && has(a)`, []Map{{"a": "a"}}, nil},
	{parserTest + ":selectorTests", `!(!has(a) || has(b))`, []Map{{"a": "a"}}, nil},
	{parserTest + ":selectorTests", `!(has(b) || !has(a))`, []Map{{"a": "a"}}, nil},
	{parserTest + ":selectorTests", `a == 'a1' || b == 'b1'`, []Map{{"a": "a1", "b": "b1"}}, nil},
	{parserTest + ":selectorTests", `a == 'a1' || b != 'b1'`, []Map{{"a": "a1", "b": "b1"}}, nil},
	{parserTest + ":selectorTests", `a != 'a1' || b == 'b1'`, []Map{{"a": "a1", "b": "b1"}}, nil},
	{parserTest + ":selectorTests", `a != 'a1' || b != 'b1'`, nil, []Map{{"a": "a1", "b": "b1"}}},
	{parserTest + ":selectorTests", `! a == 'a1' || ! b == 'b1'`, nil, []Map{{"a": "a1", "b": "b1"}}},

	// libcalico-go/lib/selector/parser/stringset_test.go: "StringSet contains
	// tests" — a set contains each input value and not value+"bogus".
	{setTest + ":StringSet contains tests Entry(\"Empty\")", `a in {}`, nil, []Map{none, {"a": ""}, {"a": "bogus"}}},
	{setTest + ":StringSet contains tests Entry(\"a\")", `a in {"a"}`, []Map{{"a": "a"}}, []Map{{"a": "abogus"}}},
	{setTest + ":StringSet contains tests Entry(\"a, b\")", `a in {"a", "b"}`,
		[]Map{{"a": "a"}, {"a": "b"}}, []Map{{"a": "abogus"}, {"a": "bbogus"}}},
	{setTest + ":StringSet contains tests Entry(\"a, b, c\")", `a in {"a", "b", "c"}`,
		[]Map{{"a": "a"}, {"a": "b"}, {"a": "c"}}, []Map{{"a": "abogus"}, {"a": "bbogus"}, {"a": "cbogus"}}},
	{setTest + ":StringSet contains tests Entry(\"a, b, c, d\")", `a in {"a", "b", "c", "d"}`,
		[]Map{{"a": "a"}, {"a": "b"}, {"a": "c"}, {"a": "d"}},
		[]Map{{"a": "abogus"}, {"a": "bbogus"}, {"a": "cbogus"}, {"a": "dbogus"}}},
	{setTest + ":StringSet contains tests Entry(\"foo, bar, baz, baz\")", `a in {"foo", "bar", "baz", "baz"}`,
		[]Map{{"a": "foo"}, {"a": "bar"}, {"a": "baz"}}, []Map{{"a": "foobogus"}, {"a": "barbogus"}, {"a": "bazbogus"}}},
	{setTest + ":StringSet contains tests Entry(\"foo, foo, baz, baz\")", `a not in {"foo", "foo", "baz", "baz"}`,
		[]Map{{"a": "foobogus"}, {"a": "bazbogus"}, none}, []Map{{"a": "foo"}, {"a": "baz"}}},
}

// ownMatchCases are rules read off Calico's source rather than its tests.
var ownMatchCases = []matchCase{
	{"source: parser.go parseOperation (TokIn: zero values then })", `a in {}`,
		nil, []Map{none, {"a": ""}, {"a": "x"}}},
	{"source: parser.go parseOperation (TokNotIn: zero values then })", `a not in {}`,
		[]Map{none, {"a": ""}, {"a": "x"}}, nil},
	{"source: parser.go parseOperation (a comma may end the set)", `a in {"x",}`,
		[]Map{{"a": "x"}}, []Map{none, {"a": ""}}},
	{"source: ast.go LabelEqValueNode (an empty value is a value)", `a == ""`,
		[]Map{{"a": ""}}, []Map{none, {"a": "x"}}},
	{"source: ast.go LabelNeValueNode (absent matches)", `a != ""`,
		[]Map{none, {"a": "x"}}, []Map{{"a": ""}}},
	{"source: ast.go LabelContainsValueNode", `a contains ""`,
		[]Map{{"a": ""}, {"a": "x"}}, []Map{none}},
	{"source: ast.go LabelStartsWithValueNode", `a starts with ""`, []Map{{"a": ""}}, []Map{none}},
	{"source: ast.go LabelEndsWithValueNode", `a endswith "b"`, []Map{{"a": "ab"}}, []Map{none, {"a": "ba"}}},
	{"source: tokenizer.go cutMultiWordPrefixCheckBreak", `a startswith"b"`, []Map{{"a": "bc"}}, []Map{{"a": "cb"}}},
	{"source: tokenizer.go cutMultiWordPrefixCheckBreak", `a notin{"b"}`, []Map{none, {"a": "c"}}, []Map{{"a": "b"}}},
	{"source: tokenizer.go cutMultiWordPrefixCheckBreak", "a not \t in {\"b\"}", []Map{{"a": "c"}}, []Map{{"a": "b"}}},
	{"source: tokenizer.go trimWhitespace (tabs)", "\ta\t==\t\"b\"\t", []Map{{"a": "b"}}, []Map{none}},
	{"source: tokenizer.go trimWhitespace (tabs only: all())", "\t \t", []Map{none}, nil},
	{"source: tokenizer.go identifierChar", `k8s.io/app-name_1 == "web"`,
		[]Map{{"k8s.io/app-name_1": "web"}}, []Map{{"app-name_1": "web"}}},
	{"source: tokenizer.go identifierChar (no first-character rule)", `-.a == "x" && 9 == "y" && / == "z"`,
		[]Map{{"-.a": "x", "9": "y", "/": "z"}}, []Map{{"-.a": "x", "9": "y"}}},
	{"source: tokenizer.go AppendTokens (string literals take any byte)", `a == "ü && || (" || b == 'x y'`,
		[]Map{{"a": "ü && || ("}, {"b": "x y"}}, []Map{{"a": "ü"}, {"b": "x"}}},
	{"source: tokenizer.go AppendTokens (keywords are labels before an operator)", `has == "x" && all == "y" && global == "z"`,
		[]Map{{"has": "x", "all": "y", "global": "z"}}, []Map{{"has": "x", "all": "y"}}},
	{"source: tokenizer.go AppendTokens (operator words are labels before an operator)", `in in {"x"} && not not in {"x"}`,
		[]Map{{"in": "x"}, {"in": "x", "not": "y"}}, []Map{{"in": "x", "not": "x"}, none}},
	{"source: tokenizer.go AppendTokens (has( key ) may hold spaces)", `has( a ) && !has(	b	)`,
		[]Map{{"a": "1"}}, []Map{{"a": "1", "b": "2"}}},
	{"source: tokenizer.go AppendTokens (all( ) / global( ))", `all( ) && global(	)`, []Map{none}, nil},
	{"source: parser.go parseAndExpression/parseOrExpression (&& binds tighter)", `a == "1" || b == "1" && c == "1"`,
		[]Map{{"a": "1"}, {"b": "1", "c": "1"}}, []Map{{"b": "1"}, {"c": "1"}}},
	{"source: parser.go parseOperation (! takes one operation)", `!a == "1" && b == "1"`,
		[]Map{{"b": "1"}, {"a": "2", "b": "1"}}, []Map{{"a": "1", "b": "1"}, none}},
	{"source: parser.go parseOperation (! takes a group)", `!(a == "1" && b == "1")`,
		[]Map{{"b": "1"}, none}, []Map{{"a": "1", "b": "1"}}},
	{"source: parser.go parseOperation (double negation of a group)", `!(!has(a))`,
		[]Map{{"a": ""}}, []Map{none}},
	{"source: parser.go parseOperation (nested groups)", `((a == "1") || (!(b == "1") && has(c)))`,
		[]Map{{"a": "1"}, {"c": ""}, {"b": "2", "c": ""}}, []Map{{"b": "1", "c": ""}, none}},
	{"source: tokenizer.go MaxLabelLength (exactly 512 bytes)", "has(" + strings.Repeat("k", 512) + ")",
		[]Map{{strings.Repeat("k", 512): ""}}, []Map{{strings.Repeat("k", 511): ""}}},
	{benchTest + ":BenchmarkParse", `! (a == "b"&&! c != "d") || !(a == "b" && !c != "d")`,
		[]Map{none, {"a": "x"}}, []Map{{"a": "b", "c": "d"}}},
}

// badCases are selectors Calico rejects; offset and msg, where given, are
// this package's answer (Calico's errors carry no offset).
type badCase struct {
	src    string
	sel    string
	offset int    // -1: not checked
	msg    string // a substring of the error; "" not checked
}

var upstreamBadCases = []badCase{
	// libcalico-go/lib/selector/parser/parser_test.go: badSelectors, in order.
	// "starts with b" fails in the tokenizer: cutMultiWordPrefixCheckBreak
	// trims after "with", then finds no word boundary before "b".
	{parserTest + ":badSelectors", "b == b", 5, "expected a string"},
	{parserTest + ":badSelectors", "b contains b", 11, "expected a string"},
	{parserTest + ":badSelectors", "b starts with b", 2, `expected an operator after label "b"`},
	{parserTest + ":badSelectors", "b ends with b", 2, `expected an operator after label "b"`},
	{parserTest + ":badSelectors", "'b1' == b", 0, `found string "b1"`},
	{parserTest + ":badSelectors", "b", 1, `expected an operator after label "b"`},
	{parserTest + ":badSelectors", "a b", 2, `expected an operator after label "a"`},
	{parserTest + ":badSelectors", "!", 1, "found end of selector"},
	{parserTest + ":badSelectors", `foo == "bar" &`, 13, `expected "&&"`},
	{parserTest + ":badSelectors", `foo == "bar" |`, 13, `expected "||"`},
	{parserTest + ":badSelectors", `foo != ||`, 7, "expected a string"},
	{parserTest + ":badSelectors", `foo in {"", ||`, 12, `expected a string or "}"`},
	{parserTest + ":badSelectors", `foo in ""`, 7, "expected a set literal"},
	{parserTest + ":badSelectors", `"FOO`, 0, "unterminated string"},
	{parserTest + ":badSelectors", `"FOO'`, 0, "unterminated string"},
	{parserTest + ":badSelectors", `'FOO`, 0, "unterminated string"},
	{parserTest + ":badSelectors", `(`, 1, "found end of selector"},
	{parserTest + ":badSelectors", `(a == "foo"`, 11, `expected ")"`},
	{parserTest + ":badSelectors", `)`, 0, `found ")"`},
	{parserTest + ":badSelectors", `()`, 1, `found ")"`},
	{parserTest + ":badSelectors", `%`, 0, `unexpected character '%'`},
	{parserTest + ":badSelectors", `a == "b" && %`, 12, `unexpected character '%'`},
	{parserTest + ":badSelectors", `a == "b" || %`, 12, `unexpected character '%'`},
	{parserTest + ":badSelectors", `a `, 2, `expected an operator after label "a"`},
	{parserTest + ":badSelectors", `has(foo) &&`, 11, "found end of selector"},

	// libcalico-go/lib/selector/tokenizer/tokenizer_test.go: tokenTests whose
	// expected tokens are nil (a tokenizer error), in order.
	{tokTest + ":tokenTests", strings.Repeat("a", 513) + ` == "value"`, 0, "longer than 512 bytes"},
	{tokTest + ":tokenTests", `label == "value`, 9, "unterminated string"},
	{tokTest + ":tokenTests", `label == 'value`, 9, "unterminated string"},
	{tokTest + ":tokenTests", `label = "value"`, 6, `expected "=="`},
	{tokTest + ":tokenTests", `all(`, 4, `expected ")" after all(`},
	{tokTest + ":tokenTests", `global(`, 7, `expected ")" after global(`},
	{tokTest + ":tokenTests", `has()`, 4, "expected a label key in has()"},
	{tokTest + ":tokenTests", `has(foo`, 7, `expected ")" after has(foo`},
	{tokTest + ":tokenTests", `has( foo `, 9, `expected ")" after has(foo`},
	{tokTest + ":tokenTests", `a == "b" & has(foo)`, 9, `expected "&&"`},
	{tokTest + ":tokenTests", `a == "b" | has(foo)`, 9, `expected "||"`},
	{tokTest + ":tokenTests", `label starts foo "value"`, 6, `expected an operator after label "label"`},
	{tokTest + ":tokenTests", `label inf "value"`, 6, `expected an operator after label "label"`},
	{tokTest + ":tokenTests", `label ends foo "value"`, 6, `expected an operator after label "label"`},
	{tokTest + ":tokenTests", `label ends withs "value"`, 6, `expected an operator after label "label"`},
	{tokTest + ":tokenTests", `label squiggles "value"`, 6, `expected an operator after label "label"`},
	// tokenTests that tokenize but are not selectors.
	{tokTest + ":tokenTests (tokenizes; not a selector)", `a not in "bar" && !has(foo) || b in c`, 9, "expected a set literal"},
	{tokTest + ":tokenTests (tokenizes; not a selector)", `a  not  in  "bar"  &&  ! has( foo )  ||  b  in  c `, 12, "expected a set literal"},
	{tokTest + ":tokenTests (tokenizes; not a selector)", `a notin"bar"&&!has(foo)||b in"c"`, 7, "expected a set literal"},
}

var ownBadCases = []badCase{
	{"source: brief's example", `a ==`, 4, "expected a string"},
	{"source: tokenizer.go trimWhitespace (newline is not whitespace)", "a == \"b\"\n", 8, `unexpected character '\n'`},
	{"source: tokenizer.go trimWhitespace (newline is not whitespace)", "\n", 0, `unexpected character '\n'`},
	{"source: tokenizer.go trimWhitespace (CR is not whitespace)", "has(a)\r", 6, `unexpected character '\r'`},
	{"source: tokenizer.go trimWhitespace (newline inside has())", "has(\na)", 4, "expected a label key in has()"},
	{"source: tokenizer.go identifierChar (ASCII only)", `ü == "x"`, 0, `unexpected character 'ü'`},
	{"source: tokenizer.go identifierChar (invalid UTF-8)", "\xff", 0, "unexpected byte 0xff"},
	{"source: tokenizer.go identifierChar (no ':')", `k8s.io:app == "x"`, 6, `expected an operator after label "k8s.io"`},
	{"source: tokenizer.go identifierChar (no ':')", `has(a:b)`, 5, `expected ")" after has(a`},
	{"source: tokenizer.go identifierChar (no '*')", `* == "x"`, 0, `unexpected character '*'`},
	{"source: tokenizer.go AppendTokens (has must touch its parenthesis)", `has (a)`, 4, `expected an operator after label "has"`},
	{"source: tokenizer.go AppendTokens (all must touch its parenthesis)", `all ()`, 4, `expected an operator after label "all"`},
	{"source: tokenizer.go AppendTokens (all() takes no argument)", `all(a)`, 4, `expected ")" after all(`},
	{"source: tokenizer.go AppendTokens (global() takes no argument)", `global(a)`, 7, `expected ")" after global(`},
	{"source: tokenizer.go MaxLabelLength", "has(" + strings.Repeat("k", 513) + ")", 4, "longer than 512 bytes"},
	{"source: tokenizer.go AppendTokens (lone ! before =)", `a ! = "b"`, 4, `expected "=="`},
	{"source: tokenizer.go AppendTokens (!== is != then =)", `a !== "b"`, 4, `expected "=="`},
	{"source: tokenizer.go AppendTokens (&&&)", `has(a) &&& has(b)`, 9, `expected "&&"`},
	{"source: tokenizer.go cutPrefixCheckBreak (word boundary)", `a contains-"x"`, 2, `expected an operator after label "a"`},
	{"source: tokenizer.go cutPrefixCheckBreak (word boundary)", `a inside {"x"}`, 2, `expected an operator after label "a"`},
	{"source: tokenizer.go cutMultiWordPrefixCheckBreak (not without in)", `a not == "x"`, 2, `expected an operator after label "a"`},
	{"source: parser.go parseOperation (a value, not a label)", `a==b`, 3, `found label "b"`},
	{"source: parser.go parseOperation (operator chain)", `a contains contains "x"`, 11, `found label "contains"`},
	{"source: parser.go parseOperation (in needs a set)", `a in in {"x"}`, 5, "expected a set literal"},
	{"source: parser.go parseOperation (set needs commas)", `a in {"x" "y"}`, 10, `expected "," or "}"`},
	{"source: parser.go parseOperation (set starts with a value)", `a in {,}`, 6, `expected a string or "}"`},
	{"source: parser.go parseOperation (set holds strings)", `a in {b}`, 6, `expected a string or "}"`},
	{"source: parser.go parseOperation (two commas)", `a in {"x",,}`, 10, `expected a string or "}"`},
	{"source: parser.go parseOperation (unclosed set)", `a in {"x"`, 9, `expected "," or "}"`},
	{"source: parser.go parseRoot (one expression)", `a == "b")`, 8, `unexpected ")" after a complete expression`},
	{"source: parser.go parseRoot (one expression)", `has(a) has(b)`, 7, "unexpected has(b) after a complete expression"},
	{"source: parser.go parseRoot (one expression)", `a == "b" "c"`, 9, `unexpected string "c"`},
	{"source: parser.go parseRoot (one expression)", `has(a) == "x"`, 7, `unexpected "=="`},
	{"source: parser.go parseOperation (no leading operator)", `&& a == "b"`, 0, `found "&&"`},
	{"source: parser.go parseOperation (! takes an operation)", `!!`, 2, "found end of selector"},
	{"source: parser.go parseOperation (! is not !=)", `!= "b"`, 0, `found "!="`},
	{"source: parser.go parseOrExpression (dangling ||)", `has(a) ||`, 9, "found end of selector"},
	{"source: parser.go parseOperation (braces are for sets)", `{`, 0, `found "{"`},
	{"source: parser.go parseOperation (empty operand)", `has(a) && ()`, 11, `found ")"`},
	{"source: parser.go parseOperation (unclosed group)", `((has(a))`, 9, `expected ")" to close the "(" at offset 0`},
}

type canonCase struct {
	src     string
	in, out string
}

var upstreamCanonCases = []canonCase{
	// libcalico-go/lib/selector/parser/parser_test.go: canonicalisationTests, in order.
	{parserTest + ":canonicalisationTests", "", "all()"},
	{parserTest + ":canonicalisationTests", " all() ", "all()"},
	{parserTest + ":canonicalisationTests", " (all() )", "all()"},
	{parserTest + ":canonicalisationTests", `! (has( b)||! has(a ))`, "!(has(b) || !has(a))"},
	{parserTest + ":canonicalisationTests", `! (a == "b"&&! c != "d")`, `!(a == "b" && !c != "d")`},
	{parserTest + ":canonicalisationTests", `a == "'"`, `a == "'"`},
	{parserTest + ":canonicalisationTests", `a == '"'`, `a == '"'`},
	{parserTest + ":canonicalisationTests", `a contains '"'`, `a contains '"'`},
	{parserTest + ":canonicalisationTests", `a contains "'"`, `a contains "'"`},
	{parserTest + ":canonicalisationTests", `a startswith '"'`, `a starts with '"'`},
	{parserTest + ":canonicalisationTests", `a endswith "'"`, `a ends with "'"`},
	{parserTest + ":canonicalisationTests", `a!='"'`, `a != '"'`},
	{parserTest + ":canonicalisationTests", `a in {"d"}`, `a in {"d"}`},
	{parserTest + ":canonicalisationTests", `a in {"a", "b"}`, `a in {"a", "b"}`},
	{parserTest + ":canonicalisationTests", `a in {"d", "a", "b"}`, `a in {"a", "b", "d"}`},
	{parserTest + ":canonicalisationTests", `a in {"z", "x", "y", "a"}`, `a in {"a", "x", "y", "z"}`},
	{parserTest + ":canonicalisationTests", `a in {"z", "z", "x", "y", "x", "a"}`, `a in {"a", "x", "y", "z"}`},

	// parser_test.go: "Visitor tests", with PrefixVisitor's "visited/" removed from the output.
	{parserTest + ":Visitor tests", "k == 'v'", `k == "v"`},
	{parserTest + ":Visitor tests", "k != 'v'", `k != "v"`},
	{parserTest + ":Visitor tests", "k contains 'v'", `k contains "v"`},
	{parserTest + ":Visitor tests", "k starts with 'v'", `k starts with "v"`},
	{parserTest + ":Visitor tests", "k ends with 'v'", `k ends with "v"`},
	{parserTest + ":Visitor tests", "k == 'v' && x == 'y'", `(k == "v" && x == "y")`},
	{parserTest + ":Visitor tests", "k == 'v' || has(x)", `(k == "v" || has(x))`},
	{parserTest + ":Visitor tests", "!(k == 'v')", `!k == "v"`},
	{parserTest + ":Visitor tests", "k in {'v'}", `k in {"v"}`},
	{parserTest + ":Visitor tests", "k not in {'v'}", `k not in {"v"}`},
	{parserTest + ":Visitor tests", "!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))",
		`!(!((k == "v" && has(t)) || all()) && a in {"b", "c"})`},

	// stringset_test.go: "StringSet dedupe".
	{setTest + ":StringSet dedupe Entry(\"empty\")", `a in {}`, `a in {}`},
	{setTest + ":StringSet dedupe Entry(\"without dupes\")", `a in {"a", "b"}`, `a in {"a", "b"}`},
	{setTest + ":StringSet dedupe Entry(\"with dupes\")", `a in {"b", "a", "b", "a"}`, `a in {"a", "b"}`},
}

var ownCanonCases = []canonCase{
	{"source: ast.go AndNode/OrNode collectFragments (groups are not flattened)",
		`a == "1" && (b == "1" && c == "1")`, `(a == "1" && (b == "1" && c == "1"))`},
	{"source: parser.go parseAndExpression (one && chain is one node)",
		`a == "1" && b == "1" && c == "1"`, `(a == "1" && b == "1" && c == "1")`},
	{"source: parser.go parseOrExpression (&& binds tighter)",
		`a=="1"||b=="1"&&c=="1"`, `(a == "1" || (b == "1" && c == "1"))`},
	{"source: parser.go parseOperation (!! collapses)", `!!a == "1"`, `a == "1"`},
	{"source: parser.go parseOperation (double negation of a group; Calico prints !!has(a))", `!(!has(a))`, `has(a)`},
	{"source: parser.go parseOperation (double negation of a group)", `!(!(a == "1" || has(b)))`, `(a == "1" || has(b))`},
	{"source: parser.go parseOperation (triple negation)", `!(!(!has(a)))`, `!has(a)`},
	{"source: ast.go appendLabelOpAndQuotedString", `a == 'x"y'`, `a == 'x"y'`},
	{"source: ast.go collectInOpFragments (quote per value)", `a not in {'x"y', 'z'}`, `a not in {'x"y', "z"}`},
	{"source: tokenizer.go cutMultiWordPrefixCheckBreak", "a notin {'x'} && b starts\twith 'y'", `(a not in {"x"} && b starts with "y")`},
	{"source: parser.go parseOperation (trailing comma)", `a in {"x",}`, `a in {"x"}`},
	{"source: parser.go parseOperation (global())", `!global( )`, `!global()`},
}

// Restriction is label_restriction_test.go's LabelRestriction: a necessary
// condition on one label for the selector to match.
type restriction struct {
	present, absent bool
	oneOf           []string // nil: no restriction; empty: nothing matches
}

type restrictionCase struct {
	sel string
	res map[string]restriction
}

// upstreamRestrictionCases is label_restriction_test.go's labelRestrictionsTests, in order.
var upstreamRestrictionCases = []restrictionCase{
	{"", nil},
	{"all()", nil},
	{"global()", nil},
	{"a == 'value'", map[string]restriction{"a": {present: true, oneOf: []string{"value"}}}},
	{"has(a)", map[string]restriction{"a": {present: true}}},
	{"a in {'v1','v2'}", map[string]restriction{"a": {present: true, oneOf: []string{"v1", "v2"}}}},
	{"a not in {'v1','v2'}", nil},
	{"a contains 'foo'", map[string]restriction{"a": {present: true}}},
	{"a ends with 'foo'", map[string]restriction{"a": {present: true}}},
	{"a starts with 'foo'", map[string]restriction{"a": {present: true}}},
	{"a != 'value'", nil},
	{"a == 'v1' && a == 'v1'", map[string]restriction{"a": {present: true, oneOf: []string{"v1"}}}},
	{"a == 'v1' && a == 'v2'", map[string]restriction{"a": {present: true, oneOf: []string{}}}},
	{"a == 'v1' && has(a)", map[string]restriction{"a": {present: true, oneOf: []string{"v1"}}}},
	{"a in {'v1','v2'} && a in {'v2','v3'} ", map[string]restriction{"a": {present: true, oneOf: []string{"v2"}}}},
	{"a in {'v1','v2', 'v3'} && a in {'v2','v3'} ", map[string]restriction{"a": {present: true, oneOf: []string{"v2", "v3"}}}},
	{"has(a) && a == 'v1'", map[string]restriction{"a": {present: true, oneOf: []string{"v1"}}}},
	{"has(a) && !has(a)", map[string]restriction{"a": {present: true, absent: true}}},
	{"a == 'v1' && b == 'v2'", map[string]restriction{
		"a": {present: true, oneOf: []string{"v1"}},
		"b": {present: true, oneOf: []string{"v2"}},
	}},
	{"a == 'v1' && all()", map[string]restriction{"a": {present: true, oneOf: []string{"v1"}}}},
	{"all() && a == 'v1'", map[string]restriction{"a": {present: true, oneOf: []string{"v1"}}}},
	{"a == 'v1' || a == 'v2'", map[string]restriction{"a": {present: true, oneOf: []string{"v1", "v2"}}}},
	{"has(a) || a == 'v2'", map[string]restriction{"a": {present: true}}},
	{"a=='v2' || has(a)", map[string]restriction{"a": {present: true}}},
	{"a=='v2' || has(b)", nil},
	{"a=='v2' || (has(b) && has(a))", map[string]restriction{"a": {present: true}}},
	{"a == 'v1' || b == 'v2'", nil},
	{"a == 'v1' || all()", nil},
	{"all() || b == 'v2'", nil},
	{"!(a == 'value')", nil},
	{"!has(a)", map[string]restriction{"a": {absent: true}}},
	{"!!has(a)", map[string]restriction{"a": {present: true}}},
}

// upstreamTokenCases is tokenizer_test.go's tokenTests with expected tokens,
// in order, written as Calico's Token.String() values.
var upstreamTokenCases = []struct{ in, want string }{
	{`a=="b"`, `TokLabel(a) TokEq() TokStringLiteral(b) TokEOF()`},
	{`a!="b"`, `TokLabel(a) TokNe() TokStringLiteral(b) TokEOF()`},
	{`a != "b"`, `TokLabel(a) TokNe() TokStringLiteral(b) TokEOF()`},
	{`(a=="b")`, `TokLParen() TokLabel(a) TokEq() TokStringLiteral(b) TokRParen() TokEOF()`},
	{`a=="b"`, `TokLabel(a) TokEq() TokStringLiteral(b) TokEOF()`},
	{`label == "value"`, `TokLabel(label) TokEq() TokStringLiteral(value) TokEOF()`},
	{`label contains "value"`, `TokLabel(label) TokContains() TokStringLiteral(value) TokEOF()`},
	{`contains contains "contains"`, `TokLabel(contains) TokContains() TokStringLiteral(contains) TokEOF()`},
	{`contains contains 'contains'`, `TokLabel(contains) TokContains() TokStringLiteral(contains) TokEOF()`},
	{`label contains"value"`, `TokLabel(label) TokContains() TokStringLiteral(value) TokEOF()`},
	{`label startswith "value"`, `TokLabel(label) TokStartsWith() TokStringLiteral(value) TokEOF()`},
	{`label endswith "value"`, `TokLabel(label) TokEndsWith() TokStringLiteral(value) TokEOF()`},
	{`label starts with "value"`, `TokLabel(label) TokStartsWith() TokStringLiteral(value) TokEOF()`},
	{`startswith starts with "value"`, `TokLabel(startswith) TokStartsWith() TokStringLiteral(value) TokEOF()`},
	{`label ends with "value"`, `TokLabel(label) TokEndsWith() TokStringLiteral(value) TokEOF()`},
	{`endswith ends with "value"`, `TokLabel(endswith) TokEndsWith() TokStringLiteral(value) TokEOF()`},
	{`label starts  with "value"`, `TokLabel(label) TokStartsWith() TokStringLiteral(value) TokEOF()`},
	{`label ends  with "value"`, `TokLabel(label) TokEndsWith() TokStringLiteral(value) TokEOF()`},
	{strings.Repeat("a", 512) + ` == "value"`, `TokLabel(` + strings.Repeat("a", 512) + `) TokEq() TokStringLiteral(value) TokEOF()`},
	{`a not in "bar" && !has(foo) || b in c`,
		`TokLabel(a) TokNotIn() TokStringLiteral(bar) TokAnd() TokNot() TokHas(foo) TokOr() TokLabel(b) TokIn() TokLabel(c) TokEOF()`},
	{`has(calico/k8s_ns)`, `TokHas(calico/k8s_ns) TokEOF()`},
	{`has(calico/k8s_ns/role)`, `TokHas(calico/k8s_ns/role) TokEOF()`},
	{`has(calico/k8s_NS-.1/role)`, `TokHas(calico/k8s_NS-.1/role) TokEOF()`},
	{`calico/k8s_ns == "kube-system" && k8s-app == "kube-dns"`,
		`TokLabel(calico/k8s_ns) TokEq() TokStringLiteral(kube-system) TokAnd() TokLabel(k8s-app) TokEq() TokStringLiteral(kube-dns) TokEOF()`},
	{`a  not  in  "bar"  &&  ! has( foo )  ||  b  in  c `,
		`TokLabel(a) TokNotIn() TokStringLiteral(bar) TokAnd() TokNot() TokHas(foo) TokOr() TokLabel(b) TokIn() TokLabel(c) TokEOF()`},
	{`a notin"bar"&&!has(foo)||b in"c"`,
		`TokLabel(a) TokNotIn() TokStringLiteral(bar) TokAnd() TokNot() TokHas(foo) TokOr() TokLabel(b) TokIn() TokStringLiteral(c) TokEOF()`},
	{`a not in {}`, `TokLabel(a) TokNotIn() TokLBrace() TokRBrace() TokEOF()`},
	{`a not in {"a"}`, `TokLabel(a) TokNotIn() TokLBrace() TokStringLiteral(a) TokRBrace() TokEOF()`},
	{`a not in {"a","B"}`, `TokLabel(a) TokNotIn() TokLBrace() TokStringLiteral(a) TokComma() TokStringLiteral(B) TokRBrace() TokEOF()`},
	{`global()`, `TokGlobal() TokEOF()`},
	{`global( )`, `TokGlobal() TokEOF()`},
	{`all()`, `TokAll() TokEOF()`},
	{`all( )`, `TokAll() TokEOF()`},
}

// upstreamTokenSelectors are the tokenTests inputs above that are whole
// selectors, checked by Parse too.
var upstreamTokenSelectors = []string{
	`a=="b"`, `a!="b"`, `a != "b"`, `(a=="b")`, `label == "value"`, `label contains "value"`,
	`contains contains "contains"`, `contains contains 'contains'`, `label contains"value"`,
	`label startswith "value"`, `label endswith "value"`, `label starts with "value"`,
	`startswith starts with "value"`, `label ends with "value"`, `endswith ends with "value"`,
	`label starts  with "value"`, `label ends  with "value"`, strings.Repeat("a", 512) + ` == "value"`,
	`has(calico/k8s_ns)`, `has(calico/k8s_ns/role)`, `has(calico/k8s_NS-.1/role)`,
	`calico/k8s_ns == "kube-system" && k8s-app == "kube-dns"`, `a not in {}`, `a not in {"a"}`,
	`a not in {"a","B"}`, `global()`, `global( )`, `all()`, `all( )`,
}
