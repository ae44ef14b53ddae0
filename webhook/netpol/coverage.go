// Package netpol implements the NetworkPolicy coverage rule: a pod (or a
// workload's pod template) must be selected by a NetworkPolicy of its own
// namespace that isolates it for the directions the policy configuration asks
// for.
package netpol

import (
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/eksguard/eksguard/config"
)

// Isolation is the set of directions in which NetworkPolicies isolate a pod.
type Isolation struct {
	Ingress bool
	Egress  bool
}

// union adds the directions of other.
func (i Isolation) union(other Isolation) Isolation {
	return Isolation{Ingress: i.Ingress || other.Ingress, Egress: i.Egress || other.Egress}
}

// Satisfies reports whether the isolation is what coverage asks for. An
// empty coverage is the default, any; config validation rejects other values.
func (i Isolation) Satisfies(coverage config.Coverage) bool {
	switch coverage {
	case config.CoverageIngress:
		return i.Ingress
	case config.CoverageEgress:
		return i.Egress
	case config.CoverageBoth:
		return i.Ingress && i.Egress
	default:
		return i.Ingress || i.Egress
	}
}

// Compiled is a NetworkPolicy reduced to what coverage needs: its pod
// selector, parsed once, and the directions it isolates.
type Compiled struct {
	Selector  labels.Selector
	Isolation Isolation
}

// Compile parses the pod selector of np and resolves its policy types the
// way the API server defaults them.
func Compile(np *networkingv1.NetworkPolicy) (Compiled, error) {
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return Compiled{}, err
	}
	return Compiled{Selector: sel, Isolation: PolicyIsolation(&np.Spec)}, nil
}

// PolicyIsolation returns the directions a policy isolates its pods in. It
// applies the API server's defaulting (SetDefaults_NetworkPolicy in
// k8s.io/kubernetes/pkg/apis/networking/v1): an empty policyTypes means
// Ingress, plus Egress when the policy has egress rules.
func PolicyIsolation(spec *networkingv1.NetworkPolicySpec) Isolation {
	if len(spec.PolicyTypes) == 0 {
		return Isolation{Ingress: true, Egress: len(spec.Egress) != 0}
	}
	var iso Isolation
	for _, t := range spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			iso.Ingress = true
		case networkingv1.PolicyTypeEgress:
			iso.Egress = true
		}
	}
	return iso
}

// Isolate returns the union of the isolation of every policy selecting a pod
// with podLabels: policies are additive.
func Isolate(policies []Compiled, podLabels labels.Set) Isolation {
	var iso Isolation
	for i := range policies {
		if policies[i].Selector.Matches(podLabels) {
			iso = iso.union(policies[i].Isolation)
		}
	}
	return iso
}

// Covers reports whether policies isolate a pod with podLabels as coverage
// asks. It stops at the first policy that completes the coverage.
func Covers(policies []Compiled, podLabels labels.Set, coverage config.Coverage) bool {
	var iso Isolation
	for i := range policies {
		p := &policies[i]
		if p.Isolation.union(iso) == iso || !p.Selector.Matches(podLabels) {
			continue
		}
		iso = iso.union(p.Isolation)
		if iso.Satisfies(coverage) {
			return true
		}
	}
	return false
}
