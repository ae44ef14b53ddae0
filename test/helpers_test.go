package test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
)

const (
	// policyConfigMapName and policyConfigMapKey locate the policy document.
	policyConfigMapName = server.DefaultPolicyConfigMapName
	policyConfigMapKey  = "config.yaml"
	// defaultsSource is Policy.Source when no policy ConfigMap exists.
	defaultsSource = "defaults"
	// policyTimeout bounds the wait for the watcher to load a policy.
	policyTimeout = 20 * time.Second
)

// newWarningClient returns an uncached admin client whose API warnings are
// collected by the returned recorder instead of being logged.
func newWarningClient(t *testing.T) (client.Client, *testbed.WarningRecorder) {
	t.Helper()
	rec := &testbed.WarningRecorder{}
	cfg := rest.CopyConfig(restConfig)
	cfg.WarningHandler = rec
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatalf("creating a client: %v", err)
	}
	return c, rec
}

// newNamespace creates a namespace with a unique name and the given labels,
// and deletes it when the test ends. (envtest runs no namespace controller,
// so its objects stay behind; unique names keep tests apart.)
func newNamespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "eksguard-test-", Labels: labels}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := k8sClient.Delete(context.Background(), ns); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// applyPolicy writes doc as the policy ConfigMap and waits until the server
// enforces it. When the test ends the ConfigMap is deleted and the server is
// back on the built-in defaults.
func applyPolicy(t *testing.T, doc string) {
	t.Helper()
	if err := testbed.WaitForPolicy(testServer.Store, testbed.PolicySource(writePolicy(t, doc)), policyTimeout); err != nil {
		t.Fatal(err)
	}
	waitForSeccompAdmissionPolicy(t)
}

// waitForSeccompAdmissionPolicy waits until the API server's seccomp
// admission policy does what the policy in force asks (eksguard
// re-renders it within a second, and the API server picks that up a moment
// later): a pod without a profile, in a namespace the policy judges, is
// given RuntimeDefault when seccomp enforces, and only then.
func waitForSeccompAdmissionPolicy(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	ns := admissionPolicyProbeNamespace(t)
	p := testServer.Store.Current()
	d := p.Decide(config.RuleSeccomp, p.Config.Rules.Seccomp.Mode, config.Subject{Namespace: ns, NamespaceLabels: labels.Set{corev1.LabelMetadataName: ns}}, time.Now())
	want := d.Mode == config.ModeEnforce
	eventually(t, 20*time.Second, func() error {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "probe-", Labels: map[string]string{"app": "probe"},
			OwnerReferences: ownedByReplicaSet("probe")},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}}}
		if err := k8sClient.Create(ctx, pod, client.DryRunAll); err != nil {
			return fmt.Errorf("probing the seccomp admission policy: %w", err)
		}
		if got := pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.SeccompProfile != nil; got != want {
			var bindings admissionregistrationv1.MutatingAdmissionPolicyBindingList
			_ = k8sClient.List(ctx, &bindings)
			names := []string{}
			for _, b := range bindings.Items {
				names = append(names, b.Name)
			}
			return fmt.Errorf("a pod without a profile is given one: %v, want %v (bindings %v, policy %s)", got, want, names, p.Source)
		}
		return nil
	})
}

var (
	probeNamespaceOnce sync.Once
	probeNamespace     string
)

// admissionPolicyProbeNamespace is a namespace the suite keeps covered
// (default-deny and the DNS allow), so that probe pods are admitted.
func admissionPolicyProbeNamespace(t *testing.T) string {
	probeNamespaceOnce.Do(func() {
		ctx := context.Background()
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "eksguard-probe-"}}
		if err := k8sClient.Create(ctx, ns); err != nil {
			t.Fatalf("creating the probe namespace: %v", err)
		}
		deny := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "default-deny"},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}}
		for _, obj := range []client.Object{deny, allowDNS(ns.Name)} {
			if err := k8sClient.Create(ctx, obj); err != nil {
				t.Fatalf("covering the probe namespace: %v", err)
			}
		}
		probeNamespace = ns.Name
	})
	return probeNamespace
}

// writePolicy creates or updates the policy ConfigMap with doc and returns
// its resourceVersion, without waiting for the server. Tests of rejected
// documents use it directly. Cleanup deletes the ConfigMap and waits for the
// defaults.
func writePolicy(t *testing.T, doc string) (resourceVersion string) {
	t.Helper()
	rv, err := testbed.WritePolicy(context.Background(), k8sClient, doc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePolicy(t) })
	return rv
}

// deletePolicy deletes the policy ConfigMap and waits for the defaults.
func deletePolicy(t *testing.T) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: testbed.PolicyConfigMap.Namespace, Name: testbed.PolicyConfigMap.Name}}
	if err := k8sClient.Delete(context.Background(), cm); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("deleting policy ConfigMap: %v", err)
	}
	if err := testbed.WaitForPolicy(testServer.Store, defaultsSource, policyTimeout); err != nil {
		t.Fatal(err)
	}
	waitForSeccompAdmissionPolicy(t)
}

// policySource is the Policy.Source the watcher records for a ConfigMap
// resourceVersion.
func policySource(resourceVersion string) string { return testbed.PolicySource(resourceVersion) }

// eventually calls check until it returns nil, and fails the test with the
// last error if that does not happen within timeout.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	if err := testbed.Eventually(timeout, check); err != nil {
		t.Fatal(err)
	}
}

// allowDNS is "Default Deny + DNS Allow"'s second half (EKS best
// practices, network security): egress to CoreDNS on UDP and TCP 53, so the
// DNS step has nothing to say about the namespace's pods.
func allowDNS(namespace string) *networkingv1.NetworkPolicy {
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	port := intstr.FromInt32(53)
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "allow-dns"},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "kube-system"}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
				}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &port}, {Protocol: &tcp, Port: &port}},
			}},
		},
	}
}

// ownedByReplicaSet makes a test pod a controller's, as most pods are: a
// pod no controller owns gets a standalonePods warning of its own. Nothing
// collects garbage in envtest, so the owner need not exist.
func ownedByReplicaSet(name string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name, UID: "00000000-0000-0000-0000-000000000001", Controller: ptr.To(true)}}
}

// webhookCalls is how many requests the suite's webhook server has served
// on path (controller-runtime's controller_runtime_webhook_requests_total).
func webhookCalls(t *testing.T, path string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_webhook_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "webhook" && l.GetValue() == path {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// removeSeccompAdmissionPolicy deletes, when the test ends, the seccomp
// admission policy and binding a server it starts writes under name
// (<webhook-configuration-name>-seccomp): envtest runs no garbage
// collector, so they would outlive their owner and inject into every later
// test's pods.
func removeSeccompAdmissionPolicy(t *testing.T, name string) {
	t.Cleanup(func() {
		for _, obj := range []client.Object{
			&admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name}},
			&admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}},
		} {
			if err := k8sClient.Delete(context.Background(), obj); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting %s: %v", name, err)
			}
		}
	})
}
