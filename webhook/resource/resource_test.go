package resource

import (
	"reflect"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestRules: one rule per group version, in order, each scoped to what its
// kinds hold.
func TestRules(t *testing.T) {
	kinds := []Kind{
		{GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Resource: "deployments", Namespaced: true},
		{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, Resource: "pods", Namespaced: true},
		{GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}, Resource: "daemonsets", Namespaced: true},
		{GVK: schema.GroupVersionKind{Group: "x.io", Version: "v2", Kind: "A"}, Resource: "as", Namespaced: true},
		{GVK: schema.GroupVersionKind{Group: "x.io", Version: "v2", Kind: "B"}, Resource: "bs"},
		{GVK: schema.GroupVersionKind{Group: "y.io", Version: "v1", Kind: "C"}, Resource: "cs"},
	}
	namespaced, all, cluster := admissionregistrationv1.NamespacedScope, admissionregistrationv1.AllScopes, admissionregistrationv1.ClusterScope
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.Create}
	rule := func(group, version string, scope *admissionregistrationv1.ScopeType, resources ...string) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{Operations: ops, Rule: admissionregistrationv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{version}, Resources: resources, Scope: scope}}
	}
	want := []admissionregistrationv1.RuleWithOperations{
		rule("apps", "v1", &namespaced, "deployments", "daemonsets"),
		rule("", "v1", &namespaced, "pods"),
		rule("x.io", "v2", &all, "as", "bs"),
		rule("y.io", "v1", &cluster, "cs"),
	}
	if got := Rules(kinds, ops...); !reflect.DeepEqual(got, want) {
		t.Errorf("Rules:\n got %+v\nwant %+v", got, want)
	}
}
