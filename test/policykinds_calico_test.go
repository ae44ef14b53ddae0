package test

import (
	"context"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/webhook/netpol"
)

// createCalicoTier creates a cluster-scoped Calico Tier.
func createCalicoTier(t *testing.T, name, defaultAction string) {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"defaultAction": defaultAction, "order": int64(100)}}}
	u.SetGroupVersionKind(netpol.CalicoTierGVK)
	u.SetName(name)
	if err := k8sClient.Create(context.Background(), u); err != nil {
		t.Fatalf("creating Tier %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := k8sClient.Delete(context.Background(), u); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting Tier %s: %v", name, err)
		}
	})
}

// TestPolicyKindsCalicoNetworkPolicy: through the API server, a Calico
// NetworkPolicy covers the pods its selector (Calico's language) selects in
// its namespace, and no other pod.
func TestPolicyKindsCalicoNetworkPolicy(t *testing.T) {
	ns := newNamespace(t, nil)
	createPolicyObject(t, netpol.KindCalicoNetworkPolicy, ns, "web", map[string]any{
		"selector": "app in {'web', 'api'} && !has(legacy)", "types": []any{"Ingress"},
	})
	ctx := context.Background()
	eventually(t, discoveryTimeout, func() error {
		return k8sClient.Create(ctx, netpolPod(ns, "web", map[string]string{"app": "web"}), client.DryRunAll)
	})
	err := k8sClient.Create(ctx, netpolPod(ns, "old", map[string]string{"app": "web", "legacy": "true"}))
	assertDenied(t, err, netpolPodWebhook, fmt.Sprintf("eksguard denied this Pod: [networkPolicy] metadata.labels: "+
		"None of the 1 policies that apply in namespace %s (NetworkPolicy.projectcalico.org) selects Pod old (labels app=web,legacy=true); %s", ns, netpolFix))
}

// TestPolicyKindsCalicoPassTier: a policy in a tier whose defaultAction is
// Pass isolates nothing by itself (tiered-policy.mdx: what the tier's
// policies do not take goes on to the next tier), and does with a
// catch-all Deny rule.
func TestPolicyKindsCalicoPassTier(t *testing.T) {
	tier := "eksguard-test-pass"
	createCalicoTier(t, tier, "Pass")
	ns := newNamespace(t, nil)
	createPolicyObject(t, netpol.KindCalicoNetworkPolicy, ns, "selects-only", map[string]any{
		"tier": tier, "selector": "all()", "types": []any{"Ingress"},
		"ingress": []any{map[string]any{"action": "Allow", "protocol": "TCP"}},
	})
	ctx := context.Background()
	want := fmt.Sprintf("eksguard denied this Pod: [networkPolicy] metadata.labels: "+
		"None of the 1 policies that apply in namespace %s (NetworkPolicy.projectcalico.org) selects Pod web (labels app=web); "+
		"NetworkPolicy.projectcalico.org %s/selects-only (%s tier) selects it, but its tier passes what the policy does not take (defaultAction: Pass); %s",
		ns, ns, tier, netpolFix)
	// The Tier reaches eksguard's cache through its own informer: until
	// then the tier counts as dropping, the default.
	eventually(t, discoveryTimeout, func() error {
		err := k8sClient.Create(ctx, netpolPod(ns, "web", map[string]string{"app": "web"}), client.DryRunAll)
		if !apierrors.IsForbidden(err) {
			return fmt.Errorf("got %v, want a denial", err)
		}
		return nil
	})
	assertDenied(t, k8sClient.Create(ctx, netpolPod(ns, "web", map[string]string{"app": "web"})), netpolPodWebhook, want)

	createPolicyObject(t, netpol.KindCalicoNetworkPolicy, ns, "deny-rest", map[string]any{
		"tier": tier, "selector": "app == 'web'", "types": []any{"Ingress"},
		"ingress": []any{map[string]any{"action": "Deny"}},
	})
	eventually(t, discoveryTimeout, func() error {
		return k8sClient.Create(ctx, netpolPod(ns, "web", map[string]string{"app": "web"}), client.DryRunAll)
	})
}

// TestPolicyKindsCalicoGlobalDefaultDeny: a GlobalNetworkPolicy default-deny
// whose namespaceSelector selects by label covers a namespace created
// afterwards (globalnetworkpolicy.mdx namespaceSelector).
func TestPolicyKindsCalicoGlobalDefaultDeny(t *testing.T) {
	marker := "eksguard.io/test-calico-gnp"
	createPolicyObject(t, netpol.KindCalicoGlobalNetworkPolicy, "", "test-calico-default-deny", map[string]any{
		"namespaceSelector": marker + " == 'deny'", "selector": "all()", "types": []any{"Ingress", "Egress"},
	})
	ctx := context.Background()
	covered := newNamespace(t, map[string]string{marker: "deny"})
	eventually(t, discoveryTimeout, func() error {
		return k8sClient.Create(ctx, netpolPod(covered, "web", map[string]string{"app": "web"}), client.DryRunAll)
	})
	other := newNamespace(t, nil)
	if err := k8sClient.Create(ctx, netpolPod(other, "web", map[string]string{"app": "web"})); !apierrors.IsForbidden(err) {
		t.Fatalf("a namespace the GlobalNetworkPolicy does not select: got %v, want a denial", err)
	}
}

// TestPolicyKindsCalicoStagedNeverCounts: a StagedNetworkPolicy does not
// enforce (staged-network-policies.mdx), so it covers nothing.
func TestPolicyKindsCalicoStagedNeverCounts(t *testing.T) {
	ns := newNamespace(t, nil)
	staged := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"selector": "all()", "types": []any{"Ingress"}}}}
	staged.SetAPIVersion("projectcalico.org/v3")
	staged.SetKind("StagedNetworkPolicy")
	staged.SetNamespace(ns)
	staged.SetName("staged")
	if err := k8sClient.Create(context.Background(), staged); err != nil {
		t.Fatalf("creating the StagedNetworkPolicy: %v", err)
	}
	if err := k8sClient.Create(context.Background(), netpolPod(ns, "web", map[string]string{"app": "web"})); !apierrors.IsForbidden(err) {
		t.Fatalf("under a StagedNetworkPolicy only: got %v, want a denial", err)
	}
}
