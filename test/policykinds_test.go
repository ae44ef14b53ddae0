package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	eksconfig "github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/cli"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/netpol"
)

// watchedKinds reads the in-process server's eksguard_policy_kind_watched gauge.
func testServerWatchedKinds() []string {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return []string{"gathering metrics: " + err.Error()}
	}
	var kinds []string
	for _, f := range families {
		if f.GetName() != netpol.MetricKindWatched {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetGauge().GetValue() == 1 {
				for _, l := range m.GetLabel() {
					kinds = append(kinds, l.GetValue())
				}
			}
		}
	}
	slices.Sort(kinds)
	return kinds
}

// discoveryTimeout bounds the wait for eksguard to start watching a kind
// whose CRD appears, or to stop once it goes.
const discoveryTimeout = 30 * time.Second

// createPolicyObject creates an object of a custom policy kind and deletes
// it when the test ends (cluster-scoped ones would cover other tests' pods).
func createPolicyObject(t *testing.T, kind *netpol.PolicyKind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetGroupVersionKind(kind.GVK)
	u.SetNamespace(namespace)
	u.SetName(name)
	if err := k8sClient.Create(context.Background(), u); err != nil {
		t.Fatalf("creating %s %s: %v", kind.Name, name, err)
	}
	t.Cleanup(func() {
		if err := k8sClient.Delete(context.Background(), u); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting %s %s: %v", kind.Name, name, err)
		}
	})
	return u
}

// TestPolicyKindsApplicationNetworkPolicy: in a namespace without any
// NetworkPolicy, an EKS ApplicationNetworkPolicy that lists a policy type
// covers the pod; one without types or rules isolates nothing
// (aws-network-policy-agent deriveDefaultPodIsolation), and the denial
// names the kind that was considered.
func TestPolicyKindsApplicationNetworkPolicy(t *testing.T) {
	ns := newNamespace(t, nil)
	createPolicyObject(t, netpol.KindApplicationNetworkPolicy, ns, "selects-only", map[string]any{"podSelector": map[string]any{}})
	err := k8sClient.Create(context.Background(), netpolPod(ns, "web", map[string]string{"app": "web"}))
	assertDenied(t, err, netpolPodWebhook, fmt.Sprintf("eksguard denied this Pod: [networkPolicy] metadata.labels: "+
		"None of the 1 policies that apply in namespace %s (ApplicationNetworkPolicy) selects Pod web (labels app=web); %s", ns, netpolFix))

	createPolicyObject(t, netpol.KindApplicationNetworkPolicy, ns, "web-ingress", map[string]any{
		"podSelector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
		"policyTypes": []any{"Ingress"},
	})
	if err := k8sClient.Create(context.Background(), netpolPod(ns, "web", map[string]string{"app": "web"})); err != nil {
		t.Fatalf("create with an ApplicationNetworkPolicy that isolates it: %v", err)
	}
}

// TestPolicyKindsAWSBaselineClusterNetworkPolicy: an EKS Baseline-tier
// ClusterNetworkPolicy whose subject is namespaces by label covers their
// pods only through a Deny rule that catches every peer (evaluateFlow in
// the agent's tc.v4egress.bpf.c drops only on a matching Deny).
func TestPolicyKindsAWSBaselineClusterNetworkPolicy(t *testing.T) {
	marker := map[string]string{"eksguard.io/test-baseline": "deny"}
	covered := newNamespace(t, marker)
	other := newNamespace(t, nil)
	subject := map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"eksguard.io/test-baseline": "deny"}}}
	createPolicyObject(t, netpol.KindAWSClusterNetworkPolicy, "", "test-baseline-accept", map[string]any{
		"tier": "Baseline", "priority": int64(10), "subject": subject,
		"ingress": []any{map[string]any{"action": "Accept", "from": []any{map[string]any{"namespaces": map[string]any{}}}}},
	})
	err := k8sClient.Create(context.Background(), netpolPod(covered, "web", map[string]string{"app": "web"}))
	assertDenied(t, err, netpolPodWebhook, fmt.Sprintf("eksguard denied this Pod: [networkPolicy] metadata.labels: "+
		"None of the 1 policies that apply in namespace %s (ClusterNetworkPolicy.networking.k8s.aws) selects Pod web (labels app=web); %s",
		covered, netpolFix))

	createPolicyObject(t, netpol.KindAWSClusterNetworkPolicy, "", "test-baseline-deny", map[string]any{
		"tier": "Baseline", "priority": int64(20), "subject": subject,
		"ingress": []any{map[string]any{"action": "Deny", "from": []any{map[string]any{"namespaces": map[string]any{}}}}},
	})
	if err := k8sClient.Create(context.Background(), netpolPod(covered, "web", map[string]string{"app": "web"})); err != nil {
		t.Fatalf("create in a namespace of the subject: %v", err)
	}
	if err := k8sClient.Create(context.Background(), netpolPod(other, "web", map[string]string{"app": "web"})); !apierrors.IsForbidden(err) {
		t.Fatalf("create outside the subject: got %v, want a denial", err)
	}
}

// TestPolicyKindsCilium: a CiliumNetworkPolicy selects in its own
// namespace, a CiliumClusterwideNetworkPolicy by the special namespace key;
// a direction with rules is default-deny (api.Rule.Sanitize).
func TestPolicyKindsCilium(t *testing.T) {
	ns := newNamespace(t, nil)
	createPolicyObject(t, netpol.KindCiliumNetworkPolicy, ns, "web", map[string]any{
		"endpointSelector": map[string]any{"matchLabels": map[string]any{"k8s:app": "web"}},
		"ingress":          []any{map[string]any{}},
	})
	if err := k8sClient.Create(context.Background(), netpolPod(ns, "web", map[string]string{"app": "web"})); err != nil {
		t.Fatalf("create with a CiliumNetworkPolicy: %v", err)
	}
	if err := k8sClient.Create(context.Background(), netpolPod(ns, "db", map[string]string{"app": "db"})); !apierrors.IsForbidden(err) {
		t.Fatalf("create of a pod the CiliumNetworkPolicy does not select: got %v, want a denial", err)
	}

	createPolicyObject(t, netpol.KindCiliumClusterwideNetworkPolicy, "", "test-"+ns, map[string]any{
		"endpointSelector": map[string]any{"matchLabels": map[string]any{"k8s:io.kubernetes.pod.namespace": ns}},
		"egressDeny":       []any{map[string]any{"toEntities": []any{"world"}}},
	})
	if err := k8sClient.Create(context.Background(), netpolPod(ns, "db", map[string]string{"app": "db"})); err != nil {
		t.Fatalf("create with a CiliumClusterwideNetworkPolicy for the namespace: %v", err)
	}
}

// TestPolicyKindsCRDInstalledLater: a kind whose CRD goes while eksguard
// runs stops counting, and counts again once the CRD is installed anew,
// without a restart. (The suite starts with every policy kind's CRD.)
func TestPolicyKindsCRDInstalledLater(t *testing.T) {
	for _, tt := range []struct {
		crd    string
		kind   *netpol.PolicyKind
		policy func(ns string) (namespace string, spec map[string]any)
	}{
		{crd: "policy.networking.k8s.io_clusternetworkpolicies.yaml", kind: netpol.KindClusterNetworkPolicy,
			policy: func(ns string) (string, map[string]any) {
				return "", map[string]any{
					"tier": "Admin", "priority": int64(5),
					"subject": map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{corev1.LabelMetadataName: ns}}},
					"egress": []any{map[string]any{"action": "Deny", "to": []any{map[string]any{
						"networks": []any{"0.0.0.0/0", "::/0"},
					}}}},
				}
			}},
		{crd: "projectcalico.org_networkpolicies.yaml", kind: netpol.KindCalicoNetworkPolicy,
			policy: func(ns string) (string, map[string]any) {
				return ns, map[string]any{"selector": "app == 'web'", "types": []any{"Ingress"}}
			}},
	} {
		t.Run(tt.kind.Name, func(t *testing.T) { crdInstalledLater(t, tt.crd, tt.kind, tt.policy) })
	}
}

// uninstallCRDs uninstalls the CRDs of the files at paths for the test,
// and reinstalls them when it ends, so that the suite's other tests find
// them served again whatever happens; it returns the options that install
// them.
func uninstallCRDs(t *testing.T, paths ...string) envtest.CRDInstallOptions {
	t.Helper()
	crdOptions := envtest.CRDInstallOptions{Paths: paths, ErrorIfPathMissing: true}
	uninstall := crdOptions
	if err := envtest.ReadCRDFiles(&uninstall); err != nil {
		t.Fatal(err)
	}
	if err := envtest.UninstallCRDs(restConfig, uninstall); err != nil {
		t.Fatalf("uninstalling CRDs %v: %v", paths, err)
	}
	t.Cleanup(func() {
		if _, err := envtest.InstallCRDs(restConfig, crdOptions); err != nil {
			t.Errorf("reinstalling CRDs %v: %v", paths, err)
		}
	})
	return crdOptions
}

func crdInstalledLater(t *testing.T, crd string, kind *netpol.PolicyKind, policy func(ns string) (string, map[string]any)) {
	ctx := context.Background()
	crdOptions := uninstallCRDs(t, filepath.Join("crds", "served", crd))
	ns := newNamespace(t, nil)
	pod := func() error {
		return k8sClient.Create(ctx, netpolPod(ns, "web", map[string]string{"app": "web"}), client.DryRunAll)
	}
	eventually(t, discoveryTimeout, func() error {
		if kinds := testServerWatchedKinds(); slices.Contains(kinds, kind.Name) {
			return fmt.Errorf("still watched after its CRD is gone: %v", kinds)
		}
		return nil
	})
	if err := pod(); !apierrors.IsForbidden(err) {
		t.Fatalf("with no policy: got %v, want a denial", err)
	}

	if _, err := envtest.InstallCRDs(restConfig, crdOptions); err != nil {
		t.Fatalf("installing the %s CRD: %v", kind.Name, err)
	}
	namespace, spec := policy(ns)
	createPolicyObject(t, kind, namespace, "test-"+ns, spec)
	eventually(t, discoveryTimeout, func() error {
		if err := pod(); err != nil {
			return fmt.Errorf("a pod under the reinstalled kind's policy: %w", err)
		}
		return nil
	})
	if kinds := testServerWatchedKinds(); !slices.Contains(kinds, kind.Name) {
		t.Errorf("watched kinds %v lack %s", kinds, kind.Name)
	}
}

// TestPolicyKindsAllWatched: with every CRD served, every kind is watched
// and /readyz passed (the suite waited for it).
func TestPolicyKindsAllWatched(t *testing.T) {
	var want []string
	for _, k := range netpol.Kinds {
		want = append(want, k.Name)
	}
	slices.Sort(want)
	eventually(t, discoveryTimeout, func() error {
		if got := testServerWatchedKinds(); !slices.Equal(got, want) {
			return fmt.Errorf("watched %v, want %v", got, want)
		}
		return nil
	})
}

// TestPolicyKindsDeleteWarning: deleting the ClusterNetworkPolicy that
// covers running pods succeeds, with a warning that counts them.
func TestPolicyKindsDeleteWarning(t *testing.T) {
	ns := newNamespace(t, map[string]string{"eksguard.io/test-delete": "x"})
	cnp := createPolicyObject(t, netpol.KindAWSClusterNetworkPolicy, "", "test-del", map[string]any{
		"tier": "Admin", "priority": int64(30),
		"subject": map[string]any{"pods": map[string]any{
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{"eksguard.io/test-delete": "x"}},
			"podSelector":       map[string]any{},
		}},
		"ingress": []any{map[string]any{"action": "Deny", "from": []any{map[string]any{"namespaces": map[string]any{}}}}},
	})
	for _, name := range []string{"web-1", "web-2"} {
		if err := k8sClient.Create(context.Background(), netpolPod(ns, name, map[string]string{"app": "web"})); err != nil {
			t.Fatalf("create pod %s: %v", name, err)
		}
	}
	c, warnings := newWarningClient(t)
	if err := c.Delete(context.Background(), cnp); err != nil {
		t.Fatalf("delete: %v", err)
	}
	detail := fmt.Sprintf("Deleting ClusterNetworkPolicy.networking.k8s.aws test-del (Admin tier) leaves 2 pods in namespace %s uncovered", ns)
	want := []string{decision.Finding{Rule: eksconfig.RuleNetworkPolicy, Detail: detail}.WarningText()}
	if got := warnings.Messages(); !slices.Equal(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}

// TestPolicyKindsAudit: audit lists the custom policy kinds (a namespaced
// one for -n, the cluster-scoped ones everywhere) and judges with them as
// the webhook does: a Deployment covered only by a CiliumNetworkPolicy, and
// one only by an EKS ClusterNetworkPolicy, are admitted.
func TestPolicyKindsAudit(t *testing.T) {
	applyPolicy(t, dryRunPolicy)
	cilium := newNamespace(t, nil)
	aws := newNamespace(t, map[string]string{"eksguard.io/test-audit": "baseline"})
	createPolicyObject(t, netpol.KindCiliumNetworkPolicy, cilium, "ingress", map[string]any{
		"endpointSelector": map[string]any{}, "ingress": []any{map[string]any{}},
	})
	createPolicyObject(t, netpol.KindAWSClusterNetworkPolicy, "", "test-audit-baseline", map[string]any{
		"tier": "Baseline", "priority": int64(40),
		"subject": map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"eksguard.io/test-audit": "baseline"}}},
		"ingress": []any{map[string]any{"action": "Deny", "from": []any{map[string]any{"namespaces": map[string]any{}}}}},
	})
	labels := map[string]string{"app": "web"}
	for _, ns := range []string{cilium, aws} {
		mustCreate(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: podTemplate("web")}})
	}
	deletePolicy(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, testEnv.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{cilium, aws} {
		code, stdout, stderr := runCLI(t, "audit", "--kubeconfig", kubeconfig, "-n", ns, "-o", "json")
		if code != cli.ExitClean || stderr != "" {
			t.Fatalf("audit -n %s: exit code %d, want %d; stderr: %s\n%s", ns, code, cli.ExitClean, stderr, stdout)
		}
		var out auditOutput
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatal(err)
		}
		if out.Summary.Checked != 1 || out.Summary.Admitted != 1 {
			t.Errorf("audit -n %s: summary %+v, want the Deployment checked and admitted", ns, out.Summary)
		}
	}
}
