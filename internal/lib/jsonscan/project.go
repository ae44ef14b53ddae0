package jsonscan

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// A Projection is the shape of the JSON a Go type decodes: the keys of its
// struct fields, recursively, through pointers and slices. Project keeps
// only those parts of a document, so that a decoder reading the result
// into the type gets what it would get from the whole document, without
// skipping the rest itself.
type Projection struct{ root *node }

// node is one value's shape: a leaf is copied whole; an object keeps its
// fields' keys; an array projects each element.
type node struct {
	fields []field // object
	elem   *node   // array
}

type field struct {
	key  string
	node *node
}

var leaf = &node{}

var projections sync.Map // reflect.Type -> *Projection

// ProjectionOf is the projection of type t, compiled once per type.
func ProjectionOf(t reflect.Type) *Projection {
	if p, ok := projections.Load(t); ok {
		return p.(*Projection)
	}
	p := &Projection{root: compile(t, map[reflect.Type]bool{})}
	projections.Store(t, p)
	return p
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// compile follows encoding/json's field rules for the common cases: the
// tag's name or else the Go name, "-" dropped, unexported fields dropped,
// untagged embedded structs flattened. A type it does not model exactly
// (custom unmarshalers, interfaces, maps, two fields of one name, a
// recursive type) is a leaf: copied whole, which is always right.
func compile(t reflect.Type, inProgress map[reflect.Type]bool) *node {
	if t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return leaf
	}
	switch t.Kind() {
	case reflect.Pointer:
		return compile(t.Elem(), inProgress)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return leaf // base64 strings
		}
		if elem := compile(t.Elem(), inProgress); elem != leaf {
			return &node{elem: elem}
		}
		return leaf
	case reflect.Struct:
		if inProgress[t] {
			return leaf
		}
		inProgress[t] = true
		defer delete(inProgress, t)
		fields, ok := structFields(t, inProgress)
		if !ok {
			return leaf
		}
		return &node{fields: fields}
	}
	return leaf
}

func structFields(t reflect.Type, inProgress map[reflect.Type]bool) ([]field, bool) {
	var fields []field
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() != reflect.Struct {
				if !f.IsExported() {
					continue
				}
			} else {
				// Promoted fields: flattened, unless they are decoded some
				// other way or their names are not simple.
				if compile(ft, inProgress) == leaf {
					return nil, false
				}
				inner, ok := structFields(ft, inProgress)
				if !ok {
					return nil, false
				}
				fields = append(fields, inner...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields = append(fields, field{key: name, node: compile(f.Type, inProgress)})
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if seen[f.key] {
			return nil, false // encoding/json's dominance rules are not modelled
		}
		seen[f.key] = true
	}
	return fields, len(fields) <= 64
}

// Project appends to dst the parts of data (one JSON value, with only
// whitespace around it) that p decodes, and reports false when it cannot
// say (see the package comment); then dst is to be discarded.
func (p *Projection) Project(dst, data []byte) ([]byte, bool) {
	start := skipSpace(data, 0)
	dst, end := project(dst, data, start, p.root)
	if end < 0 || skipSpace(data, end) != len(data) {
		return dst, false
	}
	return dst, true
}

// project appends the projection of the value at data[i] onto n, and
// returns the value's end, or -1.
func project(dst, data []byte, i int, n *node) ([]byte, int) {
	if i >= len(data) {
		return dst, -1
	}
	switch {
	case n.fields != nil && data[i] == '{':
		dst = append(dst, '{')
		var seen uint64
		first := true
		end := scanObject(data, i, func(key []byte, start int) int {
			for k := range n.fields {
				f := &n.fields[k]
				if string(key) != f.key {
					continue
				}
				if seen&(1<<k) != 0 {
					return -1 // a key twice: decoders merge, this does not
				}
				seen |= 1 << k
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = append(dst, '"')
				dst = append(dst, key...)
				dst = append(dst, '"', ':')
				var end int
				dst, end = project(dst, data, start, f.node)
				return end
			}
			return skipValue(data, start)
		})
		return append(dst, '}'), end
	case n.elem != nil && data[i] == '[':
		dst = append(dst, '[')
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == ']' {
			return append(dst, ']'), i + 1
		}
		for {
			var end int
			if dst, end = project(dst, data, i, n.elem); end < 0 {
				return dst, -1
			}
			i = skipSpace(data, end)
			if i >= len(data) {
				return dst, -1
			}
			switch data[i] {
			case ',':
				dst = append(dst, ',')
				i = skipSpace(data, i+1)
			case ']':
				return append(dst, ']'), i + 1
			default:
				return dst, -1
			}
		}
	}
	// A leaf, or a value of another type than the Go field's (null, or
	// one the decoder will refuse): copied whole.
	end := skipValue(data, i)
	if end < 0 {
		return dst, -1
	}
	return append(dst, data[i:end]...), end
}
