package test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
