package calicoselector

import (
	"errors"
	"fmt"
	"slices"
)

// MaxNesting is how deep Parse lets parentheses nest. Calico's parser has no
// limit, but its CRDs cap every selector field at 1024 bytes, which cannot
// nest deeper than 509; anything deeper is refused with ErrTooDeep rather
// than recursed into.
const MaxNesting = 512

// ErrTooDeep is wrapped by the error for a selector nested deeper than
// MaxNesting: one Calico itself would accept.
var ErrTooDeep = errors.New("parentheses nested too deep")

// SyntaxError is Parse's error: what is wrong and the byte offset where.
type SyntaxError struct {
	Expr   string
	Offset int
	Msg    string
	err    error
}

func (e *SyntaxError) Error() string {
	expr := e.Expr
	if len(expr) > 200 {
		expr = expr[:200] + "..."
	}
	return fmt.Sprintf("calico selector %q: %s at offset %d", expr, e.Msg, e.Offset)
}

// Unwrap returns ErrTooDeep when that is the cause.
func (e *SyntaxError) Unwrap() error { return e.err }

// Parse parses expr as Calico does; "" (or only spaces and tabs) is all(). A
// selector Calico's parser rejects is a *SyntaxError saying what is wrong and where.
func Parse(expr string) (*Selector, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return nil, err
	}
	root := &node{op: opAll}
	if toks[0].kind != tEOF {
		p := &parser{expr: expr, toks: toks}
		if root, err = p.or(); err != nil {
			return nil, err
		}
		// parseRoot: the whole input must be one expression.
		if t := p.peek(); t.kind != tEOF {
			return nil, p.fail(t.pos, "unexpected %s after a complete expression", t.describe())
		}
	}
	return newSelector(root), nil
}

// parser is a recursive descent over the tokens, shaped like Calico's
// parseOrExpression / parseAndExpression / parseOperation.
type parser struct {
	expr  string
	toks  []token
	i     int
	depth int
}

// peek returns the next token; past the end it keeps returning tEOF.
func (p *parser) peek() token { return p.toks[min(p.i, len(p.toks)-1)] }

func (p *parser) next() token {
	t := p.peek()
	p.i++
	return t
}

func (p *parser) fail(at int, format string, args ...any) error {
	return &SyntaxError{Expr: p.expr, Offset: at, Msg: fmt.Sprintf(format, args...)}
}

// or parses and-terms separated by "||" (parseOrExpression); one term is returned as is.
func (p *parser) or() (*node, error) {
	return p.chain(tOr, opOr, p.and)
}

// and parses operations separated by "&&" (parseAndExpression).
func (p *parser) and() (*node, error) {
	return p.chain(tAnd, opAnd, p.operation)
}

func (p *parser) chain(sep tokKind, op opKind, operand func() (*node, error)) (*node, error) {
	first, err := operand()
	if err != nil || p.peek().kind != sep {
		return first, err
	}
	n := &node{op: op, kids: []*node{first}}
	for p.peek().kind == sep {
		p.i++
		kid, err := operand()
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, kid)
	}
	return n, nil
}

// operation parses one possibly negated operation or parenthesised group (parseOperation).
func (p *parser) operation() (*node, error) {
	// Leading "!"s collapse to one boolean, as in parseOperation.
	negated := false
	for p.peek().kind == tNot {
		negated = !negated
		p.i++
	}
	var n *node
	switch t := p.next(); t.kind {
	case tHas:
		n = &node{op: opHas, key: t.val}
	case tAll:
		n = &node{op: opAll}
	case tGlobal:
		n = &node{op: opGlobal}
	case tLabel:
		var err error
		if n, err = p.labelOperation(t); err != nil {
			return nil, err
		}
	case tLParen:
		if p.depth++; p.depth > MaxNesting {
			return nil, &SyntaxError{Expr: p.expr, Offset: t.pos, err: ErrTooDeep,
				Msg: fmt.Sprintf("parentheses nested deeper than %d", MaxNesting)}
		}
		var err error
		if n, err = p.or(); err != nil {
			return nil, err
		}
		if r := p.next(); r.kind != tRParen {
			return nil, p.fail(r.pos, `expected ")" to close the "(" at offset %d, found %s`, t.pos, r.describe())
		}
		p.depth--
	default:
		return nil, p.fail(t.pos, "expected a label, has(), all(), global(), \"!\" or \"(\", found %s", t.describe())
	}
	if negated {
		// !(!x) is x: collapsing it here keeps String a fixed point (Calico
		// prints Not(Not(x)) as "!!x", which it then reads back as x).
		if n.op == opNot {
			return n.kids[0], nil
		}
		n = &node{op: opNot, kids: []*node{n}}
	}
	return n, nil
}

// labelOperation parses the operator and operand after label (parseOperation's TokLabel case).
func (p *parser) labelOperation(label token) (*node, error) {
	opTok := p.next()
	var op opKind
	switch opTok.kind {
	case tEq:
		op = opEq
	case tNe:
		op = opNe
	case tContains:
		op = opContains
	case tStartsWith:
		op = opStartsWith
	case tEndsWith:
		op = opEndsWith
	case tIn, tNotIn:
		return p.set(label, opTok)
	default:
		return nil, p.fail(opTok.pos, "expected an operator after label %q, found %s", label.val, opTok.describe())
	}
	v := p.next()
	if v.kind != tString {
		return nil, p.fail(v.pos, "expected a string after %s, found %s", opTok.describe(), v.describe())
	}
	return &node{op: op, key: label.val, value: v.val}, nil
}

// set parses {"a", "b", ...} after in / not in. Calico allows an empty set and
// a trailing comma; the values are kept sorted and unique (ConvertToStringSetInPlace).
func (p *parser) set(label, opTok token) (*node, error) {
	if t := p.next(); t.kind != tLBrace {
		return nil, p.fail(t.pos, "expected a set literal {...} after %s, found %s", opTok.describe(), t.describe())
	}
	var values []string
	afterValue := false // the loop stopped after a value, not after a comma
	for p.peek().kind == tString {
		values = append(values, p.next().val)
		if afterValue = p.peek().kind != tComma; afterValue {
			break
		}
		p.i++
	}
	if t := p.next(); t.kind != tRBrace {
		if afterValue {
			return nil, p.fail(t.pos, `expected "," or "}" in set, found %s`, t.describe())
		}
		return nil, p.fail(t.pos, `expected a string or "}" in set, found %s`, t.describe())
	}
	slices.Sort(values)
	n := &node{op: opIn, key: label.val, set: slices.Compact(values)}
	if opTok.kind == tNotIn {
		n.op = opNotIn
	}
	return n, nil
}
