package admit

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/decode"
	"github.com/eksguard/eksguard/webhook/decision"
)

// Answerer answers one admission as data; a Handler is one, and the
// offline engine asks it directly.
type Answerer interface {
	admission.Handler
	Answer(ctx context.Context, req admission.Request) decision.Answer
}

// Handler is a rule's admission handler: its route's Spec, its decode
// target T and its Judge.
type Handler[T any] struct {
	Spec *Spec
	// What names the rule's decision in an undecided answer ("the seccomp profile").
	What string
	// Decode reads the fields the rule reads from a non-empty object.
	Decode func(gvk schema.GroupVersionKind, raw []byte) (*T, error)
	// Unchanged, when set, admits an UPDATE whose change the rule does not read.
	Unchanged func(old, obj *T) bool
	// Decider decides, per request, what the policy in force says.
	Decider decision.Decider
	Judge   func(ctx context.Context, r *Review[T]) decision.Answer
}

// Review is one admission as a rule's Judge sees it.
type Review[T any] struct {
	admission.Request
	// Snapshot holds the policy in force for this request, read once, and
	// decides under it.
	*decision.Snapshot
	// Object is the admitted object (nil on DELETE), in the request's
	// namespace; Old the stored one (nil on CREATE).
	Object, Old *T
	// ObjectName is the object's name, or its generateName.
	ObjectName string

	handler *Handler[T]
}

var _ Answerer = &Handler[struct{}]{}

// Handle implements admission.Handler.
func (h *Handler[T]) Handle(ctx context.Context, req admission.Request) admission.Response {
	return h.Answer(ctx, req).Response()
}

// Answer implements Answerer.
func (h *Handler[T]) Answer(ctx context.Context, req admission.Request) decision.Answer {
	gvk := schema.GroupVersionKind(req.Kind)
	kind, judged := h.Spec.serves(gvk, req.SubResource)
	if !kind {
		return decision.BadRequest(gvk.Kind, fmt.Errorf("%w %s: this webhook serves %s", decision.ErrUnsupportedKind, req.Kind, h.Spec.Serves()))
	}
	if !judged || !h.Spec.judges(string(req.Operation)) {
		return decision.Respond(ctx, gvk.Kind)
	}
	r := &Review[T]{Request: req, handler: h}
	var err error
	if req.Operation != admissionv1.Delete {
		if r.Object, err = h.decode(gvk, req.Object.Raw); err != nil {
			return decision.BadRequest(gvk.Kind, fmt.Errorf("decoding the %s: %w", gvk.Kind, err))
		}
		// The API server makes a namespaced object's namespace the
		// request's before admission (EnsureObjectNamespaceMatchesRequestNamespace
		// in k8s.io/apiserver pkg/registry/rest); a CREATE may omit it.
		if o, ok := any(r.Object).(named); ok {
			if req.Namespace != "" {
				o.SetNamespace(req.Namespace)
			}
			r.ObjectName = NameOf(o)
		}
	}
	if req.Operation == admissionv1.Update || req.Operation == admissionv1.Delete {
		if r.Old, err = h.decode(gvk, req.OldObject.Raw); err != nil {
			return decision.BadRequest(gvk.Kind, fmt.Errorf("decoding the old %s: %w", gvk.Kind, err))
		}
	}
	if req.Operation == admissionv1.Update && h.Unchanged != nil && h.Unchanged(r.Old, r.Object) {
		return decision.Respond(ctx, gvk.Kind)
	}
	r.Snapshot = h.Decider.Snapshot()
	return h.Judge(ctx, r)
}

func (h *Handler[T]) decode(gvk schema.GroupVersionKind, raw []byte) (*T, error) {
	if decode.NoObject(raw) {
		return nil, decode.ErrNoObject
	}
	return h.Decode(gvk, raw)
}

// Respond records the rulings and composes the answer.
func (r *Review[T]) Respond(ctx context.Context, rulings ...decision.Ruling) decision.Answer {
	return decision.Respond(ctx, r.Kind.Kind, rulings...)
}

// Undecided answers when the rule cannot decide (decision.Undecided): it
// fails closed only if the route may deny, or, when decisions are given,
// if one of them enforces.
func (r *Review[T]) Undecided(ctx context.Context, err error, decided ...config.Decision) decision.Answer {
	var modes []config.Mode
	switch {
	case len(decided) > 0:
		for _, d := range decided {
			modes = append(modes, d.Mode)
		}
	case r.handler.Spec.Modes != nil:
		modes = r.handler.Spec.Modes(r.Policy.Config.Rules)
	}
	return decision.Undecided(ctx, r.Policy, r.Kind.Kind, r.handler.Spec.Rule, r.handler.What, err, modes...)
}
