package netpol

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ciliumPolicy is the part of CiliumNetworkPolicy and
// CiliumClusterwideNetworkPolicy that coverage reads: spec and every entry
// of specs are rules (cilium pkg/policy/api/rule.go).
type ciliumPolicy struct {
	Spec  *ciliumRule  `json:"spec"`
	Specs []ciliumRule `json:"specs"`
}

type ciliumRule struct {
	EndpointSelector *metav1.LabelSelector `json:"endpointSelector"`
	// NodeSelector rules select nodes (host firewall), never pods.
	NodeSelector      *metav1.LabelSelector `json:"nodeSelector"`
	Ingress           []any                 `json:"ingress"`
	IngressDeny       []any                 `json:"ingressDeny"`
	Egress            []any                 `json:"egress"`
	EgressDeny        []any                 `json:"egressDeny"`
	EnableDefaultDeny struct {
		Ingress *bool `json:"ingress"`
		Egress  *bool `json:"egress"`
	} `json:"enableDefaultDeny"`
}

// isolation: a direction with rules (allow or deny) is default-deny unless
// enableDefaultDeny turns it off; an explicit true isolates a direction
// without rules (api.Rule.Sanitize defaults each unset enableDefaultDeny to
// "has rules"). A rule with rules in no direction is invalid (Cilium 1.17+,
// CFP #35558) and isolates nothing.
func (r *ciliumRule) isolation() Isolation {
	hasIngress := len(r.Ingress)+len(r.IngressDeny) > 0
	hasEgress := len(r.Egress)+len(r.EgressDeny) > 0
	if !hasIngress && !hasEgress {
		return Isolation{}
	}
	return Isolation{
		Ingress: defaultDeny(r.EnableDefaultDeny.Ingress, hasIngress),
		Egress:  defaultDeny(r.EnableDefaultDeny.Egress, hasEgress),
	}
}

func defaultDeny(set *bool, hasRules bool) bool {
	if set != nil {
		return *set
	}
	return hasRules
}

// compileCiliumPolicy compiles every endpointSelector rule. In a
// CiliumNetworkPolicy the selector applies only in the policy's namespace
// (ParseToCiliumRule in pkg/k8s/apis/cilium.io/utils adds the namespace
// match, replacing a k8s: namespace match of the user's); in a
// CiliumClusterwideNetworkPolicy {} selects every endpoint of the cluster.
func compileCiliumPolicy(kind *PolicyKind, obj runtime.Object) (*Compiled, error) {
	var cp ciliumPolicy
	u, err := fromUnstructured(obj, &cp)
	if err != nil {
		return nil, err
	}
	policy := &Compiled{Kind: kind, Namespace: u.GetNamespace(), Name: u.GetName()}
	rules := cp.Specs
	if cp.Spec != nil {
		rules = append([]ciliumRule{*cp.Spec}, rules...)
	}
	for i := range rules {
		r := &rules[i]
		if r.EndpointSelector == nil {
			continue
		}
		iso := r.isolation()
		if iso.none() {
			continue
		}
		sel, ok, err := ciliumSelection(r.EndpointSelector, kind.Namespaced)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		sel.Isolation = iso
		if kind.Namespaced {
			sel.Namespace = u.GetNamespace()
		}
		policy.Selections = append(policy.Selections, sel)
	}
	return policy, nil
}

// ciliumSelection splits an endpoint selector into what it asks of the
// pod and of its namespace. Keys lose their source prefix (k8s:, any:, or
// none); keys of another source (reserved:, cidr:, ...) never match a pod,
// so ok is false when the selector needs one. The special keys map to the
// namespace name (io.kubernetes.pod.namespace), the namespace's labels
// (io.cilium.k8s.namespace.labels.KEY) and the pod's service account.
func ciliumSelection(es *metav1.LabelSelector, namespaced bool) (sel Selection, ok bool, err error) {
	var pods, namespaces metav1.LabelSelector
	for key, value := range es.MatchLabels {
		if namespaced && key == "k8s:"+ciliumNamespaceKey {
			continue // overwritten with the policy's namespace
		}
		bare, pod, keep := ciliumKey(key)
		switch {
		case !keep:
			return Selection{}, false, nil
		case pod:
			addRequirement(&pods, metav1.LabelSelectorRequirement{Key: bare, Operator: metav1.LabelSelectorOpIn, Values: []string{value}})
		default:
			addRequirement(&namespaces, metav1.LabelSelectorRequirement{Key: bare, Operator: metav1.LabelSelectorOpIn, Values: []string{value}})
		}
	}
	for _, e := range es.MatchExpressions {
		bare, pod, keep := ciliumKey(e.Key)
		if !keep {
			// A pod never has a label of another source.
			if e.Operator == metav1.LabelSelectorOpNotIn || e.Operator == metav1.LabelSelectorOpDoesNotExist {
				continue
			}
			return Selection{}, false, nil
		}
		e.Key = bare
		if pod {
			addRequirement(&pods, e)
		} else {
			addRequirement(&namespaces, e)
		}
	}
	if sel.Pods, err = metav1.LabelSelectorAsSelector(&pods); err != nil {
		return Selection{}, false, err
	}
	if len(namespaces.MatchExpressions) > 0 {
		if sel.Namespaces, err = metav1.LabelSelectorAsSelector(&namespaces); err != nil {
			return Selection{}, false, err
		}
	}
	for _, r := range pods.MatchExpressions {
		if r.Key == ciliumServiceAccountKey || r.Key == ciliumClusterKey {
			sel.attributes = true
		}
	}
	return sel, true, nil
}

func addRequirement(s *metav1.LabelSelector, r metav1.LabelSelectorRequirement) {
	s.MatchExpressions = append(s.MatchExpressions, r)
}

// ciliumKey strips the source prefix of a selector key and says whether
// the key is about the pod (else its namespace) and whether a pod can
// match it at all.
func ciliumKey(key string) (bare string, pod, keep bool) {
	if source, rest, found := strings.Cut(key, ":"); found {
		if source != "k8s" && source != "any" {
			return "", false, false
		}
		key = rest
	}
	switch {
	case key == ciliumNamespaceKey:
		return corev1.LabelMetadataName, false, true
	case strings.HasPrefix(key, ciliumNamespaceLabels):
		return strings.TrimPrefix(key, ciliumNamespaceLabels), false, true
	}
	return key, true, true
}
