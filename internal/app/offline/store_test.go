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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
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

// TestStoreTrims: what the store records has no managedFields, no kubectl
// last-applied copy and no status, and keeps the annotations the rules
// read; the caller's object stays whole (check judges what it stores).
func TestStoreTrims(t *testing.T) {
	ctx := context.Background()
	const lastApplied = corev1.LastAppliedConfigAnnotation
	meta := func(annotations ...string) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Namespace: "team", Name: "x", UID: "u1",
			Annotations:   map[string]string{lastApplied: `{"apiVersion":"v1","kind":"Big"}`},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-client-side-apply", FieldsV1: metav1.NewFieldsV1(`{"f:spec":{}}`)}}}
		for i := 0; i < len(annotations); i += 2 {
			m.Annotations[annotations[i]] = annotations[i+1]
		}
		return m
	}
	// withStatus is obj, unstructured, of kind gvk and with a status.
	withStatus := func(t *testing.T, obj any, gvk schema.GroupVersionKind) *unstructured.Unstructured {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(gvk)
		u.Object["status"] = map[string]any{"nodes": map[string]any{"node-1": "OK"}}
		return u
	}
	cilium := netpol.KindCiliumNetworkPolicy.GVK
	for _, tt := range []struct {
		name string
		// add records an object and returns it; read reads it back.
		add             func(*testing.T, *Store) metav1.Object
		read            func(*testing.T, *Store) (metav1.Object, error)
		wantAnnotations map[string]string
	}{{
		name: "NetworkPolicy: what compiles, no annotation",
		add: func(t *testing.T, s *Store) metav1.Object {
			np := &networkingv1.NetworkPolicy{ObjectMeta: meta("example.com/owner", "team")}
			s.AddNetworkPolicy(np)
			return np
		},
		read: func(t *testing.T, s *Store) (metav1.Object, error) {
			var l networkingv1.NetworkPolicyList
			err := s.List(ctx, &l, client.InNamespace("team"))
			return &l.Items[0], err
		},
	}, {
		name: "Ingress: the LBC's annotations and the class",
		add: func(t *testing.T, s *Store) metav1.Object {
			ing := &networkingv1.Ingress{ObjectMeta: meta(lbtls.AnnotationGroupName, "shared", lbtls.AnnotationIngressClass, "alb",
				"external-dns.alpha.kubernetes.io/hostname", "x.example.com")}
			s.AddIngress(ing)
			return ing
		},
		read: func(t *testing.T, s *Store) (metav1.Object, error) {
			var l networkingv1.IngressList
			err := s.List(ctx, &l, client.MatchingFields{lbtls.IngressGroupNameField: "shared"})
			return &l.Items[0], err
		},
		wantAnnotations: map[string]string{lbtls.AnnotationGroupName: "shared", lbtls.AnnotationIngressClass: "alb"},
	}, {
		name: "policy object: other annotations kept, status dropped",
		add: func(t *testing.T, s *Store) metav1.Object {
			u := withStatus(t, &struct {
				metav1.ObjectMeta `json:"metadata"`
				Spec              map[string]any `json:"spec"`
			}{meta("example.com/owner", "team"), map[string]any{"endpointSelector": map[string]any{}}}, cilium)
			s.AddPolicyObject(u)
			return u
		},
		read: func(t *testing.T, s *Store) (metav1.Object, error) {
			l := &unstructured.UnstructuredList{}
			l.SetGroupVersionKind(cilium.GroupVersion().WithKind(cilium.Kind + "List"))
			err := s.List(ctx, l, client.InNamespace("team"))
			if _, ok := l.Items[0].Object["status"]; ok {
				t.Error("status kept")
			}
			if l.Items[0].Object["spec"] == nil {
				t.Error("spec dropped")
			}
			return &l.Items[0], err
		},
		wantAnnotations: map[string]string{"example.com/owner": "team"},
	}, {
		name: "ACK Listener",
		add: func(t *testing.T, s *Store) metav1.Object {
			u := withStatus(t, &lbtls.ACKListener{ObjectMeta: meta("example.com/owner", "team")}, lbtls.ACKListenerGVK)
			if err := s.AddACKObject(u); err != nil {
				t.Fatal(err)
			}
			return u
		},
		read: func(t *testing.T, s *Store) (metav1.Object, error) {
			return s.ACKListener(ctx, "team/x")
		},
		wantAnnotations: map[string]string{"example.com/owner": "team"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore()
			in := tt.add(t, s)
			got, err := tt.read(t, s)
			if err != nil {
				t.Fatal(err)
			}
			if got.GetName() != "x" || got.GetUID() != "u1" || got.GetManagedFields() != nil || !maps.Equal(got.GetAnnotations(), tt.wantAnnotations) {
				t.Errorf("stored %s/%s uid %q, managedFields %v, annotations %v; want x, u1, none and %v",
					got.GetNamespace(), got.GetName(), got.GetUID(), got.GetManagedFields(), got.GetAnnotations(), tt.wantAnnotations)
			}
			if _, ok := in.GetAnnotations()[lastApplied]; !ok || in.GetManagedFields() == nil {
				t.Errorf("the caller's object was trimmed: %v, %v", in.GetAnnotations(), in.GetManagedFields())
			}
		})
	}
}
