package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/eksguard/eksguard/internal/app/cli"
	"github.com/eksguard/eksguard/internal/app/offline"
	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
)

const (
	examplesManifests = "../examples/manifests"
	examplesPolicy    = "../examples/policy-configmap.yaml"
)

// runCLI runs the eksguard command line in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Main(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

// exampleFile is one file of examples/manifests, decoded.
type exampleFile struct {
	name    string
	objects []*unstructured.Unstructured
}

// readExamples decodes examples/manifests in file order.
func readExamples(t *testing.T) []exampleFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(examplesManifests, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples in %s: %v", examplesManifests, err)
	}
	slices.Sort(paths)
	var files []exampleFile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f := exampleFile{name: filepath.Base(p)}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if obj != nil {
				f.objects = append(f.objects, &unstructured.Unstructured{Object: obj})
			}
		}
		files = append(files, f)
	}
	return files
}

// isolateExamples moves the examples into fresh namespaces (created with the
// examples' namespace labels) and fresh ALB group names, so that they meet
// no object of another test, and writes them to a directory for check.
func isolateExamples(t *testing.T, files []exampleFile) (dir string) {
	t.Helper()
	renamed := map[string]string{}
	for _, f := range files {
		for _, obj := range f.objects {
			if obj.GetKind() == "Namespace" {
				renamed[obj.GetName()] = newNamespace(t, obj.GetLabels())
			}
		}
	}
	suffix := renamed["shop"]
	dir = t.TempDir()
	for _, f := range files {
		var out bytes.Buffer
		for _, obj := range f.objects {
			kind := netpol.KindFor(obj.GroupVersionKind())
			if obj.GetKind() == "Namespace" {
				obj.SetName(renamed[obj.GetName()])
			} else if obj.GetKind() == "IngressClass" || lbtls.IsClassParams(obj.GroupVersionKind()) || obj.GroupVersionKind() == lbtls.GatewayClassKind.GVK {
				// Cluster-scoped context of the Ingress rule: renamed, with
				// the references to it.
				obj.SetName(obj.GetName() + "-" + suffix)
				if params, ok, _ := unstructured.NestedString(obj.Object, "spec", "parameters", "name"); ok {
					_ = unstructured.SetNestedField(obj.Object, params+"-"+suffix, "spec", "parameters", "name")
				}
				deleteWhenDone(t, obj.DeepCopy())
			} else if kind != nil && !kind.Namespaced {
				// Cluster-scoped policies select the renamed namespaces by
				// their labels; a unique name keeps test runs apart.
				obj.SetName(obj.GetName() + "-" + suffix)
				deleteWhenDone(t, obj.DeepCopy())
			} else if ns, ok := renamed[obj.GetNamespace()]; ok {
				obj.SetNamespace(ns)
			} else {
				t.Fatalf("%s: %s %s is in namespace %q, which the examples do not create", f.name, obj.GetKind(), obj.GetName(), obj.GetNamespace())
			}
			if class, ok, _ := unstructured.NestedString(obj.Object, "spec", "ingressClassName"); ok && obj.GetKind() == "Ingress" {
				_ = unstructured.SetNestedField(obj.Object, class+"-"+suffix, "spec", "ingressClassName")
			}
			if class, ok, _ := unstructured.NestedString(obj.Object, "spec", "gatewayClassName"); ok && obj.GroupVersionKind() == lbtls.GatewayKind.GVK {
				_ = unstructured.SetNestedField(obj.Object, class+"-"+suffix, "spec", "gatewayClassName")
			}
			if ann := obj.GetAnnotations(); ann[lbtls.AnnotationGroupName] != "" {
				ann[lbtls.AnnotationGroupName] += "-" + suffix
				obj.SetAnnotations(ann)
			}
			data, err := yaml.Marshal(obj.Object)
			if err != nil {
				t.Fatal(err)
			}
			out.WriteString("---\n")
			out.Write(data)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// deleteWhenDone deletes a cluster-scoped object when the test ends: no
// namespace takes it along.
func deleteWhenDone(t *testing.T, obj *unstructured.Unstructured) {
	t.Cleanup(func() {
		if err := k8sClient.Delete(context.Background(), obj); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	})
}

// checkOutput is the part of check's JSON report this test reads.
type checkOutput struct {
	Results []offline.Result `json:"results"`
}

// observed is what the API server did with a create.
type observed struct {
	verdict  offline.Verdict
	denial   string
	warnings []string
}

// createAndObserve creates obj through the API server and classifies the
// outcome as check does.
func createAndObserve(t *testing.T, obj *unstructured.Unstructured) observed {
	t.Helper()
	c, rec := newWarningClient(t)
	sent := obj.DeepCopy()
	err := c.Create(context.Background(), obj)
	got := observed{verdict: offline.VerdictAdmitted, warnings: rec.Messages()}
	var status apierrors.APIStatus
	switch {
	case apierrors.IsForbidden(err) && errors.As(err, &status):
		// "admission webhook "<name>" denied the request: <message>"
		_, got.denial, _ = strings.Cut(status.Status().Message, " denied the request: ")
		got.verdict = offline.VerdictDenied
	case err != nil:
		t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
	case seccompProfileType(sent) != seccompProfileType(obj):
		got.verdict = offline.VerdictMutated
	case len(got.warnings) > 0:
		got.verdict = offline.VerdictWarned
	}
	return got
}

func seccompProfileType(pod *unstructured.Unstructured) string {
	t, _, _ := unstructured.NestedString(pod.Object, "spec", "securityContext", "seccompProfile", "type")
	return t
}

// TestCheckAgreesWithWebhook creates every example through the API server
// and compares what the webhooks did with what `eksguard check` says about
// the same objects: same verdict, same denial message, same warnings.
func TestCheckAgreesWithWebhook(t *testing.T) {
	policyDoc := examplePolicyDocument(t)
	for _, tc := range []struct {
		name       string
		policyArgs []string
		apply      func(t *testing.T)
	}{
		{name: "built-in defaults", apply: func(*testing.T) {}},
		{name: "sample policy", policyArgs: []string{"--policy", examplesPolicy}, apply: func(t *testing.T) { applyPolicy(t, policyDoc) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.apply(t)
			files := readExamples(t)
			dir := isolateExamples(t, files)

			code, stdout, stderr := runCLI(t, append([]string{"check", "-f", dir, "-o", "json"}, tc.policyArgs...)...)
			if code != cli.ExitViolations || stderr != "" {
				t.Fatalf("check: exit code %d, want %d; stderr: %s", code, cli.ExitViolations, stderr)
			}
			var report checkOutput
			if err := json.Unmarshal([]byte(stdout), &report); err != nil {
				t.Fatalf("decoding check's report: %v", err)
			}
			checked := map[string]offline.Result{}
			for _, r := range report.Results {
				checked[r.Kind+" "+r.Namespace+"/"+r.Name] = r
			}

			verdicts := map[offline.Verdict]int{}
			for _, f := range files {
				for _, obj := range f.objects {
					key := obj.GetKind() + " " + obj.GetNamespace() + "/" + obj.GetName()
					want, ok := checked[key]
					if !ok {
						t.Errorf("%s: check did not report %s", f.name, key)
						continue
					}
					if obj.GetKind() == "Namespace" {
						continue
					}
					got := createAndObserve(t, obj)
					// The webhook reads the Gateway API objects from its
					// cache: the next ones need these there.
					switch obj.GroupVersionKind() {
					case lbtls.GatewayClassKind.GVK:
						waitForGatewayClass(t, obj.GetName())
					case lbtls.GatewayKind.GVK:
						waitForGateway(t, obj.GetNamespace(), obj.GetName(), "http")
					}
					if want.Verdict == offline.VerdictSkipped {
						if got.verdict != offline.VerdictAdmitted || len(got.warnings) > 0 {
							t.Errorf("%s: check skipped it, the API server answered %+v", key, got)
						}
						continue
					}
					verdicts[got.verdict]++
					slices.Sort(got.warnings)
					wantWarnings := slices.Sorted(slices.Values(want.Warnings))
					if got.verdict != want.Verdict || got.denial != want.Denial || !slices.Equal(got.warnings, wantWarnings) {
						t.Errorf("%s:\nwebhook: %s %q %q\n  check: %s %q %q", key,
							got.verdict, got.denial, got.warnings, want.Verdict, want.Denial, wantWarnings)
					}
				}
				// The webhook reads IngressClasses and their parameters from
				// its cache: the Ingresses of the next file need them there.
				for _, obj := range f.objects {
					if obj.GetKind() == "IngressClass" {
						waitForIngressClass(t, obj.GetName())
					}
				}
			}
			// Every verdict occurs, so the comparison covers each of them.
			for _, v := range []offline.Verdict{offline.VerdictAdmitted, offline.VerdictMutated, offline.VerdictWarned, offline.VerdictDenied} {
				if verdicts[v] == 0 {
					t.Errorf("no example was %s: %v", v, verdicts)
				}
			}
		})
	}
}

// examplePolicyDocument is the policy document of the sample ConfigMap.
func examplePolicyDocument(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(examplesPolicy)
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(data, &cm); err != nil {
		t.Fatalf("%s: %v", examplesPolicy, err)
	}
	doc, ok := cm.Data[policyConfigMapKey]
	if !ok {
		t.Fatalf("%s has no data.%s", examplesPolicy, policyConfigMapKey)
	}
	return doc
}

// TestCheckExamplesVerdicts pins what the examples show under the sample
// policy: each rule passing and failing.
func TestCheckExamplesVerdicts(t *testing.T) {
	code, stdout, stderr := runCLI(t, "check", "-f", examplesManifests, "--policy", examplesPolicy, "-o", "json")
	if code != cli.ExitViolations || stderr != "" {
		t.Fatalf("exit code %d, want %d; stderr: %s", code, cli.ExitViolations, stderr)
	}
	var report checkOutput
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range report.Results {
		got = append(got, fmt.Sprintf("%s %s %s/%s", r.Verdict, r.Kind, r.Namespace, r.Name))
	}
	want := []string{
		"skipped Namespace /shop",
		"skipped Namespace /legacy",
		"skipped Namespace /checkout",
		"skipped Namespace /analytics",
		"skipped Namespace /search",
		"skipped Namespace /reports",
		"skipped Namespace /ledger",
		"skipped Namespace /inventory",
		"skipped NetworkPolicy shop/default-deny-all",
		"skipped NetworkPolicy shop/allow-dns-access",
		"skipped ApplicationNetworkPolicy checkout/default-deny",
		"skipped NetworkPolicy checkout/allow-dns",
		"skipped ClusterNetworkPolicy /baseline-default-deny",
		"skipped CiliumNetworkPolicy search/allow-same-namespace",
		"skipped CiliumClusterwideNetworkPolicy /no-world-egress",
		"skipped ClusterNetworkPolicy /ledger-egress-lockdown",
		"skipped GlobalNetworkPolicy /calico-global-default-deny",
		"admitted Deployment shop/storefront",
		"mutated Pod shop/debug-shell",
		"warned Pod shop/profiler",
		"warned Pod shop/iis",
		"warned Deployment checkout/payments-api",
		"admitted Deployment analytics/events-collector",
		"admitted Deployment search/search-api",
		"admitted Deployment reports/report-builder",
		"admitted Deployment ledger/ledger-writer",
		"admitted Deployment inventory/stock-api",
		"denied Deployment legacy/billing",
		"admitted Service shop/storefront-nlb",
		"denied Service shop/storefront-nlb-wildcard",
		"admitted Service shop/storefront-clb",
		"denied Service shop/storefront-auto-tls",
		"denied Service legacy/billing-auto",
		"skipped IngressClass /alb",
		"skipped IngressClass /partner-edge",
		"skipped IngressClassParams /partner-edge",
		"admitted Ingress shop/storefront-web",
		"admitted Ingress shop/storefront-api",
		"denied Ingress legacy/billing-admin",
		"admitted Ingress shop/partners",
		"skipped IngressClassParams /auto-alb",
		"skipped IngressClass /auto-alb",
		"denied Ingress shop/storefront-auto",
		"skipped LoadBalancer shop/edge",
		"admitted Listener shop/edge-http",
		"admitted Listener shop/edge-https",
		"skipped LoadBalancer legacy/billing",
		"denied Listener legacy/billing-http",
		"skipped GatewayClass /aws-alb",
		"skipped LoadBalancerConfiguration shop/storefront-tls",
		"warned Gateway shop/storefront",
		"admitted HTTPRoute shop/storefront-redirect",
		"admitted HTTPRoute shop/storefront",
		"warned Gateway legacy/billing",
		"denied HTTPRoute legacy/billing",
	}
	if !slices.Equal(got, want) {
		t.Errorf("verdicts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
