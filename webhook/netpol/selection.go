package netpol

import (
	"k8s.io/apimachinery/pkg/labels"
)

// Compiled is one stored policy object of a counted kind, reduced to what
// coverage needs.
type Compiled struct {
	Kind      *PolicyKind
	Namespace string
	Name      string
	// Tier is "Admin" or "Baseline" for the ClusterNetworkPolicy kinds.
	Tier       string
	Selections []Selection
	// dns is what the DNS step reads of the policy's egress rules; nil
	// when they cannot matter to it (see dnsPolicy).
	dns *dnsPolicy
}

// String names the object in messages: "ApplicationNetworkPolicy
// demo/web-egress", "ClusterNetworkPolicy.networking.k8s.aws baseline-deny
// (Baseline tier)".
func (p *Compiled) String() string {
	s := p.Kind.Name + " "
	if p.Namespace != "" {
		s += p.Namespace + "/"
	}
	s += p.Name
	if p.Tier != "" {
		s += " (" + p.Tier + " tier)"
	}
	return s
}

// Selection says: these pods, in these namespaces, are isolated in these
// directions. A policy object compiles to one or more.
type Selection struct {
	// Namespace, when set, is the only namespace whose pods are selected
	// (namespaced kinds).
	Namespace string
	// Namespaces selects the pods' namespaces by their labels; nil is any
	// (once Compile has compiled it to namespaces, too).
	Namespaces labels.Selector
	// Pods selects pods by their labels (nil when calico does, and once
	// Compile has compiled it to pods).
	Pods labels.Selector
	// Isolation is what the selection isolates; for a Calico policy, in a
	// tier whose default action is Deny.
	Isolation Isolation
	// attributes: Pods has requirements on the pod attributes of
	// Cilium's special keys, answered by podView.
	attributes bool
	// calico selects pods with Calico's selectors (Pods is then unused),
	// and holds the policy's tier.
	calico *calicoSelection
	// pods is Pods compiled by Compile for the index's scan, which then
	// drops Pods (one copy of the requirements in memory); nil: Pods answers.
	pods labelMatcher
	// namespaces is Namespaces compiled the same way, and shared among the
	// selections with an equal one (internNamespaces), so that a lookup
	// answers each once: cluster-scoped kinds select namespaces on every
	// lookup, most of them alike.
	namespaces *labelMatcher
}

// Pod is what coverage knows of a pod, or of the pods a template will make.
type Pod struct {
	Namespace       string
	NamespaceLabels labels.Set
	Labels          labels.Set
	// ServiceAccount is the pod's service account ("default" when unset).
	ServiceAccount string
	// Unknown holds label keys the pods will carry whose values nobody can
	// know before they exist (a controller's hash), with why.
	Unknown map[string]string
}

// match is a selection's answer for a pod.
type match int

const (
	noMatch match = iota
	matches
	// mayMatch: it depends on a label value that is not known yet.
	mayMatch
)

// Cilium's special selector keys (pkg/k8s/apis/cilium.io const.go).
const (
	ciliumNamespaceKey       = "io.kubernetes.pod.namespace"
	ciliumNamespaceLabels    = "io.cilium.k8s.namespace.labels."
	ciliumServiceAccountKey  = "io.cilium.k8s.policy.serviceaccount"
	ciliumClusterKey         = "io.cilium.k8s.policy.cluster"
	ciliumClusterUnknownText = "the Cilium cluster name is agent configuration that eksguard cannot see"
)

// inNamespace reports whether s can select pods of pod's namespace.
func (s *Selection) inNamespace(pod *Pod) bool {
	if s.Namespace != "" && s.Namespace != pod.Namespace {
		return false
	}
	if s.namespaces != nil {
		return s.namespaces.matchesLabels(pod.NamespaceLabels)
	}
	return s.Namespaces == nil || s.Namespaces.Matches(pod.NamespaceLabels)
}

// readsNamespaceLabels reports whether s selects namespaces by their labels.
func (s *Selection) readsNamespaceLabels() bool {
	return s.Namespaces != nil || s.namespaces != nil
}

// match answers whether s selects pod, and on mayMatch the label key it
// could not decide.
func (s *Selection) match(pod *Pod) (match, string) {
	if !s.inNamespace(pod) {
		return noMatch, ""
	}
	return s.matchPod(pod)
}

// matchPod is match for a pod of a namespace s can select.
func (s *Selection) matchPod(pod *Pod) (match, string) {
	if s.calico != nil {
		return s.calico.match(pod)
	}
	reqs := s.pods
	if reqs == nil {
		// A Selection Compile did not make (tests, check's fixtures).
		if reqs = newLabelMatcher(s.Pods); reqs == nil {
			// Nothing, or Gt and Lt, which label selectors cannot express.
			if s.Pods != nil && s.Pods.Matches(pod.Labels) {
				return matches, ""
			}
			return noMatch, ""
		}
	}
	if len(pod.Unknown) == 0 && !s.attributes {
		if reqs.matchesLabels(pod.Labels) {
			return matches, ""
		}
		return noMatch, ""
	}
	result, undecided := matches, ""
	for i := range reqs {
		r := &reqs[i]
		if _, unknown := pod.Unknown[r.key]; unknown || (s.attributes && r.key == ciliumClusterKey) {
			// The pod will have the key (or, for the cluster, some value).
			switch r.op {
			case opExists:
				continue
			case opDoesNotExist:
				return noMatch, ""
			}
			if undecided == "" {
				result, undecided = mayMatch, r.key
			}
			continue
		}
		var view labels.Labels = pod.Labels
		if s.attributes && r.key == ciliumServiceAccountKey {
			view = labels.Set{ciliumServiceAccountKey: pod.ServiceAccount}
		}
		if !r.matchesLabels(view) {
			return noMatch, ""
		}
	}
	return result, undecided
}

// unknownReason says why key's value is unknown for pod.
func (pod *Pod) unknownReason(key string) string {
	if why, ok := pod.Unknown[key]; ok {
		return why
	}
	if key == ciliumClusterKey {
		return ciliumClusterUnknownText
	}
	if why, ok := calicoUnknown[key]; ok {
		return why
	}
	return ""
}
