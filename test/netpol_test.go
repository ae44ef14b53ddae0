package test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	eksconfig "github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/netpol"
)

const (
	netpolPodWebhook      = "networkpolicy.pods.eksguard.io"
	netpolWorkloadWebhook = "networkpolicy.workloads.eksguard.io"
	netpolFix             = "add one that selects it, e.g. a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]"
)

func netpolPod(ns, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/web:1.0"}}},
	}
}

// createNetworkPolicy creates a NetworkPolicy with the given pod selector and
// both policy types.
func createNetworkPolicy(t *testing.T, ns, name string, selector metav1.LabelSelector) *networkingv1.NetworkPolicy {
	t.Helper()
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: selector,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}
	if err := k8sClient.Create(context.Background(), np); err != nil {
		t.Fatalf("creating NetworkPolicy %s: %v", name, err)
	}
	return np
}

// assertDenied checks that err is the webhook's 403 with exactly reason.
func assertDenied(t *testing.T, err error, webhook, reason string) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Fatalf("got error %v, want Forbidden", err)
	}
	want := fmt.Sprintf("admission webhook %q denied the request: %s", webhook, reason)
	if err.Error() != want {
		t.Errorf("denial:\n got %q\nwant %q", err.Error(), want)
	}
}

// TestNetpolPodDeniedUntilCovered: a pod in a namespace without NetworkPolicy
// is denied, and admitted once a default-deny policy exists.
func TestNetpolPodDeniedUntilCovered(t *testing.T) {
	ns := newNamespace(t, nil)
	err := k8sClient.Create(context.Background(), netpolPod(ns, "web", map[string]string{"app": "web"}))
	assertDenied(t, err, netpolPodWebhook, fmt.Sprintf("eksguard denied this Pod: [networkPolicy] metadata.labels: "+
		"Namespace %s has no NetworkPolicy to select Pod web (labels app=web); %s", ns, netpolFix))

	createNetworkPolicy(t, ns, "default-deny", metav1.LabelSelector{})
	if err := k8sClient.Create(context.Background(), netpolPod(ns, "web", map[string]string{"app": "web"})); err != nil {
		t.Fatalf("create after the default-deny policy: %v", err)
	}
}

// TestNetpolPolicyCreatedJustBefore: a policy created immediately before the
// pod, as in one kubectl apply, counts. Each round uses a fresh label, so
// only the policy created just before can cover the pod.
func TestNetpolPolicyCreatedJustBefore(t *testing.T) {
	ns := newNamespace(t, nil)
	for i := range 20 {
		app := fmt.Sprintf("web-%d", i)
		createNetworkPolicy(t, ns, app, metav1.LabelSelector{MatchLabels: map[string]string{"app": app}})
		if err := k8sClient.Create(context.Background(), netpolPod(ns, app, map[string]string{"app": app})); err != nil {
			t.Fatalf("round %d: create right after the policy: %v", i, err)
		}
	}
}

const (
	staleIndexPath    = "/test-netpol-stale-index"
	staleIndexWebhook = "stale-index.test.eksguard.io"
	staleIndexLabel   = "test.eksguard.io/netpol-stale-index"
)

var registerStaleIndexOnce sync.Once

// TestNetpolLiveReadBeforeDenial: locally the informer usually delivers a
// new policy before the next request arrives, so the test above passes with
// or without the live read. Here a pod validator with the default policy
// runs with an index that never sees any policy, the most stale cache there
// is, behind a webhook configuration of its own, while the server's rule is
// off: a pod is admitted as soon as its policy exists, which only the live
// read can know, and an uncovered pod is still denied.
func TestNetpolLiveReadBeforeDenial(t *testing.T) {
	ctx := context.Background()
	registerStaleIndexOnce.Do(func() {
		testServer.Manager.GetWebhookServer().Register(staleIndexPath, &crwebhook.Admission{Handler: netpol.NewPodHandler(&netpol.Checker{
			Decider: decision.Decider{Policy: eksconfig.NewStore(eksconfig.DefaultPolicy(eksguardNamespace))},
			Index:   netpol.NewIndex(),
			Live:    k8sClient,
		})})
	})
	applyPolicy(t, `
apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  networkPolicy:
    mode: "off"
`)
	ns := newNamespace(t, nil)
	wio := testEnv.WebhookInstallOptions
	url := fmt.Sprintf("https://%s%s", net.JoinHostPort(wio.LocalServingHost, fmt.Sprint(wio.LocalServingPort)), staleIndexPath)
	config := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "eksguard-test-stale-index-"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    staleIndexWebhook,
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: wio.LocalServingCAData},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			ObjectSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{staleIndexLabel: "true"}},
		}},
	}
	if err := k8sClient.Create(ctx, config); err != nil {
		t.Fatalf("creating the webhook configuration: %v", err)
	}
	t.Cleanup(func() {
		if err := k8sClient.Delete(ctx, config); err != nil {
			t.Errorf("deleting the webhook configuration: %v", err)
		}
	})
	createNetworkPolicy(t, ns, "web", metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}})

	// Wait until the API server calls the stale-index webhook: an api pod,
	// covered by no policy, is then denied.
	want := fmt.Sprintf("admission webhook %q denied the request: eksguard denied this Pod: [networkPolicy] metadata.labels: "+
		"The only NetworkPolicy in namespace %s does not select Pod api (labels app=api,%s=true); %s", staleIndexWebhook, ns, staleIndexLabel, netpolFix)
	eventually(t, policyTimeout, func() error {
		err := k8sClient.Create(ctx, netpolPod(ns, "api", map[string]string{"app": "api", staleIndexLabel: "true"}), client.DryRunAll)
		if err == nil || err.Error() != want {
			return fmt.Errorf("got %v, want %s", err, want)
		}
		return nil
	})

	if err := k8sClient.Create(ctx, netpolPod(ns, "web", map[string]string{"app": "web", staleIndexLabel: "true"})); err != nil {
		t.Fatalf("create a pod its policy covers: %v", err)
	}
	createNetworkPolicy(t, ns, "api", metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}})
	if err := k8sClient.Create(ctx, netpolPod(ns, "api", map[string]string{"app": "api", staleIndexLabel: "true"})); err != nil {
		t.Fatalf("create right after its policy: %v", err)
	}
}

// TestNetpolDeploymentDeniedAtApply: the pod template is checked when the
// Deployment is applied, not only when its ReplicaSet creates pods.
func TestNetpolDeploymentDeniedAtApply(t *testing.T) {
	ns := newNamespace(t, nil)
	createNetworkPolicy(t, ns, "db", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"db", "cache"}},
	}})
	labels := map[string]string{"app": "web"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/web:1.0"}}},
			},
		},
	}
	err := k8sClient.Create(context.Background(), deploy)
	assertDenied(t, err, netpolWorkloadWebhook, fmt.Sprintf("eksguard denied this Deployment: [networkPolicy] spec.template.metadata.labels: "+
		"The only NetworkPolicy in namespace %s does not select Deployment web's pod template (labels app=web); %s", ns, netpolFix))
}

// TestNetpolRelabelOutOfCoverage: a label change that takes a running pod out
// of every policy is denied; one that stays covered is not.
func TestNetpolRelabelOutOfCoverage(t *testing.T) {
	ns := newNamespace(t, nil)
	createNetworkPolicy(t, ns, "web", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "app", Operator: metav1.LabelSelectorOpExists},
		{Key: "debug", Operator: metav1.LabelSelectorOpDoesNotExist},
	}})
	pod := netpolPod(ns, "web", map[string]string{"app": "web"})
	if err := k8sClient.Create(context.Background(), pod); err != nil {
		t.Fatalf("create: %v", err)
	}

	covered := pod.DeepCopy()
	covered.Labels["version"] = "2"
	if err := k8sClient.Update(context.Background(), covered); err != nil {
		t.Fatalf("relabel within coverage: %v", err)
	}

	uncovered := covered.DeepCopy()
	uncovered.Labels["debug"] = "true"
	err := k8sClient.Update(context.Background(), uncovered)
	assertDenied(t, err, netpolPodWebhook, fmt.Sprintf("eksguard denied this Pod: [networkPolicy] metadata.labels: "+
		"The only NetworkPolicy in namespace %s does not select Pod web (labels app=web,debug=true,version=2); %s", ns, netpolFix))
}

// TestNetpolWarnMode: in warn mode the pod is admitted and the client sees
// the warning.
func TestNetpolWarnMode(t *testing.T) {
	applyPolicy(t, `
apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  networkPolicy:
    mode: warn
`)
	ns := newNamespace(t, nil)
	c, warnings := newWarningClient(t)
	if err := c.Create(context.Background(), netpolPod(ns, "web", map[string]string{"app": "web"})); err != nil {
		t.Fatalf("create: %v", err)
	}
	want := []string{"eksguard [networkPolicy] No NetworkPolicy selects Pod web; add a default-deny (podSelector: {})"}
	if got := warnings.Messages(); !slices.Equal(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}

// TestNetpolDeleteWarning: deleting the policy that covers a namespace's pods
// succeeds, with a warning that counts the pods it leaves uncovered.
func TestNetpolDeleteWarning(t *testing.T) {
	ns := newNamespace(t, nil)
	deny := createNetworkPolicy(t, ns, "default-deny", metav1.LabelSelector{})
	createNetworkPolicy(t, ns, "db", metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}})
	for _, p := range []*corev1.Pod{
		netpolPod(ns, "web-1", map[string]string{"app": "web"}),
		netpolPod(ns, "web-2", map[string]string{"app": "web"}),
		netpolPod(ns, "db-1", map[string]string{"app": "db"}),
	} {
		if err := k8sClient.Create(context.Background(), p); err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
	}
	c, warnings := newWarningClient(t)
	if err := c.Delete(context.Background(), deny); err != nil {
		t.Fatalf("delete: %v", err)
	}
	want := []string{fmt.Sprintf("eksguard [networkPolicy] Deleting NetworkPolicy default-deny leaves 2 pods in namespace %s uncovered", ns)}
	if got := warnings.Messages(); !slices.Equal(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
	if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(deny), &networkingv1.NetworkPolicy{}); !apierrors.IsNotFound(err) {
		t.Errorf("the NetworkPolicy still exists: %v", err)
	}
}
