package netpol

// Calico's policy kinds (projectcalico.org/v3, read from the API group
// Calico serves, never its crd.projectcalico.org storage group): which pods
// a NetworkPolicy or GlobalNetworkPolicy selects, with Calico's selector
// language, and what it isolates, depending on its tier.

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/eksguard/eksguard/webhook/netpol/calicoselector"
)

// CalicoTierGVK is the kind of Calico's tiers, read for their default action.
var CalicoTierGVK = schema.GroupVersionKind{Group: "projectcalico.org", Version: "v3", Kind: "Tier"}

// The labels Calico gives every pod's workload endpoint
// (libcalico-go workload_endpoint_default.go; docs calico-labels.mdx).
const (
	// calicoLabelPrefix is the prefix of every label Calico adds.
	calicoLabelPrefix         = "projectcalico.org/"
	calicoNamespaceLabel      = "projectcalico.org/namespace"
	calicoOrchestratorLabel   = "projectcalico.org/orchestrator"
	calicoServiceAccountLabel = "projectcalico.org/serviceaccount"
	// calicoNameLabel is the name of the namespace (namespaceSelector) or
	// ServiceAccount (serviceAccountSelector) a selector reads.
	calicoNameLabel = "projectcalico.org/name"
	// calicoMaxLabelValue: the service account label is set only for names
	// shorter than this.
	calicoMaxLabelValue = 63
)

// calicoUnknown says why a key a Calico selection reads has no known value.
var calicoUnknown = map[string]string{
	calicoServiceAccountKeys: "eksguard does not read ServiceAccount labels, which a serviceAccountSelector selects on",
}

// calicoServiceAccountKeys stands for the ServiceAccount labels a
// serviceAccountSelector reads beyond its name.
const calicoServiceAccountKeys = "serviceAccountSelector"

// calicoPolicy is the part of a Calico NetworkPolicy or GlobalNetworkPolicy
// that coverage reads (api/pkg/apis/projectcalico/v3 networkpolicy.go,
// globalnetworkpolicy.go).
type calicoPolicy struct {
	Spec struct {
		Tier                   string           `json:"tier"`
		Selector               string           `json:"selector"`
		NamespaceSelector      string           `json:"namespaceSelector"`
		ServiceAccountSelector string           `json:"serviceAccountSelector"`
		Types                  []string         `json:"types"`
		Ingress                []map[string]any `json:"ingress"`
		Egress                 []map[string]any `json:"egress"`
		// DoNotTrack and PreDNAT policies apply to host endpoints only.
		DoNotTrack bool `json:"doNotTrack"`
		PreDNAT    bool `json:"preDNAT"`
	} `json:"spec"`
}

// calicoDefaultTier is the tier of a policy that names none.
const calicoDefaultTier = "default"

// compileCalicoPolicy compiles a Calico NetworkPolicy (its selector ranges
// over the pods of its namespace) or GlobalNetworkPolicy (over every
// namespace, narrowed by namespaceSelector). The selector, namespaceSelector
// and serviceAccountSelector must all match (docs reference/resources
// globalnetworkpolicy.mdx). Isolation follows the tier: see calicoIsolation.
func compileCalicoPolicy(kind *PolicyKind, obj runtime.Object) (*Compiled, error) {
	var cp calicoPolicy
	u, err := fromUnstructured(obj, &cp)
	if err != nil {
		return nil, err
	}
	policy := &Compiled{Kind: kind, Namespace: u.GetNamespace(), Name: u.GetName()}
	spec := &cp.Spec
	if spec.DoNotTrack || spec.PreDNAT {
		return policy, nil
	}
	pods, err := parseTopLevel("selector", spec.Selector)
	if err != nil {
		return nil, err
	}
	accounts, err := parseTopLevel("serviceAccountSelector", spec.ServiceAccountSelector)
	if err != nil {
		return nil, err
	}
	calico := &calicoSelection{pods: pods, accounts: accounts, tier: spec.Tier}
	sel := Selection{calico: calico}
	if kind.Namespaced {
		sel.Namespace = u.GetNamespace()
	} else {
		namespaces, err := parseTopLevel("namespaceSelector", spec.NamespaceSelector)
		if err != nil {
			return nil, err
		}
		if !isAll(namespaces) {
			sel.Namespaces = calicoNamespaces{namespaces}
		}
	}
	if calico.tier == "" {
		calico.tier = calicoDefaultTier
	}
	if calico.tier != calicoDefaultTier {
		policy.Tier = calico.tier
	}
	sel.Isolation, calico.passIsolation = calicoIsolation(spec.Types, spec.Ingress, spec.Egress)
	if sel.Isolation.none() && calico.passIsolation.none() {
		return policy, nil
	}
	policy.Selections = []Selection{sel}
	return policy, nil
}

// parseTopLevel parses one of a policy's own selectors; Calico's CRD
// validation rejects global() there (it is for rule selectors only).
func parseTopLevel(field, expr string) (*calicoselector.Selector, error) {
	s, err := calicoselector.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("spec.%s: %w", field, err)
	}
	if s.UsesGlobal() {
		return nil, fmt.Errorf("spec.%s: global() selects no workload in a policy's own selectors", field)
	}
	return s, nil
}

func isAll(s *calicoselector.Selector) bool {
	return len(s.Keys()) == 0 && s.Matches(calicoselector.Map{})
}

// calicoIsolation is what a policy isolates in a tier whose default action
// is Deny (isolation) and in one whose default action is Pass (pass).
//
// A direction counts when it is in types, defaulted as Calico defaults them
// (Ingress, plus Egress when there are egress rules; Egress alone when there
// are only egress rules). In a Deny tier whatever the policy's rules do not
// take is dropped ("If the Tier applies to the endpoint, but takes no action
// on the packet the packet is dropped", tiered-policy.mdx), unless a
// catch-all Pass rule hands everything on first. In a Pass tier the packet
// goes on to the next tier unless a catch-all Deny (or Allow) rule takes it
// (felix/rules/policy.go renders each action as final; Log is not).
func calicoIsolation(types []string, ingress, egress []map[string]any) (isolation, pass Isolation) {
	if len(types) == 0 {
		types = []string{"Ingress"}
		switch {
		case len(egress) > 0 && len(ingress) == 0:
			types = []string{"Egress"}
		case len(egress) > 0:
			types = append(types, "Egress")
		}
	}
	for _, t := range types {
		switch t {
		case "Ingress":
			action := firstCatchAll(ingress)
			isolation.Ingress, pass.Ingress = action != "Pass", action == "Deny" || action == "Allow"
		case "Egress":
			action := firstCatchAll(egress)
			isolation.Egress, pass.Egress = action != "Pass", action == "Deny" || action == "Allow"
		}
	}
	return isolation, pass
}

// firstCatchAll is the action of the first terminal rule that matches every
// packet (no criteria but its action and metadata), or "".
func firstCatchAll(rules []map[string]any) string {
	for _, r := range rules {
		action, _ := r["action"].(string)
		if action == "Log" || !matchesEverything(r) {
			continue
		}
		return action
	}
	return ""
}

func matchesEverything(rule map[string]any) bool {
	for k, v := range rule {
		if k == "action" || k == "metadata" || empty(v) {
			continue
		}
		return false
	}
	return true
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, inner := range x {
			if !empty(inner) {
				return false
			}
		}
		return true
	case []any:
		return len(x) == 0
	case string:
		return x == ""
	}
	return false
}

// calicoSelection is what only a Calico policy's selection has: it selects
// pods as Calico selects workload endpoints, and its tier's default action
// decides between the selection's Isolation and passIsolation (what its
// catch-all rules isolate when the tier passes what they do not take).
type calicoSelection struct {
	pods, accounts *calicoselector.Selector
	tier           string
	passIsolation  Isolation
}

// match evaluates the selector on the pod's labels and the labels Calico
// adds, then the serviceAccountSelector, of which eksguard can decide only
// a selector on the account's name.
func (c *calicoSelection) match(pod *Pod) (match, string) {
	view := calicoPodView{pod: pod}
	truth, key := c.pods.Evaluate(view, func(key string) bool { _, unknown := pod.Unknown[key]; return unknown })
	if truth == calicoselector.False {
		return noMatch, ""
	}
	result := matches
	if truth == calicoselector.Unknown {
		result = mayMatch
	}
	for _, k := range c.accounts.Keys() {
		if k != calicoNameLabel {
			if result == matches {
				result, key = mayMatch, calicoServiceAccountKeys
			}
			return result, key
		}
	}
	if !c.accounts.Matches(calicoselector.Map{calicoNameLabel: pod.ServiceAccount}) {
		return noMatch, ""
	}
	return result, key
}

// calicoPodView is a pod's labels as Calico's selectors see them.
type calicoPodView struct{ pod *Pod }

func (v calicoPodView) Get(key string) (string, bool) {
	switch key {
	case calicoNamespaceLabel:
		return v.pod.Namespace, true
	case calicoOrchestratorLabel:
		return "k8s", true
	case calicoServiceAccountLabel:
		if sa := v.pod.ServiceAccount; sa != "" && len(sa) < calicoMaxLabelValue {
			return sa, true
		}
		return "", false
	}
	value, ok := v.pod.Labels[key]
	return value, ok
}

// calicoNamespaces is a namespaceSelector over a namespace's labels, in
// which projectcalico.org/name is the namespace's name (its
// kubernetes.io/metadata.name label).
type calicoNamespaces struct{ sel *calicoselector.Selector }

var _ labels.Selector = calicoNamespaces{}

func (n calicoNamespaces) Matches(set labels.Labels) bool {
	// A namespace's labels are a labels.Set: viewing it costs no allocation.
	if m, ok := set.(labels.Set); ok {
		return n.sel.Matches(calicoNamespaceSet(m))
	}
	return n.sel.Matches(calicoNamespaceView{set})
}

// Empty, String, Add, Requirements, DeepCopySelector and RequiresExactMatch
// complete labels.Selector; coverage calls only Matches.
func (n calicoNamespaces) Empty() bool                               { return false }
func (n calicoNamespaces) String() string                            { return n.sel.String() }
func (n calicoNamespaces) Add(...labels.Requirement) labels.Selector { return n }
func (n calicoNamespaces) Requirements() (labels.Requirements, bool) {
	return nil, false
}
func (n calicoNamespaces) DeepCopySelector() labels.Selector                    { return n }
func (n calicoNamespaces) RequiresExactMatch(string) (value string, found bool) { return "", false }

type calicoNamespaceView struct{ set labels.Labels }

// calicoNamespaceSet is calicoNamespaceView of a labels.Set.
type calicoNamespaceSet labels.Set

func (v calicoNamespaceSet) Get(key string) (string, bool) {
	if key == calicoNameLabel {
		key = corev1.LabelMetadataName
	}
	value, ok := v[key]
	return value, ok
}

func (v calicoNamespaceView) Get(key string) (string, bool) {
	if key == calicoNameLabel {
		key = corev1.LabelMetadataName
	}
	if !v.set.Has(key) {
		return "", false
	}
	return v.set.Get(key), true
}

// Tiers are Calico's tiers that pass what their policies do not take
// (Tier.spec.defaultAction: Pass); any other tier drops it (Deny, the
// default; tierprocessor.go reads anything but Pass as Deny).
type Tiers struct{ pass map[string]bool }

// calicoPassTiers are created by Calico with defaultAction Pass, for the
// SIG Network ClusterNetworkPolicy tiers (docs policy-tiers/tiered-policy.mdx).
var calicoPassTiers = map[string]bool{"kube-admin": true, "kube-baseline": true}

// passes reports whether tier passes what its policies do not take.
func (t *Tiers) passes(tier string) bool {
	if t != nil {
		if pass, known := t.pass[tier]; known {
			return pass
		}
	}
	return calicoPassTiers[tier]
}

// TiersFrom reads Calico Tier objects.
func TiersFrom(objs []*unstructured.Unstructured) *Tiers {
	t := &Tiers{pass: map[string]bool{}}
	for _, u := range objs {
		action, _, _ := unstructured.NestedString(u.Object, "spec", "defaultAction")
		t.pass[u.GetName()] = action == "Pass"
	}
	return t
}
