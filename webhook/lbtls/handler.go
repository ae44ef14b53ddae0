package lbtls

import (
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

// unchanged reports an update that the rule need not judge: the object is
// being deleted, or neither its annotations nor its spec changed (a
// controller adding or removing its finalizer, a relabel). Denying those
// would stop the LBC from finalizing the load balancers of objects that
// predate eksguard.
func unchanged(oldMeta, newMeta *metav1.ObjectMeta, oldSpec, newSpec any) bool {
	return newMeta.DeletionTimestamp != nil ||
		(maps.Equal(oldMeta.Annotations, newMeta.Annotations) && equality.Semantic.DeepEqual(oldSpec, newSpec))
}
