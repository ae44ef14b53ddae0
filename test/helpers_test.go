package test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
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
