package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxDocumentValues bounds the values one document may expand to, so that
// anchors and aliases cannot blow a small ConfigMap up into a huge config.
const maxDocumentValues = 20000

// maxDocumentErrors bounds the errors reported for one document; they end
// up in an Event, whose note is at most 1 kB.
const maxDocumentErrors = 10

// DocumentError is one problem in a policy document.
type DocumentError struct {
	// Line is the 1-based line of the offending value; 0 when unknown
	// (a problem in a value the document left at its default).
	Line int
	// Field is the field path (exemptions[0].rules); empty for the document itself.
	Field   string
	Message string
}

func (e *DocumentError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// DocumentErrors are all the problems found in a policy document, in
// document order.
type DocumentErrors []*DocumentError

func (errs DocumentErrors) Error() string {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Parse reads a policy document strictly: it starts from Defaults and
// overlays the document. Fields the document leaves out (or sets to null)
// keep their defaults; lists and selectors in the document replace the
// default ones whole. apiVersion and kind are required. Unknown fields,
// duplicate fields and values of the wrong type are errors naming the line
// and the field path. Parse does not Validate.
func Parse(data []byte) (Config, error) {
	cfg, _, err := parse(data)
	return cfg, err
}

// Load parses, validates and compiles a policy document. Its errors are
// DocumentErrors; validation errors carry the line of the offending field.
func Load(data []byte, ownNamespace string) (*Policy, error) {
	cfg, lines, err := parse(data)
	if err != nil {
		return nil, err
	}
	if errs := Validate(&cfg); len(errs) > 0 {
		return nil, withLines(errs, lines)
	}
	return Compile(cfg, ownNamespace)
}

// fieldLines maps field paths (as field.Path renders them) to the line on
// which the document sets them.
type fieldLines map[string]int

// lineOf returns the line of path or of its nearest ancestor the document sets.
func (l fieldLines) lineOf(path string) int {
	for path != "" {
		if line, ok := l[path]; ok {
			return line
		}
		path = path[:max(strings.LastIndexAny(path, ".["), 0)]
	}
	return 0
}

func withLines(errs field.ErrorList, lines fieldLines) DocumentErrors {
	out := make(DocumentErrors, len(errs))
	for i, e := range errs {
		out[i] = &DocumentError{Line: lines.lineOf(e.Field), Field: e.Field, Message: e.ErrorBody()}
	}
	// Document order; problems in values the document does not set come last.
	slices.SortStableFunc(out, func(a, b *DocumentError) int {
		return cmp.Compare(sortLine(a.Line), sortLine(b.Line))
	})
	return out
}

func sortLine(line int) int {
	if line == 0 {
		return math.MaxInt
	}
	return line
}

func parse(data []byte) (Config, fieldLines, error) {
	root, err := readSingleDocument(data)
	if err != nil {
		return Config{}, nil, err
	}
	cfg := Defaults()
	// The document must name its schema itself.
	cfg.APIVersion, cfg.Kind = "", ""
	d := &decoder{lines: fieldLines{}}
	d.decode(root, nil, reflect.ValueOf(&cfg).Elem())

	versionErrs := DocumentErrors{
		d.checkIdentity(root, "apiVersion", cfg.APIVersion, APIVersion),
		d.checkIdentity(root, "kind", cfg.Kind, Kind),
	}
	// A document of another version has another schema: its field errors
	// would only be noise.
	if versionErrs[0] != nil {
		return Config{}, nil, compact(versionErrs)
	}
	if errs := compact(append(d.problems(), versionErrs[1])); len(errs) > 0 {
		return Config{}, nil, errs
	}
	return cfg, d.lines, nil
}

func compact(errs DocumentErrors) DocumentErrors {
	var out DocumentErrors
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

func (d *decoder) checkIdentity(root *yaml.Node, name, got, want string) *DocumentError {
	switch got {
	case want:
		return nil
	case "":
		return &DocumentError{Line: root.Line, Field: name, Message: fmt.Sprintf("required field missing, set it to %q", want)}
	default:
		return &DocumentError{Line: d.lines[name], Field: name, Message: fmt.Sprintf("unsupported value %q, this eksguard reads %q", got, want)}
	}
}

// readSingleDocument returns the root node of the only YAML document in data.
func readSingleDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	empty := DocumentErrors{{Line: 1, Message: "empty document, expected a mapping with apiVersion and kind"}}
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, empty
		}
		return nil, syntaxError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(err)
	default:
		return nil, DocumentErrors{{Line: next.Line, Message: "only one YAML document is allowed"}}
	}
	root := doc.Content[0]
	if root.ShortTag() == "!!null" {
		return nil, empty
	}
	if root.Kind != yaml.MappingNode {
		return nil, DocumentErrors{{Line: root.Line, Message: "expected a mapping with apiVersion and kind, got " + describe(root)}}
	}
	return root, nil
}

// syntaxError turns "yaml: line 3: did not find expected key" into a
// DocumentError reading "line 3: did not find expected key".
func syntaxError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if n, _ := fmt.Sscanf(msg, "line %d: ", &line); n == 1 {
		msg = msg[strings.Index(msg, ": ")+2:]
	}
	return DocumentErrors{{Line: line, Message: "invalid YAML: " + msg}}
}

// decoder overlays YAML nodes onto Go values, using the json tags of the
// config types as field names. It records every problem instead of
// stopping at the first one.
type decoder struct {
	errs    DocumentErrors
	dropped int
	lines   fieldLines
	values  int
}

func (d *decoder) fail(n *yaml.Node, path *field.Path, format string, args ...any) {
	if len(d.errs) == maxDocumentErrors {
		d.dropped++
		return
	}
	d.errs = append(d.errs, &DocumentError{Line: n.Line, Field: pathString(path), Message: fmt.Sprintf(format, args...)})
}

// problems are the errors found, plus notes on what stopped the search.
func (d *decoder) problems() DocumentErrors {
	errs := d.errs
	if d.dropped > 0 {
		errs = append(errs, &DocumentError{Message: fmt.Sprintf("and %d more errors", d.dropped)})
	}
	if d.values > maxDocumentValues {
		errs = append(errs, &DocumentError{Message: fmt.Sprintf("document too large: more than %d values (check anchors and aliases)", maxDocumentValues)})
	}
	return errs
}

func pathString(path *field.Path) string {
	if path == nil {
		return ""
	}
	return path.String()
}

// decode overlays n onto v (addressable). A null node leaves v as it is.
func (d *decoder) decode(n *yaml.Node, path *field.Path, v reflect.Value) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if d.values++; d.values > maxDocumentValues {
		return
	}
	if path != nil {
		d.lines[path.String()] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Pointer:
		fresh := reflect.New(v.Type().Elem())
		d.decode(n, path, fresh.Elem())
		v.Set(fresh)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "expected a list, got %s", describe(n))
			return
		}
		list := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, path.Index(i), list.Index(i))
		}
		v.Set(list)
	case reflect.Map:
		d.decodeMap(n, path, v)
	case reflect.String:
		// Unquoted dates (expires: 2026-12-31) resolve to !!timestamp; their text is what we keep.
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp") {
			d.fail(n, path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, path, "expected a boolean, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.fail(n, path, "expected an integer, got %s", describe(n))
			return
		}
		v.SetInt(i)
	default:
		d.fail(n, path, "field of type %s cannot be configured", v.Type())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, path *field.Path, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	d.eachKey(n, path, "a field name", func(key string, keyNode, value *yaml.Node) {
		i, ok := fields[key]
		if !ok {
			d.fail(keyNode, path, "unknown field %q%s", key, suggestion(key, fields))
			return
		}
		d.decode(value, path.Child(key), v.Field(i))
	})
}

func (d *decoder) decodeMap(n *yaml.Node, path *field.Path, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	d.eachKey(n, path, "a string key", func(key string, _, value *yaml.Node) {
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(value, path.Key(key), elem)
		m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), elem)
	})
	v.Set(m)
}

// eachKey calls fn for every key of mapping n, rejecting keys that are not
// strings and keys given twice.
func (d *decoder) eachKey(n *yaml.Node, path *field.Path, expected string, fn func(key string, keyNode, value *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		keyNode, value := n.Content[i], n.Content[i+1]
		if keyNode.Kind != yaml.ScalarNode || keyNode.ShortTag() != "!!str" {
			d.fail(keyNode, path, "expected %s, got %s", expected, describe(keyNode))
			continue
		}
		key := keyNode.Value
		if first, dup := seen[key]; dup {
			d.fail(keyNode, path, "field %q given twice (first on line %d)", key, first)
			continue
		}
		seen[key] = keyNode.Line
		fn(key, keyNode, value)
	}
}

// fieldsOf maps the json names of t's fields to their indexes.
func fieldsOf(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = i
	}
	return fields
}

// suggestion names the known field closest to an unknown one, if any is close.
func suggestion(unknown string, fields map[string]int) string {
	best, bestDistance := "", 3
	for name := range fields {
		dist := editDistance(strings.ToLower(unknown), strings.ToLower(name))
		if dist < bestDistance || (dist == bestDistance && name < best) {
			best, bestDistance = name, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(", did you mean %q?", best)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names what a node holds, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("%q", n.Value)
		}
		return n.Value
	default:
		return "an unsupported YAML node"
	}
}
