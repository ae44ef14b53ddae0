package netpol

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// compileNetworkPolicy: the pods of the policy's namespace that
// spec.podSelector selects, isolated as PolicyIsolation says.
func compileNetworkPolicy(kind *Kind, obj runtime.Object) (*Compiled, error) {
	np, ok := obj.(*networkingv1.NetworkPolicy)
	if !ok {
		return nil, fmt.Errorf("expected a NetworkPolicy, got %T", obj)
	}
	pods, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return nil, err
	}
	return &Compiled{Kind: kind, Namespace: np.Namespace, Name: np.Name, Selections: []Selection{{
		Namespace: np.Namespace, Pods: pods, Isolation: PolicyIsolation(&np.Spec),
	}}}, nil
}

// PolicyIsolation returns the directions a NetworkPolicy isolates its pods
// in. It applies the API server's defaulting (SetDefaults_NetworkPolicy in
// k8s.io/kubernetes/pkg/apis/networking/v1): an empty policyTypes means
// Ingress, plus Egress when the policy has egress rules.
func PolicyIsolation(spec *networkingv1.NetworkPolicySpec) Isolation {
	if len(spec.PolicyTypes) == 0 {
		return Isolation{Ingress: true, Egress: len(spec.Egress) != 0}
	}
	return listedIsolation(spec.PolicyTypes)
}

// listedIsolation is the directions named in policyTypes.
func listedIsolation(types []networkingv1.PolicyType) Isolation {
	var iso Isolation
	for _, t := range types {
		switch t {
		case networkingv1.PolicyTypeIngress:
			iso.Ingress = true
		case networkingv1.PolicyTypeEgress:
			iso.Egress = true
		}
	}
	return iso
}
