package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/internal/app/cli"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
)

// TestAuditAppliesBoundedReports: on a generated cluster of 5,000
// plaintext ALB Ingresses (created under a dry-run policy, as objects that
// predate eksguard), audit --apply-reports writes one openreports.io Report
// per namespace with a finding, capped at --max-results while the summary
// counts every object; a clean namespace gets none, and a report whose
// namespace became clean is deleted on the next run.
func TestAuditAppliesBoundedReports(t *testing.T) {
	ctx := context.Background()
	failing, clean := newNamespace(t, nil), newNamespace(t, nil)
	applyPolicy(t, dryRunPolicy)
	const objects, maxResults = 5000, 100
	if err := testbed.Parallel(objects, 16, func(i int) error {
		return k8sClient.Create(ctx, albIngress(failing, fmt.Sprintf("plain-%04d", i), nil))
	}); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Create(ctx, albIngress(clean, "tls", referenceALBAnnotations())); err != nil {
		t.Fatal(err)
	}
	deletePolicy(t)

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, testEnv.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	audit := func(wantCode int, extra ...string) {
		t.Helper()
		for _, ns := range []string{failing, clean} {
			args := append([]string{"audit", "--kubeconfig", kubeconfig, "-n", ns, "-o", "openreports", "--apply-reports",
				"--max-results", fmt.Sprint(maxResults)}, extra...)
			if code, _, stderr := runCLI(t, args...); (ns == failing && code != wantCode) || stderr != "" {
				t.Fatalf("audit %v: exit code %d; stderr: %s", args, code, stderr)
			}
		}
	}
	audit(cli.ExitViolations)

	var rep reportsv1alpha1.Report
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(reportsv1alpha1.SchemeGroupVersion.WithKind("Report"))
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: failing, Name: "eksguard"}, u); err != nil {
		t.Fatalf("reading the report: %v", err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != maxResults || rep.Summary != (reportsv1alpha1.ReportSummary{Fail: objects}) {
		t.Errorf("report: %d results, summary %+v; want %d results and %d failures", len(rep.Results), rep.Summary, maxResults, objects)
	}
	if r := rep.Results[0]; r.Policy != "loadBalancerTLS" || r.Result != "fail" || r.Subjects[0].Kind != "Ingress" || r.Source != "eksguard" {
		t.Errorf("first result %+v", r)
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(reportsv1alpha1.SchemeGroupVersion.WithKind("ReportList"))
	if err := k8sClient.List(ctx, list, client.InNamespace(clean)); err != nil || len(list.Items) != 0 {
		t.Errorf("the clean namespace has %d reports (%v)", len(list.Items), err)
	}

	// The namespace becomes clean: its report goes.
	if err := k8sClient.DeleteAllOf(ctx, &networkingv1.Ingress{}, client.InNamespace(failing)); err != nil {
		t.Fatal(err)
	}
	audit(0)
	if err := k8sClient.List(ctx, list, client.InNamespace(failing)); err != nil || len(list.Items) != 0 {
		t.Errorf("after the fix, %d reports remain in %s (%v)", len(list.Items), failing, err)
	}
}
