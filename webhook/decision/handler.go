package decision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	sigsjson "sigs.k8s.io/json"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/jsonscan"
)

// Handler is the one shape of every eksguard admission handler: it checks
// the kind, lets operations it does not judge pass, decodes the object (and
// on UPDATE and DELETE the old one) as the API server does, admits UPDATEs
// that change nothing the rule reads, and hands the rest, under one policy
// snapshot, to the rule's Judge. A rule package is its decode target T and
// its Judge, which answers through Respond or Undecided.
type Handler[T any] struct {
	// Serves names the served kinds in errors ("v1 Pods").
	Serves string
	Kinds  []schema.GroupVersionKind
	// Operations are judged; any other is admitted silently.
	Operations []admissionv1.Operation
	// Decode, when set, replaces DecodeObject (for kinds decoded by GVK).
	Decode func(gvk schema.GroupVersionKind, raw []byte) (*T, error)
	// Unchanged, when set, admits an UPDATE whose change the rule does not read.
	Unchanged func(old, obj *T) bool
	// Decider decides, per request, what the policy in force says.
	Decider Decider
	Judge   func(ctx context.Context, r Review[T]) admission.Response
}

// Review is one admission as a rule's Judge sees it.
type Review[T any] struct {
	admission.Request
	// Policy is the policy in force for this request, read once; Decider
	// decides under it.
	Policy  *config.Policy
	Decider Decider
	// Object is the admitted object (nil on DELETE); Old the stored one
	// (nil on CREATE).
	Object, Old *T
}

var _ admission.Handler = &Handler[struct{}]{}

// Handle implements admission.Handler.
func (h *Handler[T]) Handle(ctx context.Context, req admission.Request) admission.Response {
	gvk := schema.GroupVersionKind(req.Kind)
	if !slices.Contains(h.Kinds, gvk) {
		return BadRequest(fmt.Errorf("%w %s: this webhook serves %s", ErrUnsupportedKind, req.Kind, h.Serves))
	}
	if !slices.Contains(h.Operations, req.Operation) {
		return Respond(ctx, gvk.Kind)
	}
	r := Review[T]{Request: req, Decider: h.Decider}
	var err error
	if req.Operation != admissionv1.Delete {
		if r.Object, err = h.decode(gvk, req.Object.Raw); err != nil {
			return BadRequest(fmt.Errorf("decoding the %s: %w", gvk.Kind, err))
		}
	}
	if req.Operation == admissionv1.Update || req.Operation == admissionv1.Delete {
		if r.Old, err = h.decode(gvk, req.OldObject.Raw); err != nil {
			return BadRequest(fmt.Errorf("decoding the old %s: %w", gvk.Kind, err))
		}
	}
	if req.Operation == admissionv1.Update && h.Unchanged != nil && h.Unchanged(r.Old, r.Object) {
		return Respond(ctx, gvk.Kind)
	}
	r.Policy = h.Decider.Source.Current()
	return h.Judge(ctx, r)
}

func (h *Handler[T]) decode(gvk schema.GroupVersionKind, raw []byte) (*T, error) {
	if h.Decode != nil {
		return h.Decode(gvk, raw)
	}
	return DecodeObject[T](raw)
}

// fieldsAPI decodes purpose-built field structs: case-sensitively, as the
// API server reads field names, and in one pass (encoding/json validates
// the whole input before decoding it, which a request's object, part of
// the AdmissionReview controller-runtime has already parsed, need not be).
var fieldsAPI = jsoniter.Config{CaseSensitive: true}.Froze()

// DecodeFields decodes the fields T names from an admitted object, for the
// purpose-built structs handlers read instead of whole API objects (each
// with a differential test against the whole object): field names are
// case-sensitive, and an empty or null object is an error.
func DecodeFields[T any](raw []byte) (*T, error) {
	if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, errNoObject
	}
	var obj T
	valid := utf8.Valid(raw)
	// The projection onto T's fields first: what json-iterator would skip
	// slowly is skipped fast, and anything jsonscan cannot vouch for takes
	// the full decode below.
	if valid {
		buf := projectionBuffers.Get().(*[]byte)
		projected, ok := jsonscan.ProjectionOf(reflect.TypeFor[T]()).Project((*buf)[:0], raw)
		decoded := ok && fieldsAPI.Unmarshal(projected, &obj) == nil
		if cap(projected) <= maxPooledProjection {
			*buf = projected
			projectionBuffers.Put(buf)
		}
		if decoded {
			return &obj, nil
		}
		obj = *new(T)
	}
	// Invalid UTF-8 (which the API server never sends) is read as
	// encoding/json reads it, with U+FFFD; so is the rare bad object, to get
	// encoding/json's verdict and message, which name the field without
	// quoting the input.
	if !valid || fieldsAPI.Unmarshal(raw, &obj) != nil {
		obj = *new(T)
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &obj); err != nil {
			return nil, err
		}
	}
	return &obj, nil
}

// projectionBuffers hold DecodeFields' projections, which json-iterator
// copies from (strings, raw values) and does not keep.
var projectionBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxPooledProjection keeps a huge object's projection out of the pool.
const maxPooledProjection = 64 << 10

// errNoObject is the decode error of an empty or null object.
var errNoObject = errors.New("the request has no object")

// DecodeObject decodes an admitted object as the API server does: field
// names are case-sensitive, and an empty or null object is an error.
func DecodeObject[T any](raw []byte) (*T, error) {
	if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, errNoObject
	}
	var obj T
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &obj); err != nil {
		return nil, err
	}
	return &obj, nil
}
