package report

// Policy reports of an audit, for Policy Reporter and the other tools that
// read them: openreports.io/v1alpha1 Reports (one per namespace; a
// ClusterReport for cluster-scoped subjects), or the older
// wgpolicyk8s.io/v1alpha2 PolicyReports with the same content. Results are
// per rule and object; a report keeps at most maxResults of them (findings
// before passes) while its summary counts every one, so reports never grow
// with the cluster. Namespaces with no finding get no report.

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/offline"
	"github.com/eksguard/eksguard/webhook"
)

const (
	// FormatOpenReports and FormatPolicyReport are audit's report formats.
	FormatOpenReports  = "openreports"
	FormatPolicyReport = "policyreport"
	// reportSource is every result's and report's source.
	reportSource = "eksguard"
	// reportName names eksguard's report in each namespace.
	reportName = "eksguard"
	// DefaultMaxReportResults caps each report's results.
	DefaultMaxReportResults = 1000
)

// reportManagedBy labels the reports eksguard writes, to find stale ones.
var reportManagedBy = map[string]string{"app.kubernetes.io/managed-by": "eksguard"}

// Report results and severities, as openreports.io and wgpolicyk8s.io name them.
const (
	resultPass  = "pass"
	resultFail  = "fail"
	resultWarn  = "warn"
	resultError = "error"
	resultSkip  = "skip"
)

// ruleSeverity is how serious a finding of each rule is.
var ruleSeverity = map[config.RuleName]reportsv1alpha1.ResultSeverity{
	config.RuleSeccomp:         "medium",
	config.RuleNetworkPolicy:   "high",
	config.RuleLoadBalancerTLS: "high",
}

// rulesFor are the rules whose routes admit a CREATE of gvk (from webhook.Routes).
func rulesFor(gvk schema.GroupVersionKind) []config.RuleName {
	var out []config.RuleName
	for _, r := range webhook.Routes {
		if r.Admits(gvk) && !slices.Contains(out, r.Rule) {
			out = append(out, r.Rule)
		}
	}
	return out
}

// PolicyReports gathers the results of an audit into reports.
type PolicyReports struct {
	maxResults int
	now        metav1.Timestamp
	reports    map[string]*reportsv1alpha1.Report
	// findings counts, per namespace, the results that are not passes.
	findings map[string]int
}

func NewPolicyReports(maxResults int, now time.Time) *PolicyReports {
	return &PolicyReports{maxResults: maxResults, now: metav1.Timestamp{Seconds: now.Unix()},
		reports: map[string]*reportsv1alpha1.Report{}, findings: map[string]int{}}
}

// add records the per-rule results of one judged object.
func (s *PolicyReports) Add(gvk schema.GroupVersionKind, r offline.Result) {
	rules := rulesFor(gvk)
	if len(rules) == 0 {
		return
	}
	subject := corev1.ObjectReference{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
	byRule := map[config.RuleName][]reported{}
	for _, f := range reportedFindings(r) {
		byRule[f.rule] = append(byRule[f.rule], f)
	}
	for _, rule := range rules {
		result := reportsv1alpha1.ReportResult{Source: reportSource, Policy: string(rule), Rule: string(rule),
			Severity: ruleSeverity[rule], Timestamp: s.now, Subjects: []corev1.ObjectReference{subject}}
		switch fs := byRule[rule]; {
		case r.Verdict == offline.VerdictError:
			result.Result, result.Description = resultError, r.Error
		case r.Verdict == offline.VerdictSkipped:
			result.Result = resultSkip
		case len(fs) == 0:
			result.Result = resultPass
		default:
			result.Result, result.Description = resultWarn, fs[0].message
			for _, f := range fs {
				if f.level == "error" {
					result.Result, result.Description = resultFail, f.message
					break
				}
			}
		}
		s.put(r.Namespace, result)
	}
}

// put adds result to its namespace's report, within the cap: a finding
// takes the place of a pass when the report is full.
func (s *PolicyReports) put(namespace string, result reportsv1alpha1.ReportResult) {
	rep := s.reports[namespace]
	if rep == nil {
		rep = &reportsv1alpha1.Report{Source: reportSource, Configuration: &reportsv1alpha1.ReportConfiguration{
			Limits: reportsv1alpha1.Limits{MaxResults: s.maxResults}}}
		rep.Name, rep.Namespace, rep.Labels = reportName, namespace, reportManagedBy
		s.reports[namespace] = rep
	}
	switch result.Result {
	case resultPass:
		rep.Summary.Pass++
	case resultFail:
		rep.Summary.Fail++
	case resultWarn:
		rep.Summary.Warn++
	case resultError:
		rep.Summary.Error++
	case resultSkip:
		rep.Summary.Skip++
	}
	finding := result.Result != resultPass && result.Result != resultSkip
	if finding {
		s.findings[namespace]++
	}
	switch {
	case len(rep.Results) < s.maxResults:
		rep.Results = append(rep.Results, result)
	case finding:
		if i := slices.IndexFunc(rep.Results, func(r reportsv1alpha1.ReportResult) bool { return r.Result == resultPass }); i >= 0 {
			rep.Results[i] = result
		}
	}
}

// objects are the reports in format, in namespace order: only namespaces
// with a finding; the one of cluster-scoped subjects as a cluster report.
func (s *PolicyReports) Objects(format string) ([]*unstructured.Unstructured, error) {
	var namespaces []string
	for ns := range s.reports {
		if s.findings[ns] > 0 {
			namespaces = append(namespaces, ns)
		}
	}
	slices.Sort(namespaces)
	var out []*unstructured.Unstructured
	for _, ns := range namespaces {
		rep := s.reports[ns]
		slices.SortStableFunc(rep.Results, func(a, b reportsv1alpha1.ReportResult) int {
			return cmp.Or(cmp.Compare(resultRank(a.Result), resultRank(b.Result)),
				cmp.Compare(a.Subjects[0].Kind+"/"+a.Subjects[0].Name, b.Subjects[0].Kind+"/"+b.Subjects[0].Name),
				cmp.Compare(a.Policy, b.Policy))
		})
		u, err := reportObject(rep, format)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func resultRank(r reportsv1alpha1.Result) int {
	return slices.Index([]reportsv1alpha1.Result{resultFail, resultError, resultWarn, resultSkip, resultPass}, r)
}

// reportKinds are the kinds of each format: namespaced, cluster-scoped.
var reportKinds = map[string][2]schema.GroupVersionKind{
	FormatOpenReports: {reportsv1alpha1.SchemeGroupVersion.WithKind("Report"), reportsv1alpha1.SchemeGroupVersion.WithKind("ClusterReport")},
	FormatPolicyReport: {{Group: "wgpolicyk8s.io", Version: "v1alpha2", Kind: "PolicyReport"},
		{Group: "wgpolicyk8s.io", Version: "v1alpha2", Kind: "ClusterPolicyReport"}},
}

// reportObject is rep in format: the openreports.io types as they are, or a
// wgpolicyk8s.io PolicyReport, which has the same fields but no top-level
// source and configuration.
func reportObject(rep *reportsv1alpha1.Report, format string) (*unstructured.Unstructured, error) {
	kinds, ok := reportKinds[format]
	if !ok {
		return nil, fmt.Errorf("unknown report format %q", format)
	}
	var obj runtime.Object = rep
	gvk := kinds[0]
	if rep.Namespace == "" {
		cluster := &reportsv1alpha1.ClusterReport{ObjectMeta: rep.ObjectMeta, Source: rep.Source,
			Configuration: rep.Configuration, Summary: rep.Summary, Results: rep.Results}
		obj, gvk = cluster, kinds[1]
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: content}
	u.SetGroupVersionKind(gvk)
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	if format == FormatPolicyReport {
		unstructured.RemoveNestedField(u.Object, "source")
		unstructured.RemoveNestedField(u.Object, "configuration")
	}
	return u, nil
}

// ApplyPolicyReports writes objs, reports of format, with server-side
// apply (field owner eksguard) and deletes eksguard's reports of that
// format that the audit of namespace ("": every one) no longer made.
func ApplyPolicyReports(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, format, namespace string) error {
	kinds := reportKinds[format]
	current := map[string]bool{}
	for _, obj := range objs {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(reportSource), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
		current[obj.GetNamespace()+"/"+obj.GetName()] = true
	}
	for _, gvk := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		listOpts := []client.ListOption{client.MatchingLabels(reportManagedBy)}
		if namespace != "" {
			if gvk == kinds[1] {
				continue // a one-namespace audit says nothing of cluster-scoped subjects
			}
			listOpts = append(listOpts, client.InNamespace(namespace))
		}
		if err := c.List(ctx, list, listOpts...); err != nil {
			return fmt.Errorf("listing eksguard's %ss: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			item := &list.Items[i]
			if current[item.GetNamespace()+"/"+item.GetName()] {
				continue
			}
			if err := c.Delete(ctx, item); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting the stale %s %s/%s: %w", gvk.Kind, item.GetNamespace(), item.GetName(), err)
			}
		}
	}
	return nil
}

// writeYAMLDocuments writes objs as a multi-document YAML stream.
func WriteYAMLDocuments(w io.Writer, objs []*unstructured.Unstructured) error {
	for _, obj := range objs {
		data, err := yaml.Marshal(obj.Object)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "---\n%s", data); err != nil {
			return err
		}
	}
	return nil
}
