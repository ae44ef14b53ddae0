package lbtls

import (
	"context"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/webhook/decision"

	"maps"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	kindService = "Service"
	kindIngress = "Ingress"
	// ruleWhat names the rule's decision when it cannot be made.
	ruleWhat = "load-balancer TLS"
)

// newHandler is the shape of both handlers: CREATE and UPDATE of kind,
// decoded by decode (the fields the rule reads), and an UPDATE that
// unchanged (over the parts fields returns) lets pass.
func newHandler[T any](kind schema.GroupVersionKind, serves string, decider decision.Decider,
	decode func(schema.GroupVersionKind, []byte) (*T, error),
	fields func(*T) (*metav1.ObjectMeta, any), judge func(context.Context, decision.Review[T]) admission.Response) admission.Handler {
	return &decision.Handler[T]{
		Serves:     serves,
		Kinds:      []schema.GroupVersionKind{kind},
		Operations: []admissionv1.Operation{admissionv1.Create, admissionv1.Update},
		Decode:     decode,
		Unchanged: func(old, obj *T) bool {
			oldMeta, oldSpec := fields(old)
			meta, spec := fields(obj)
			return unchanged(oldMeta, meta, oldSpec, spec)
		},
		Decider: decider,
		Judge:   judge,
	}
}

// unchanged reports an update that the rule need not judge: the object is
// being deleted, or neither its annotations nor its spec changed (a
// controller adding or removing its finalizer, a relabel). Denying those
// would stop the LBC from finalizing the load balancers of objects that
// predate eksguard.
func unchanged(oldMeta, newMeta *metav1.ObjectMeta, oldSpec, newSpec any) bool {
	return newMeta.DeletionTimestamp != nil ||
		(maps.Equal(oldMeta.Annotations, newMeta.Annotations) && equality.Semantic.DeepEqual(oldSpec, newSpec))
}
