package netpol

import (
	"fmt"
	"sort"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// compileNetworkPolicy: the pods of the policy's namespace that
// spec.podSelector selects, isolated as PolicyIsolation says.
func compileNetworkPolicy(kind *PolicyKind, obj runtime.Object) (*Compiled, error) {
	np, ok := obj.(*networkingv1.NetworkPolicy)
	if !ok {
		return nil, fmt.Errorf("expected a NetworkPolicy, got %T", obj)
	}
	pods, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return nil, err
	}
	iso := PolicyIsolation(&np.Spec)
	p := &Compiled{Kind: kind, Namespace: np.Namespace, Name: np.Name, Selections: []Selection{{
		Namespace: np.Namespace, Pods: pods, Isolation: iso,
	}}}
	if iso.Egress {
		if p.dns, err = networkPolicyDNS(np); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// networkPolicyEgress is a NetworkPolicy's egress rules as the DNS step reads them.
func networkPolicyEgress(rules []networkingv1.NetworkPolicyEgressRule) []namespaceEgressRule {
	out := make([]namespaceEgressRule, len(rules))
	for i, r := range rules {
		out[i].Ports = r.Ports
		for _, to := range r.To {
			out[i].To = append(out[i].To, namespacePeer{PodSelector: to.PodSelector, NamespaceSelector: to.NamespaceSelector, IPBlock: to.IPBlock})
		}
	}
	return out
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

// TrimNetworkPolicy is the cache transform of NetworkPolicies: it keeps
// what compileNetworkPolicy reads, the identity, spec.podSelector, the
// directions isolated (policyTypes, defaulted as PolicyIsolation does) and
// the egress rules that can carry DNS, and nothing else: no other rules, labels, annotations (kubectl's last-applied copy
// above all) or managedFields, so a cached policy costs little more than
// its compiled form.
func TrimNetworkPolicy(obj any) (any, error) {
	np, ok := obj.(*networkingv1.NetworkPolicy)
	if !ok {
		return obj, nil
	}
	trimmed := &networkingv1.NetworkPolicy{}
	trimmed.Name, trimmed.Namespace, trimmed.UID, trimmed.ResourceVersion = np.Name, np.Namespace, np.UID, np.ResourceVersion
	trimmed.Spec.PodSelector = compactSelector(np.Spec.PodSelector)
	iso := PolicyIsolation(&np.Spec)
	if iso.Ingress {
		trimmed.Spec.PolicyTypes = append(trimmed.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
	}
	if iso.Egress {
		trimmed.Spec.PolicyTypes = append(trimmed.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
	if len(trimmed.Spec.PolicyTypes) == 0 {
		trimmed.Spec.PolicyTypes = np.Spec.PolicyTypes // names no direction eksguard knows
	}
	if iso.Egress {
		// The DNS step reads the egress rules that can carry port 53, held
		// once for every policy that has the same.
		if d, err := networkPolicyDNS(np); err == nil {
			trimmed.Spec.Egress = d.raw
		} else {
			trimmed.Spec.Egress = np.Spec.Egress // Compile reports the error
		}
	}
	return trimmed, nil
}

// compactSelector is sel with its matchLabels written as single-value In
// expressions, which select the same pods (LabelSelectorAsSelector makes
// the same requirements of both) and cost a third of the memory: a map
// holding one label takes about 300 bytes, the slice about 100. Cached
// policies hold their selector until they change.
func compactSelector(sel metav1.LabelSelector) metav1.LabelSelector {
	if len(sel.MatchLabels) == 0 {
		return sel
	}
	keys := make([]string, 0, len(sel.MatchLabels))
	for k := range sel.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	exprs := make([]metav1.LabelSelectorRequirement, 0, len(keys)+len(sel.MatchExpressions))
	values := make([]string, len(keys)) // one backing array for every expression's value
	for i, k := range keys {
		values[i] = sel.MatchLabels[k]
		exprs = append(exprs, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: values[i : i+1 : i+1]})
	}
	return metav1.LabelSelector{MatchExpressions: append(exprs, sel.MatchExpressions...)}
}
