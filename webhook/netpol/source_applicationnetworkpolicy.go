package netpol

import (
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// applicationNetworkPolicy is the part of an EKS ApplicationNetworkPolicy
// that coverage reads (amazon-network-policy-controller-k8s
// api/v1alpha1/applicationnetworkpolicy_types.go).
type applicationNetworkPolicy struct {
	Spec struct {
		PodSelector metav1.LabelSelector      `json:"podSelector"`
		PolicyTypes []networkingv1.PolicyType `json:"policyTypes"`
		Ingress     []any                     `json:"ingress"`
		Egress      []namespaceEgressRule     `json:"egress"`
	} `json:"spec"`
}

// compileApplicationNetworkPolicy selects like a NetworkPolicy, but nothing
// defaults policyTypes: the controller copies them verbatim into
// PolicyEndpoint.spec.podIsolation (pkg/policyendpoints/manager.go), and the
// agent isolates a direction that is listed there or has rules
// (aws-network-policy-agent controllers/policyendpoints_controller.go
// deriveDefaultPodIsolation).
func compileApplicationNetworkPolicy(kind *PolicyKind, obj runtime.Object) (*Compiled, error) {
	var anp applicationNetworkPolicy
	u, err := fromUnstructured(obj, &anp)
	if err != nil {
		return nil, err
	}
	pods, err := metav1.LabelSelectorAsSelector(&anp.Spec.PodSelector)
	if err != nil {
		return nil, err
	}
	iso := listedIsolation(anp.Spec.PolicyTypes)
	iso = iso.union(Isolation{Ingress: len(anp.Spec.Ingress) > 0, Egress: len(anp.Spec.Egress) > 0})
	p := &Compiled{Kind: kind, Namespace: u.GetNamespace(), Name: u.GetName(), Selections: []Selection{{
		Namespace: u.GetNamespace(), Pods: pods, Isolation: iso,
	}}}
	if iso.Egress {
		if p.dns, err = compileNamespaceDNS(&anp.Spec.PodSelector, anp.Spec.Egress); err != nil {
			return nil, err
		}
	}
	return p, nil
}
