package netpol

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/eksguard/eksguard/webhook/resource"
)

// PolicyKind is one policy kind that can isolate pods. Every kind is keyed by
// group and version: three different kinds are named ClusterNetworkPolicy.
type PolicyKind struct {
	resource.Kind
	// Name is how messages name the kind; unique across Kinds (kubectl's
	// kind.group form where the bare kind is ambiguous).
	Name string
	// compile turns a stored object of this kind into its selections.
	compile func(kind *PolicyKind, obj runtime.Object) (*Compiled, error)
	// bit is the kind's bit in Coverage.Kinds: its position in Kinds.
	bit uint
	// vpcCNIOnly: only the VPC CNI enforces the kind (its CRDs and its
	// agent), so it does nothing where the agent does not run.
	vpcCNIOnly bool
}

func init() {
	for i, k := range Kinds {
		k.bit = 1 << i
	}
}

// endsAgentDefault: a policy of the kind that selects a pod ends the VPC CNI
// agent's default-deny for it (the kinds the agent turns into
// PolicyEndpoints; the cluster-scoped kind does not, see Want.ByAgent).
func (k *PolicyKind) endsAgentDefault() bool {
	return k == KindNetworkPolicy || k == KindApplicationNetworkPolicy
}

// BuiltIn reports whether every API server serves the kind (no CRD).
func (k *PolicyKind) BuiltIn() bool { return k == KindNetworkPolicy }

// The policy kinds eksguard counts. PolicyEndpoint and ClusterPolicyEndpoint
// (controller output), Calico's Staged* kinds (they never enforce) and
// anything else are never counted.
var (
	KindNetworkPolicy = &PolicyKind{
		Kind:    resource.Kind{GVK: networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), Resource: "networkpolicies", Namespaced: true},
		Name:    "NetworkPolicy",
		compile: compileNetworkPolicy,
	}
	// KindApplicationNetworkPolicy is EKS's namespaced kind
	// (aws/amazon-network-policy-controller-k8s api/v1alpha1).
	KindApplicationNetworkPolicy = &PolicyKind{
		Kind:       resource.Kind{GVK: schema.GroupVersionKind{Group: "networking.k8s.aws", Version: "v1alpha1", Kind: "ApplicationNetworkPolicy"}, Resource: "applicationnetworkpolicies", Namespaced: true},
		Name:       "ApplicationNetworkPolicy",
		compile:    compileApplicationNetworkPolicy,
		vpcCNIOnly: true,
	}
	// KindAWSClusterNetworkPolicy is EKS's cluster-scoped admin kind.
	KindAWSClusterNetworkPolicy = &PolicyKind{
		Kind:       resource.Kind{GVK: schema.GroupVersionKind{Group: "networking.k8s.aws", Version: "v1alpha1", Kind: "ClusterNetworkPolicy"}, Resource: "clusternetworkpolicies"},
		Name:       "ClusterNetworkPolicy.networking.k8s.aws",
		compile:    compileAWSClusterNetworkPolicy,
		vpcCNIOnly: true,
	}
	KindCiliumNetworkPolicy = &PolicyKind{
		Kind:    resource.Kind{GVK: schema.GroupVersionKind{Group: "cilium.io", Version: "v2", Kind: "CiliumNetworkPolicy"}, Resource: "ciliumnetworkpolicies", Namespaced: true},
		Name:    "CiliumNetworkPolicy",
		compile: compileCiliumPolicy,
	}
	KindCiliumClusterwideNetworkPolicy = &PolicyKind{
		Kind:    resource.Kind{GVK: schema.GroupVersionKind{Group: "cilium.io", Version: "v2", Kind: "CiliumClusterwideNetworkPolicy"}, Resource: "ciliumclusterwidenetworkpolicies"},
		Name:    "CiliumClusterwideNetworkPolicy",
		compile: compileCiliumPolicy,
	}
	// KindClusterNetworkPolicy is SIG Network's kind (network-policy-api
	// v1alpha2), implemented by Calico 3.32+ and Cilium 1.20+, not by EKS.
	KindClusterNetworkPolicy = &PolicyKind{
		Kind:    resource.Kind{GVK: schema.GroupVersionKind{Group: "policy.networking.k8s.io", Version: "v1alpha2", Kind: "ClusterNetworkPolicy"}, Resource: "clusternetworkpolicies"},
		Name:    "ClusterNetworkPolicy.policy.networking.k8s.io",
		compile: compileSIGClusterNetworkPolicy,
	}
	// KindCalicoNetworkPolicy and KindCalicoGlobalNetworkPolicy are
	// Calico's enforcing kinds, read from projectcalico.org/v3 (its API
	// server, or its native v3 CRDs), never crd.projectcalico.org.
	KindCalicoNetworkPolicy = &PolicyKind{
		Kind:    resource.Kind{GVK: schema.GroupVersionKind{Group: "projectcalico.org", Version: "v3", Kind: "NetworkPolicy"}, Resource: "networkpolicies", Namespaced: true},
		Name:    "NetworkPolicy.projectcalico.org",
		compile: compileCalicoPolicy,
	}
	KindCalicoGlobalNetworkPolicy = &PolicyKind{
		Kind:    resource.Kind{GVK: schema.GroupVersionKind{Group: "projectcalico.org", Version: "v3", Kind: "GlobalNetworkPolicy"}, Resource: "globalnetworkpolicies"},
		Name:    "GlobalNetworkPolicy",
		compile: compileCalicoPolicy,
	}
)

// Kinds lists every counted kind, NetworkPolicy first; messages and
// discovery follow this order.
var Kinds = []*PolicyKind{
	KindNetworkPolicy,
	KindApplicationNetworkPolicy,
	KindAWSClusterNetworkPolicy,
	KindCiliumNetworkPolicy,
	KindCiliumClusterwideNetworkPolicy,
	KindClusterNetworkPolicy,
	KindCalicoNetworkPolicy,
	KindCalicoGlobalNetworkPolicy,
}

// KindFor returns the counted kind of gvk, or nil.
func KindFor(gvk schema.GroupVersionKind) *PolicyKind {
	for _, k := range Kinds {
		if k.GVK == gvk {
			return k
		}
	}
	return nil
}

// kindOf returns the counted kind of a stored object: a typed
// NetworkPolicy, or an unstructured object of one of Kinds.
func kindOf(obj runtime.Object) *PolicyKind {
	switch o := obj.(type) {
	case *networkingv1.NetworkPolicy:
		return KindNetworkPolicy
	case *unstructured.Unstructured:
		return KindFor(o.GroupVersionKind())
	}
	return nil
}

// Compile turns a stored policy object into its selections, once per
// resourceVersion. An object whose selectors do not parse selects no pod:
// the error says why.
func Compile(obj runtime.Object) (*Compiled, error) {
	kind := kindOf(obj)
	if kind == nil {
		return nil, fmt.Errorf("%T %s is not a counted policy kind", obj, obj.GetObjectKind().GroupVersionKind())
	}
	p, err := kind.compile(kind, obj)
	if err != nil {
		return nil, err
	}
	for i := range p.Selections {
		s := &p.Selections[i]
		if s.calico == nil {
			if s.pods = newLabelMatcher(s.Pods); s.pods != nil {
				s.Pods = nil
			}
		}
		if s.namespaces = internNamespaces(s.Namespaces); s.namespaces != nil {
			s.Namespaces = nil
		}
	}
	return p, nil
}

// fromUnstructured decodes the stored object of a custom kind into the
// struct its compiler reads.
func fromUnstructured(obj runtime.Object, into any) (*unstructured.Unstructured, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("expected an unstructured object, got %T", obj)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return nil, fmt.Errorf("decoding %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return u, nil
}

// ResourceKinds are Kinds as API kinds.
func ResourceKinds() []resource.Kind {
	out := make([]resource.Kind, len(Kinds))
	for i, k := range Kinds {
		out[i] = k.Kind
	}
	return out
}
