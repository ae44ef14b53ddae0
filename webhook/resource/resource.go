package resource

import (
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Kind is an API kind as the API server serves it.
type Kind struct {
	GVK schema.GroupVersionKind
	// Resource is the plural the kind is served under.
	Resource   string
	Namespaced bool
}

// GVR is the kind's group, version and resource.
func (k Kind) GVR() schema.GroupVersionResource { return k.GVK.GroupVersion().WithResource(k.Resource) }

// Rules are the webhook rules that match ops on kinds: one rule per group
// version, in the order the kinds come, scoped to what they hold.
func Rules(kinds []Kind, ops ...admissionregistrationv1.OperationType) []admissionregistrationv1.RuleWithOperations {
	var rules []admissionregistrationv1.RuleWithOperations
	index := map[schema.GroupVersion]int{}
	type scopes struct{ namespaced, cluster bool }
	seen := map[schema.GroupVersion]*scopes{}
	for _, k := range kinds {
		gv := k.GVK.GroupVersion()
		i, ok := index[gv]
		if !ok {
			i = len(rules)
			index[gv] = i
			seen[gv] = &scopes{}
			rules = append(rules, admissionregistrationv1.RuleWithOperations{
				Operations: append([]admissionregistrationv1.OperationType(nil), ops...),
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{gv.Group}, APIVersions: []string{gv.Version}},
			})
		}
		rules[i].Resources = append(rules[i].Resources, k.Resource)
		if k.Namespaced {
			seen[gv].namespaced = true
		} else {
			seen[gv].cluster = true
		}
	}
	for gv, i := range index {
		scope := admissionregistrationv1.AllScopes
		switch s := seen[gv]; {
		case !s.cluster:
			scope = admissionregistrationv1.NamespacedScope
		case !s.namespaced:
			scope = admissionregistrationv1.ClusterScope
		}
		rules[i].Scope = &scope
	}
	return rules
}

// The built-in kinds eksguard's routes judge.
var (
	Pod     = Kind{GVK: schema.GroupVersion{Version: "v1"}.WithKind("Pod"), Resource: "pods", Namespaced: true}
	Service = Kind{GVK: schema.GroupVersion{Version: "v1"}.WithKind("Service"), Resource: "services", Namespaced: true}
	Ingress = Kind{GVK: schema.GroupVersion{Group: "networking.k8s.io", Version: "v1"}.WithKind("Ingress"), Resource: "ingresses", Namespaced: true}
	// PodEphemeralContainers is the subresource through which kubectl debug adds containers.
	PodEphemeralContainers = Kind{GVK: Pod.GVK, Resource: "pods/ephemeralcontainers", Namespaced: true}
	// The status subresources, which can change labels and annotations
	// too (kubernetes#92022): a role that may write status must not
	// relabel a pod out of its policies or rewrite a Service's TLS
	// annotations unseen.
	PodStatus     = Kind{GVK: Pod.GVK, Resource: "pods/status", Namespaced: true}
	ServiceStatus = Kind{GVK: Service.GVK, Resource: "services/status", Namespaced: true}
	IngressStatus = Kind{GVK: Ingress.GVK, Resource: "ingresses/status", Namespaced: true}
)

// Subresource reports a kind served under a subresource.
func (k Kind) Subresource() bool { return strings.Contains(k.Resource, "/") }

// Operation lists.
var (
	Create       = []admissionregistrationv1.OperationType{admissionregistrationv1.Create}
	Update       = []admissionregistrationv1.OperationType{admissionregistrationv1.Update}
	CreateUpdate = []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	UpdateDelete = []admissionregistrationv1.OperationType{admissionregistrationv1.Update, admissionregistrationv1.Delete}
)
