package offline

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/webhook/lbtls"
)

func TestObjectStore(t *testing.T) {
	ctx := context.Background()
	store := NewStore()
	store.AddNamespace("team", map[string]string{"tier": "web"})
	store.AddNetworkPolicy(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "a"}})
	store.AddNetworkPolicy(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "b"}})
	store.AddNetworkPolicy(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "c"}})
	grouped := func(ns, name, group string) *networkingv1.Ingress {
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if group != "" {
			ing.Annotations = map[string]string{lbtls.AnnotationGroupName: group}
		}
		return ing
	}
	store.AddIngress(grouped("team", "web", "shared"))
	store.AddIngress(grouped("other", "api", "shared"))
	store.AddIngress(grouped("team", "alone", ""))

	var policies networkingv1.NetworkPolicyList
	if err := store.List(ctx, &policies, client.InNamespace("team")); err != nil {
		t.Fatal(err)
	}
	if names := policyNames(policies.Items); !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("NetworkPolicies of team: %v", names)
	}
	if policies.Items[0].UID == "" || policies.Items[0].UID == policies.Items[1].UID {
		t.Errorf("NetworkPolicies need distinct UIDs for the index: %q, %q", policies.Items[0].UID, policies.Items[1].UID)
	}

	var group networkingv1.IngressList
	if err := store.List(ctx, &group, client.MatchingFields{lbtls.IngressGroupNameField: "shared"}); err != nil {
		t.Fatal(err)
	}
	if len(group.Items) != 2 || group.Items[0].Name != "web" || group.Items[1].Name != "api" {
		t.Errorf("group shared: %+v", group.Items)
	}

	for name, labels := range map[string]map[string]string{
		"team":    {"tier": "web", corev1.LabelMetadataName: "team"},
		"unknown": {corev1.LabelMetadataName: "unknown"},
	} {
		ns := &metav1.PartialObjectMetadata{}
		ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
		if err := store.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(ns.Labels, labels) {
			t.Errorf("labels of namespace %s: %v, want %v", name, ns.Labels, labels)
		}
	}

	// Reads the handlers do not make fail instead of answering wrongly.
	for name, read := range map[string]func() error{
		"NetworkPolicies of every namespace": func() error { return store.List(ctx, &networkingv1.NetworkPolicyList{}) },
		"Ingresses without a group":          func() error { return store.List(ctx, &networkingv1.IngressList{}) },
		"Ingresses by label":                 func() error { return store.List(ctx, &networkingv1.IngressList{}, client.MatchingLabels{"a": "b"}) },
		"Deployments":                        func() error { return store.List(ctx, &appsv1.DeploymentList{}) },
		"a Pod":                              func() error { return store.Get(ctx, client.ObjectKey{Name: "p"}, &corev1.Pod{}) },
	} {
		if err := read(); err == nil || !strings.HasPrefix(err.Error(), "offline reader: ") {
			t.Errorf("%s: error %v, want an offline reader error", name, err)
		}
	}
}

func policyNames(items []networkingv1.NetworkPolicy) []string {
	names := make([]string, len(items))
	for i := range items {
		names[i] = items[i].Name
	}
	return names
}
