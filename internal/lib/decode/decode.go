package decode

import (
	"bytes"
	"errors"
	"reflect"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	sigsjson "sigs.k8s.io/json"

	"github.com/eksguard/eksguard/internal/lib/jsonscan"
)

// Unmarshal is the fast decoder, for what the API server writes:
// encoding/json/v2's (the go-json-experiment module), which decodes in one
// pass where encoding/json validates all of its input first. Field names
// are case-sensitive, as the API server reads them, and unknown ones are
// skipped. It fails on a name given twice, which v2 reads otherwise than
// sigs.k8s.io/json (a null after a value zeroes it; a map entry given
// twice is merged, not replaced), and on invalid UTF-8: the API server
// writes neither, and on any error callers take sigs.k8s.io/json. It also
// refuses a type that can hold an interface value outside a type with its
// own UnmarshalJSON, since v2 reads a number there as float64 where
// sigs.k8s.io/json reads int64.
func Unmarshal(data []byte, v any) error {
	if !interfaceFree(reflect.TypeOf(v)) {
		return errHoldsInterfaces
	}
	return jsonv2.Unmarshal(data, v, options)
}

// errHoldsInterfaces is Unmarshal's refusal of a type with interface fields.
var errHoldsInterfaces = errors.New("decode.Unmarshal: the type can hold interface values, which sigs.k8s.io/json reads")

// interfaceFree reports, once per type, whether t reaches no interface
// value that its own JSON decoding would fill: those behind a type with an
// UnmarshalJSON method (RawExtension, Time, Quantity) are that method's.
func interfaceFree(t reflect.Type) bool {
	if free, ok := interfaceFreeTypes.Load(t); ok {
		return free.(bool)
	}
	free := walkInterfaceFree(t, map[reflect.Type]bool{})
	interfaceFreeTypes.Store(t, free)
	return free
}

var (
	interfaceFreeTypes sync.Map // reflect.Type -> bool
	unmarshalerV1      = reflect.TypeFor[interface{ UnmarshalJSON([]byte) error }]()
)

func walkInterfaceFree(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == nil || seen[t] {
		return t != nil
	}
	seen[t] = true
	if t.Implements(unmarshalerV1) || reflect.PointerTo(t).Implements(unmarshalerV1) {
		return true
	}
	switch t.Kind() {
	case reflect.Interface:
		return false
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return walkInterfaceFree(t.Elem(), seen)
	case reflect.Map:
		return walkInterfaceFree(t.Key(), seen) && walkInterfaceFree(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if (f.IsExported() || f.Anonymous) && f.Tag.Get("json") != "-" && !walkInterfaceFree(f.Type, seen) {
				return false
			}
		}
	}
	return true
}

// options pin the v2 defaults Unmarshal relies on.
var options = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(false),
	jsonv2.RejectUnknownMembers(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// ErrNoObject is the decode error of an empty or null object.
var ErrNoObject = errors.New("the request has no object")

// NoObject reports an empty or null object: what the API server sends as
// the object of a DELETE, and what no handler can judge.
func NoObject(raw []byte) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null"))
}

// Fields decodes the fields T names from an admitted object, for the
// purpose-built structs handlers read instead of whole API objects (each
// with a differential test against the whole object): field names are
// case-sensitive, and an empty or null object is ErrNoObject.
func Fields[T any](raw []byte) (*T, error) {
	obj := new(T)
	if err := fieldsInto(raw, reflect.TypeFor[T](), obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// FieldsOf is Fields for a type known only at run time (one built with
// reflect.StructOf): it returns a pointer to a new value of t.
func FieldsOf(t reflect.Type, raw []byte) (reflect.Value, error) {
	obj := reflect.New(t)
	if err := fieldsInto(raw, t, obj.Interface()); err != nil {
		return reflect.Value{}, err
	}
	return obj, nil
}

// fieldsInto decodes raw into obj, a pointer to a zero value of t.
func fieldsInto(raw []byte, t reflect.Type, obj any) error {
	if NoObject(raw) {
		return ErrNoObject
	}
	// The projection onto t's fields first: a handler reads a few fields of
	// a large object, which jsonscan skips faster than a decoder; anything
	// jsonscan cannot vouch for takes the whole object.
	buf := projectionBuffers.Get().(*[]byte)
	projected, ok := jsonscan.ProjectionOf(t).Project((*buf)[:0], raw)
	decoded := ok && Unmarshal(projected, obj) == nil
	if cap(projected) <= maxPooledProjection {
		*buf = projected
		projectionBuffers.Put(buf)
	}
	if decoded {
		return nil
	}
	reset(obj)
	// The whole object, by Unmarshal if only jsonscan gave up (Unmarshal
	// refuses a projection only if it would refuse the whole object). What
	// Unmarshal refuses (a bad object, a name given twice, invalid UTF-8) is
	// read by sigs.k8s.io/json, the API server's decoder, whose verdict and
	// message (naming the field without quoting the input) are the answer.
	if !ok {
		if Unmarshal(raw, obj) == nil {
			return nil
		}
		reset(obj)
	}
	return sigsjson.UnmarshalCaseSensitivePreserveInts(raw, obj)
}

// reset zeroes what obj points to, undoing a partial decode.
func reset(obj any) {
	v := reflect.ValueOf(obj).Elem()
	v.SetZero()
}

// projectionBuffers hold Fields' projections, which the decoders copy from
// (strings, raw values) and do not keep.
var projectionBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxPooledProjection keeps a huge object's projection out of the pool.
const maxPooledProjection = 64 << 10
