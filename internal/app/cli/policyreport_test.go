package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/eksguard/eksguard/internal/app/report"
)

// exampleReports builds the policy reports of the examples' findings
// under the sample policy.
func exampleReports(t *testing.T, maxResults int, format string) []*unstructured.Unstructured {
	t.Helper()
	_, stdout, _ := run(t, "", "check", "-f", examplesDir, "--policy", "../../../examples/policy-configmap.yaml", "-o", "json")
	var checked report.Check
	if err := json.Unmarshal([]byte(stdout), &checked); err != nil {
		t.Fatal(err)
	}
	set := report.NewPolicyReports(maxResults, time.Unix(1767225600, 0))
	for _, r := range checked.Results {
		gv, err := schema.ParseGroupVersion(r.APIVersion)
		if err != nil {
			t.Fatal(err)
		}
		set.Add(gv.WithKind(r.Kind), r)
	}
	objs, err := set.Objects(format)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func results(t *testing.T, u *unstructured.Unstructured) (reportsv1alpha1.ReportSummary, []string) {
	t.Helper()
	var rep reportsv1alpha1.Report
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &rep); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rep.Results {
		out = append(out, fmt.Sprintf("%s %s %s %s/%s", r.Result, r.Policy, r.Severity, r.Subjects[0].Kind, r.Subjects[0].Name))
	}
	return rep.Summary, out
}

// TestPolicyReports: one openreports.io Report per namespace with a
// finding, a result per rule and object (findings first), exact summaries.
func TestPolicyReports(t *testing.T) {
	objs := exampleReports(t, report.DefaultMaxReportResults, report.FormatOpenReports)
	var names []string
	for _, o := range objs {
		names = append(names, o.GetAPIVersion()+" "+o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
		if o.GetLabels()["app.kubernetes.io/managed-by"] != "eksguard" || o.Object["source"] != "eksguard" {
			t.Errorf("%s: labels %v, source %v", o.GetNamespace(), o.GetLabels(), o.Object["source"])
		}
	}
	if want := []string{"openreports.io/v1alpha1 Report checkout/eksguard", "openreports.io/v1alpha1 Report legacy/eksguard", "openreports.io/v1alpha1 Report shop/eksguard"}; !slices.Equal(names, want) {
		t.Fatalf("reports %q, want %q", names, want)
	}
	// checkout: the DNS step's warning on its Deployment.
	if summary, got := results(t, objs[0]); summary.Warn != 1 || !slices.Contains(got, "warn networkPolicy high Deployment/payments-api") {
		t.Errorf("checkout: %+v %q", summary, got)
	}
	objs = objs[1:]
	summary, got := results(t, objs[0])
	want := []string{
		"fail networkPolicy high Deployment/billing",
		"fail loadBalancerTLS high HTTPRoute/billing",
		"fail loadBalancerTLS high Ingress/billing-admin",
		"fail loadBalancerTLS high Listener/billing-http",
		"fail loadBalancerTLS high Service/billing-auto",
		"warn loadBalancerTLS high Gateway/billing",
	}
	if !slices.Equal(got, want) || summary != (reportsv1alpha1.ReportSummary{Fail: 5, Warn: 1}) {
		t.Errorf("legacy: %+v %q", summary, got)
	}
	summary, got = results(t, objs[1])
	if !slices.Contains(got, "fail loadBalancerTLS high Service/storefront-nlb-wildcard") ||
		!slices.Contains(got, "fail loadBalancerTLS high Service/storefront-auto-tls") ||
		!slices.Contains(got, "fail loadBalancerTLS high Ingress/storefront-auto") ||
		!slices.Contains(got, "pass loadBalancerTLS high Listener/edge-http") ||
		!slices.Contains(got, "warn seccomp medium Pod/profiler") || !slices.Contains(got, "warn seccomp medium Pod/debug-shell") ||
		!slices.Contains(got, "pass networkPolicy high Deployment/storefront") ||
		!slices.Contains(got, "warn networkPolicy high Pod/iis") || !slices.Contains(got, "warn networkPolicy high Pod/profiler") {
		t.Errorf("shop results %q", got)
	}
	if summary.Fail != 3 || summary.Warn != 6 || summary.Pass+summary.Fail+summary.Warn != len(got) {
		t.Errorf("shop summary %+v for %d results", summary, len(got))
	}
}

// TestPolicyReportsCapped: a report keeps maxResults results, findings
// first, while its summary counts all of them.
func TestPolicyReportsCapped(t *testing.T) {
	full := exampleReports(t, report.DefaultMaxReportResults, report.FormatOpenReports)
	capped := exampleReports(t, 2, report.FormatOpenReports)
	wantSummary, _ := results(t, full[1])
	summary, got := results(t, capped[1])
	if summary != wantSummary {
		t.Errorf("capped summary %+v, want %+v", summary, wantSummary)
	}
	if len(got) != 2 || strings.HasPrefix(got[0], "pass") || strings.HasPrefix(got[1], "pass") {
		t.Errorf("capped results %q: want two findings", got)
	}
	if limits, _, _ := unstructured.NestedInt64(capped[1].Object, "configuration", "limits", "maxResults"); limits != 2 {
		t.Errorf("configuration.limits.maxResults = %d", limits)
	}
}

// TestPolicyReportsWGPolicy: the same content as wgpolicyk8s.io/v1alpha2
// PolicyReports, which have no top-level source or configuration.
func TestPolicyReportsWGPolicy(t *testing.T) {
	objs := exampleReports(t, report.DefaultMaxReportResults, report.FormatPolicyReport)
	o := objs[1]
	if o.GetAPIVersion() != "wgpolicyk8s.io/v1alpha2" || o.GetKind() != "PolicyReport" || o.Object["source"] != nil || o.Object["configuration"] != nil {
		t.Errorf("PolicyReport: %s %s source %v configuration %v", o.GetAPIVersion(), o.GetKind(), o.Object["source"], o.Object["configuration"])
	}
	_, got := results(t, o)
	_, want := results(t, exampleReports(t, report.DefaultMaxReportResults, report.FormatOpenReports)[1])
	if !slices.Equal(got, want) {
		t.Errorf("results differ from the openreports.io report:\n got %q\nwant %q", got, want)
	}
	if src, _, _ := unstructured.NestedSlice(o.Object, "results"); src[0].(map[string]any)["source"] != "eksguard" {
		t.Errorf("result source %v", src[0])
	}
}
