package decode

import (
	"bytes"
	"errors"
	"reflect"
	"sync"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
	sigsjson "sigs.k8s.io/json"

	"github.com/eksguard/eksguard/internal/lib/jsonscan"
)

// API decodes case-sensitively, as the API server reads field names, and in
// one pass (encoding/json validates the whole input before decoding it,
// which input already validated, such as an object inside an
// AdmissionReview, need not be).
var API = jsoniter.Config{CaseSensitive: true}.Froze()

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
	valid := utf8.Valid(raw)
	// The projection onto t's fields first: what json-iterator would skip
	// slowly is skipped fast, and anything jsonscan cannot vouch for takes
	// the full decode below.
	if valid {
		buf := projectionBuffers.Get().(*[]byte)
		projected, ok := jsonscan.ProjectionOf(t).Project((*buf)[:0], raw)
		decoded := ok && API.Unmarshal(projected, obj) == nil
		if cap(projected) <= maxPooledProjection {
			*buf = projected
			projectionBuffers.Put(buf)
		}
		if decoded {
			return nil
		}
		reset(obj)
	}
	// Invalid UTF-8 (which the API server never sends) is read as
	// encoding/json reads it, with U+FFFD; so is the rare bad object, to get
	// encoding/json's verdict and message, which name the field without
	// quoting the input.
	if !valid || API.Unmarshal(raw, obj) != nil {
		reset(obj)
		return sigsjson.UnmarshalCaseSensitivePreserveInts(raw, obj)
	}
	return nil
}

// reset zeroes what obj points to, undoing a partial decode.
func reset(obj any) {
	v := reflect.ValueOf(obj).Elem()
	v.SetZero()
}

// projectionBuffers hold Fields' projections, which json-iterator copies
// from (strings, raw values) and does not keep.
var projectionBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxPooledProjection keeps a huge object's projection out of the pool.
const maxPooledProjection = 64 << 10
