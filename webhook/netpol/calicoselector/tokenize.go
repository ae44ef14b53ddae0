package calicoselector

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLabelLength is the longest label key Calico accepts (tokenizer.MaxLabelLength).
const MaxLabelLength = 512

type tokKind uint8

const (
	tEOF tokKind = iota
	tLabel
	tString
	tLBrace
	tRBrace
	tComma
	tEq
	tNe
	tIn
	tNotIn
	tContains
	tStartsWith
	tEndsWith
	tNot
	tAll
	tGlobal
	tHas
	tLParen
	tRParen
	tAnd
	tOr
)

// token is one lexeme; pos is its byte offset in the selector.
type token struct {
	kind tokKind
	val  string // label key, has() key or string literal
	pos  int
}

var tokNames = [...]string{
	tLBrace: `"{"`, tRBrace: `"}"`, tComma: `","`, tEq: `"=="`, tNe: `"!="`,
	tIn: `"in"`, tNotIn: `"not in"`, tContains: `"contains"`, tStartsWith: `"starts with"`,
	tEndsWith: `"ends with"`, tNot: `"!"`, tAll: `all()`, tGlobal: `global()`,
	tLParen: `"("`, tRParen: `")"`, tAnd: `"&&"`, tOr: `"||"`,
}

// describe names a token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of selector"
	case tLabel:
		return fmt.Sprintf("label %q", t.val)
	case tString:
		return fmt.Sprintf("string %q", t.val)
	case tHas:
		return fmt.Sprintf("has(%s)", t.val)
	}
	return tokNames[t.kind]
}

// tokenize splits expr into tokens ending with tEOF, following Calico's
// tokenizer.AppendTokens: the whole input is tokenized before parsing, and
// after a label the only words read are operators.
func tokenize(expr string) ([]token, error) {
	toks := make([]token, 0, 8)
	in := expr
	pos := func() int { return len(expr) - len(in) }
	fail := func(at int, format string, args ...any) ([]token, error) {
		return nil, &SyntaxError{Expr: expr, Offset: at, Msg: fmt.Sprintf(format, args...)}
	}
	for {
		in = trimWhitespace(in)
		at := pos()
		if in == "" {
			return append(toks, token{kind: tEOF, pos: at}), nil
		}
		afterLabel := len(toks) > 0 && toks[len(toks)-1].kind == tLabel
		simple := func(k tokKind, n int) {
			toks = append(toks, token{kind: k, pos: at})
			in = in[n:]
		}
		switch c := in[0]; c {
		case '(':
			simple(tLParen, 1)
		case ')':
			simple(tRParen, 1)
		case '{':
			simple(tLBrace, 1)
		case '}':
			simple(tRBrace, 1)
		case ',':
			simple(tComma, 1)
		case '"', '\'':
			// No escapes: a literal runs to the next matching quote.
			end := strings.IndexByte(in[1:], c)
			if end < 0 {
				return fail(at, "unterminated string")
			}
			toks = append(toks, token{kind: tString, val: in[1 : 1+end], pos: at})
			in = in[end+2:]
		case '=':
			if !strings.HasPrefix(in, "==") {
				return fail(at, `expected "==" (a single "=" is not an operator)`)
			}
			simple(tEq, 2)
		case '!':
			if strings.HasPrefix(in, "!=") {
				simple(tNe, 2)
			} else {
				simple(tNot, 1)
			}
		case '&':
			if !strings.HasPrefix(in, "&&") {
				return fail(at, `expected "&&"`)
			}
			simple(tAnd, 2)
		case '|':
			if !strings.HasPrefix(in, "||") {
				return fail(at, `expected "||"`)
			}
			simple(tOr, 2)
		default:
			if afterLabel {
				k, rest, ok := cutOperator(in)
				if !ok {
					return fail(at, "expected an operator after label %q", toks[len(toks)-1].val)
				}
				toks = append(toks, token{kind: k, pos: at})
				in = rest
				continue
			}
			if rest, ok := strings.CutPrefix(in, "has("); ok {
				// has( key ): spaces allowed inside the parentheses, not before "(".
				in = trimWhitespace(rest)
				key, rest, long := cutIdentifier(in)
				switch {
				case long:
					return fail(pos(), "%s", tooLong)
				case key == "":
					return fail(pos(), "expected a label key in has()")
				}
				in = trimWhitespace(rest)
				if !strings.HasPrefix(in, ")") {
					return fail(pos(), "expected \")\" after has(%s", key)
				}
				in = in[1:]
				toks = append(toks, token{kind: tHas, val: key, pos: at})
				continue
			}
			if k, rest, found, closed := cutCall(in); found {
				if !closed {
					return fail(len(expr)-len(rest), "expected \")\" after %s", callNames[k])
				}
				toks = append(toks, token{kind: k, pos: at})
				in = rest
				continue
			}
			key, rest, long := cutIdentifier(in)
			switch {
			case long:
				return fail(at, "%s", tooLong)
			case key == "":
				return fail(at, "%s", unexpected(in))
			}
			toks = append(toks, token{kind: tLabel, val: key, pos: at})
			in = rest
		}
	}
}

// callNames are the argument-less calls, as they open.
var callNames = map[tokKind]string{tAll: "all(", tGlobal: "global("}

// cutCall reads all() or global(), spaces allowed inside the parentheses; closed
// is false, and rest where ")" was expected, when the ")" is missing.
func cutCall(in string) (k tokKind, rest string, found, closed bool) {
	for _, k := range [...]tokKind{tAll, tGlobal} {
		if rest, found = strings.CutPrefix(in, callNames[k]); found {
			rest = trimWhitespace(rest)
			if !strings.HasPrefix(rest, ")") {
				return k, rest, true, false
			}
			return k, rest[1:], true, true
		}
	}
	return 0, in, false, false
}

// cutOperator reads the word operator that must follow a label, in
// AppendTokens' order: contains, starts with, ends with, not in, in.
func cutOperator(in string) (tokKind, string, bool) {
	if rest, ok := cutWords(in, "contains"); ok {
		return tContains, rest, true
	}
	if rest, ok := cutWords(in, "starts", "with"); ok {
		return tStartsWith, rest, true
	}
	if rest, ok := cutWords(in, "ends", "with"); ok {
		return tEndsWith, rest, true
	}
	if rest, ok := cutWords(in, "not", "in"); ok {
		return tNotIn, rest, true
	}
	if rest, ok := cutWords(in, "in"); ok {
		return tIn, rest, true
	}
	return 0, in, false
}

// cutWords reads words separated by optional spaces/tabs (so "notin" and
// "startswith" are accepted) and requires a word boundary after the last one,
// as Calico's cutPrefixCheckBreak and cutMultiWordPrefixCheckBreak do.
func cutWords(in string, words ...string) (string, bool) {
	rest := in
	for _, w := range words {
		var ok bool
		if rest, ok = strings.CutPrefix(rest, w); !ok {
			return in, false
		}
		if len(words) > 1 {
			// Calico's multi-word form trims after every word, the last included.
			rest = trimWhitespace(rest)
		}
	}
	if rest != "" && identChar(rest[0]) {
		return in, false
	}
	return rest, true
}

var tooLong = fmt.Sprintf("label key longer than %d bytes", MaxLabelLength)

// cutIdentifier reads a label key (Calico's cutIdentifier): key is "" when
// in starts with no key byte; long is set when the key is over MaxLabelLength.
func cutIdentifier(in string) (key, rest string, long bool) {
	i := 0
	for i < len(in) && identChar(in[i]) {
		i++
	}
	if i > MaxLabelLength {
		return "", in, true
	}
	return in[:i], in[i:], false
}

// unexpected names the character at the start of in.
func unexpected(in string) string {
	if r, n := utf8.DecodeRuneInString(in); r != utf8.RuneError || n > 1 {
		return fmt.Sprintf("unexpected character %q", r)
	}
	return fmt.Sprintf("unexpected byte 0x%02x", in[0])
}

// identChar is Calico's identifierChar: the bytes a label key may contain.
func identChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '/' || c == '-'
}

// trimWhitespace skips spaces and tabs only, as Calico's trimWhitespace does.
func trimWhitespace(in string) string {
	i := 0
	for i < len(in) && (in[i] == ' ' || in[i] == '\t') {
		i++
	}
	return in[i:]
}
