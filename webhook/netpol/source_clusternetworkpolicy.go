package netpol

import (
	"net"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	policyv1alpha2 "sigs.k8s.io/network-policy-api/apis/v1alpha2"
)

// The two ClusterNetworkPolicy kinds (EKS networking.k8s.aws/v1alpha1 and
// SIG Network policy.networking.k8s.io/v1alpha2) share their semantics:
// selection alone never isolates ("no implicit isolation",
// network-policy-api site-src/api-overview.md; the AWS agent's
// tc.v4egress.bpf.c evaluateFlow drops only on a matching Deny). A pod of
// the subject is isolated in a direction only by a Deny rule, on every port,
// whose peers catch all traffic of that direction.

// clusterPolicy is either kind reduced to what coverage reads.
type clusterPolicy struct {
	tier    string
	subject clusterSubject
	ingress []clusterRule
	egress  []clusterRule
}

// clusterSubject is exactly one of namespaces or pods.
type clusterSubject struct {
	Namespaces *metav1.LabelSelector `json:"namespaces,omitempty"`
	Pods       *namespacedPods       `json:"pods,omitempty"`
}

type namespacedPods struct {
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`
	PodSelector       metav1.LabelSelector `json:"podSelector"`
}

type clusterRule struct {
	deny bool
	// somePorts: the rule names ports (AWS ports, SIG protocols).
	somePorts bool
	peers     []clusterPeer
}

type clusterPeer struct {
	Namespaces *metav1.LabelSelector `json:"namespaces,omitempty"`
	Pods       *namespacedPods       `json:"pods,omitempty"`
	Networks   []string              `json:"networks,omitempty"`
}

// awsClusterNetworkPolicy is the part of the EKS kind coverage reads
// (amazon-network-policy-controller-k8s api/v1alpha1/clusternetworkpolicy_types.go).
type awsClusterNetworkPolicy struct {
	Spec struct {
		Tier     string         `json:"tier"`
		Priority int32          `json:"priority"`
		Subject  clusterSubject `json:"subject"`
		Ingress  []struct {
			Action string        `json:"action"`
			From   []clusterPeer `json:"from"`
			Ports  []any         `json:"ports"`
		} `json:"ingress"`
		Egress []struct {
			Action string        `json:"action"`
			To     []clusterPeer `json:"to"`
			Ports  []any         `json:"ports"`
		} `json:"egress"`
	} `json:"spec"`
}

func compileAWSClusterNetworkPolicy(kind *PolicyKind, obj runtime.Object) (*Compiled, error) {
	var cnp awsClusterNetworkPolicy
	u, err := fromUnstructured(obj, &cnp)
	if err != nil {
		return nil, err
	}
	cp := clusterPolicy{tier: cnp.Spec.Tier, subject: cnp.Spec.Subject}
	for _, r := range cnp.Spec.Ingress {
		cp.ingress = append(cp.ingress, clusterRule{deny: r.Action == "Deny", somePorts: len(r.Ports) > 0, peers: r.From})
	}
	for _, r := range cnp.Spec.Egress {
		cp.egress = append(cp.egress, clusterRule{deny: r.Action == "Deny", somePorts: len(r.Ports) > 0, peers: r.To})
	}
	p, err := cp.compile(kind, u.GetName())
	if err != nil {
		return nil, err
	}
	var dns struct {
		Spec struct {
			Egress []awsClusterDNSRule `json:"egress"`
		} `json:"spec"`
	}
	if _, err := fromUnstructured(obj, &dns); err != nil {
		return nil, err
	}
	if p.dns, err = compileAWSClusterDNS(cnp.Spec.Priority, dns.Spec.Egress); err != nil {
		return nil, err
	}
	return p, nil
}

// compileSIGClusterNetworkPolicy reads the typed API of
// sigs.k8s.io/network-policy-api.
func compileSIGClusterNetworkPolicy(kind *PolicyKind, obj runtime.Object) (*Compiled, error) {
	var cnp policyv1alpha2.ClusterNetworkPolicy
	u, err := fromUnstructured(obj, &cnp)
	if err != nil {
		return nil, err
	}
	cp := clusterPolicy{tier: string(cnp.Spec.Tier)}
	cp.subject.Namespaces = cnp.Spec.Subject.Namespaces
	if p := cnp.Spec.Subject.Pods; p != nil {
		cp.subject.Pods = &namespacedPods{NamespaceSelector: p.NamespaceSelector, PodSelector: p.PodSelector}
	}
	for _, r := range cnp.Spec.Ingress {
		rule := clusterRule{deny: r.Action == policyv1alpha2.ClusterNetworkPolicyRuleActionDeny, somePorts: len(r.Protocols) > 0}
		for _, p := range r.From {
			rule.peers = append(rule.peers, clusterPeer{Namespaces: p.Namespaces, Pods: sigPods(p.Pods)})
		}
		cp.ingress = append(cp.ingress, rule)
	}
	for _, r := range cnp.Spec.Egress {
		rule := clusterRule{deny: r.Action == policyv1alpha2.ClusterNetworkPolicyRuleActionDeny, somePorts: len(r.Protocols) > 0}
		for _, p := range r.To {
			peer := clusterPeer{Namespaces: p.Namespaces, Pods: sigPods(p.Pods)}
			for _, n := range p.Networks {
				peer.Networks = append(peer.Networks, string(n))
			}
			rule.peers = append(rule.peers, peer)
		}
		cp.egress = append(cp.egress, rule)
	}
	return cp.compile(kind, u.GetName())
}

func sigPods(p *policyv1alpha2.NamespacedPod) *namespacedPods {
	if p == nil {
		return nil
	}
	return &namespacedPods{NamespaceSelector: p.NamespaceSelector, PodSelector: p.PodSelector}
}

// compile turns the subject into a selection isolated in the directions
// that a catch-all Deny covers.
func (cp *clusterPolicy) compile(kind *PolicyKind, name string) (*Compiled, error) {
	sel := Selection{Isolation: Isolation{Ingress: denyCatchesAll(cp.ingress, catchesAllIngress), Egress: denyCatchesAll(cp.egress, nil)}}
	var err error
	switch {
	case cp.subject.Namespaces != nil:
		if sel.Namespaces, err = metav1.LabelSelectorAsSelector(cp.subject.Namespaces); err != nil {
			return nil, err
		}
		sel.Pods = labels.Everything()
	case cp.subject.Pods != nil:
		if sel.Namespaces, err = metav1.LabelSelectorAsSelector(&cp.subject.Pods.NamespaceSelector); err != nil {
			return nil, err
		}
		if sel.Pods, err = metav1.LabelSelectorAsSelector(&cp.subject.Pods.PodSelector); err != nil {
			return nil, err
		}
	default:
		// The CRD requires exactly one; an object without selects nothing.
		return &Compiled{Kind: kind, Name: name, Tier: cp.tier}, nil
	}
	return &Compiled{Kind: kind, Name: name, Tier: cp.tier, Selections: []Selection{sel}}, nil
}

// denyCatchesAll reports whether the Deny rules on every port catch all
// traffic of a direction. For ingress a peer that selects every pod of
// every namespace does (peerCatches); egress also leaves the cluster, so
// its Deny rules must cover every address, 0.0.0.0/0 and ::/0 (cluster
// traffic is checked against networks too, network-policy-api v1alpha2
// ClusterNetworkPolicyEgressPeer.Networks).
func denyCatchesAll(rules []clusterRule, peerCatches func(*clusterPeer) bool) bool {
	var v4, v6 bool
	for i := range rules {
		r := &rules[i]
		if !r.deny || r.somePorts {
			continue
		}
		for j := range r.peers {
			p := &r.peers[j]
			if peerCatches != nil && peerCatches(p) {
				return true
			}
			for _, cidr := range p.Networks {
				_, n, err := net.ParseCIDR(cidr)
				if err != nil {
					continue
				}
				if ones, _ := n.Mask.Size(); ones == 0 {
					if n.IP.To4() != nil {
						v4 = true
					} else {
						v6 = true
					}
				}
			}
		}
	}
	return v4 && v6
}

// catchesAllIngress: namespaces: {} or pods: {namespaceSelector: {}, podSelector: {}}.
func catchesAllIngress(p *clusterPeer) bool {
	if p.Namespaces != nil && emptySelector(p.Namespaces) {
		return true
	}
	return p.Pods != nil && emptySelector(&p.Pods.NamespaceSelector) && emptySelector(&p.Pods.PodSelector)
}

func emptySelector(s *metav1.LabelSelector) bool {
	return len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}
