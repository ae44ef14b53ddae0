package lbtls

import (
	"context"
	"maps"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/resource"
)

// what names the rule's decision in an undecided answer.
const what = "load-balancer TLS"

// modes are the rule's one finding mode.
func modes(s config.RuleSettings) []config.Mode { return []config.Mode{s.LoadBalancerTLS.Mode} }

// Services and Ingresses are what the two handlers judge.
var (
	Services = &admit.Spec{Rule: config.RuleLoadBalancerTLS, Kinds: []resource.Kind{resource.Service, resource.ServiceStatus},
		Operations: resource.CreateUpdate, Modes: modes}
	Ingresses = &admit.Spec{Rule: config.RuleLoadBalancerTLS, Kinds: []resource.Kind{resource.Ingress, resource.IngressStatus},
		Operations: resource.CreateUpdate, Modes: modes}
)

// newHandler is the shape of both handlers: the route's kinds, decoded by
// decode (the fields the rule reads), and an UPDATE that unchanged (over
// the parts fields returns) lets pass.
func newHandler[T any](spec *admit.Spec, decider decision.Decider,
	decode func(schema.GroupVersionKind, []byte) (*T, error),
	fields func(*T) (*metav1.ObjectMeta, any), judge func(context.Context, *admit.Review[T]) decision.Answer) admit.Answerer {
	return &admit.Handler[T]{
		Spec:   spec,
		What:   what,
		Decode: decode,
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
