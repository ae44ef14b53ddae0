package cli

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/eksguard/eksguard/internal/app/report"
)

// sarifSchema is the OASIS SARIF 2.1.0 schema (errata 01), from
// oasis-tcs/sarif-spec sarif-2.1/schema/sarif-schema-2.1.0.json.
const sarifSchema = "testdata/sarif-schema-2.1.0.json"

// TestCheckSARIF: the examples' findings as SARIF 2.1.0, valid against the
// published schema, one result per finding at its document's file and line.
func TestCheckSARIF(t *testing.T) {
	code, stdout, stderr := run(t, "", "check", "-f", examplesDir, "--policy", "../../../examples/policy-configmap.yaml", "-o", "sarif")
	if code != ExitViolations || stderr != "" {
		t.Fatalf("exit code %d, want %d; stderr: %s", code, ExitViolations, stderr)
	}
	validateSARIF(t, stdout)
	var log report.SARIFLog
	if err := json.Unmarshal([]byte(stdout), &log); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range log.Runs[0].Results {
		loc := r.Locations[0].Physical
		got = append(got, fmt.Sprintf("%s %s %s:%d %s", r.Level, r.RuleID, loc.Artifact.URI, loc.Region.StartLine,
			strings.SplitN(r.Message.Text, ":", 2)[0]))
		if rule := log.Runs[0].Tool.Driver.Rules[r.RuleIndex]; rule.ID != r.RuleID || rule.Help.Text == "" {
			t.Errorf("result %s points at rule %+v", r.RuleID, rule)
		}
	}
	want := []string{
		"note seccomp ../../../examples/manifests/11-shop-pods.yaml:1 Pod shop/debug-shell",
		"warning networkPolicy ../../../examples/manifests/11-shop-pods.yaml:1 Pod shop/debug-shell",
		"warning seccomp ../../../examples/manifests/11-shop-pods.yaml:15 Pod shop/profiler",
		"warning networkPolicy ../../../examples/manifests/11-shop-pods.yaml:15 Pod shop/profiler",
		"warning networkPolicy ../../../examples/manifests/12-shop-windows-pod.yaml:1 Pod shop/iis",
		"warning networkPolicy ../../../examples/manifests/13-isolated-deployments.yaml:1 Deployment checkout/payments-api",
		"error networkPolicy ../../../examples/manifests/20-legacy-deployment.yaml:1 Deployment legacy/billing",
		"error loadBalancerTLS ../../../examples/manifests/30-shop-nlb-services.yaml:24 Service shop/storefront-nlb-wildcard",
		"error loadBalancerTLS ../../../examples/manifests/31-automode-nlb-services.yaml:1 Service shop/storefront-auto-tls",
		"error loadBalancerTLS ../../../examples/manifests/31-automode-nlb-services.yaml:27 Service legacy/billing-auto",
		"error loadBalancerTLS ../../../examples/manifests/40-shop-alb-ingresses.yaml:56 Ingress legacy/billing-admin",
		"error loadBalancerTLS ../../../examples/manifests/41-automode-alb.yaml:29 Ingress shop/storefront-auto",
		"error loadBalancerTLS ../../../examples/manifests/50-ack-elbv2-listeners.yaml:64 Listener legacy/billing-http",
		"warning loadBalancerTLS ../../../examples/manifests/60-gateway-api.yaml:28 Gateway shop/storefront",
		"warning loadBalancerTLS ../../../examples/manifests/60-gateway-api.yaml:81 Gateway legacy/billing",
		"error loadBalancerTLS ../../../examples/manifests/60-gateway-api.yaml:93 HTTPRoute legacy/billing",
	}
	if !slices.Equal(got, want) {
		t.Errorf("results:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if inv := log.Runs[0].Invocations; len(inv) != 1 || !inv[0].ExecutionSuccessful {
		t.Errorf("invocations %+v, want one successful", inv)
	}
}

// TestCheckSARIFInputError: unusable input is a failed invocation with the
// error at its document, still valid SARIF, and exit code 2.
func TestCheckSARIFInputError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/dup.json", []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"b"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := run(t, "", "check", "-f", dir, "-o", "sarif")
	if code != ExitUnusable {
		t.Fatalf("exit code %d, want %d", code, ExitUnusable)
	}
	validateSARIF(t, stdout)
	var log report.SARIFLog
	if err := json.Unmarshal([]byte(stdout), &log); err != nil {
		t.Fatal(err)
	}
	inv := log.Runs[0].Invocations[0]
	if inv.ExecutionSuccessful || len(inv.Notifications) != 1 || !strings.Contains(inv.Notifications[0].Message.Text, `duplicate field "metadata.name"`) {
		t.Errorf("invocation %+v", inv)
	}
}

func validateSARIF(t *testing.T, doc string) {
	t.Helper()
	if err := sarifSchemaErrors(t, doc); err != nil {
		t.Errorf("not valid SARIF 2.1.0: %v", err)
	}
}

func sarifSchemaErrors(t *testing.T, doc string) error {
	t.Helper()
	schema, err := jsonschema.NewCompiler().Compile(sarifSchema)
	if err != nil {
		t.Fatalf("compiling the SARIF schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return schema.Validate(inst)
}

// TestSARIFSchemaRejects: the schema check is not vacuous.
func TestSARIFSchemaRejects(t *testing.T) {
	for _, doc := range []string{
		`{"version":"2.0.0","runs":[]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{}}}]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"level":"fatal","message":{"text":"m"}}]}]}`,
	} {
		if sarifSchemaErrors(t, doc) == nil {
			t.Errorf("accepted %s", doc)
		}
	}
}

// TestCheckJUnit: one test case per object, failures for denials, skips
// for kinds no webhook admits, warnings and patches in the case's output.
func TestCheckJUnit(t *testing.T) {
	code, stdout, stderr := run(t, "", "check", "-f", examplesDir, "--policy", "../../../examples/policy-configmap.yaml", "-o", "junit")
	if code != ExitViolations || stderr != "" {
		t.Fatalf("exit code %d, want %d; stderr: %s", code, ExitViolations, stderr)
	}
	var suites report.JUnitSuites
	if err := xml.NewDecoder(bytes.NewReader([]byte(stdout))).Decode(&suites); err != nil {
		t.Fatalf("not JUnit XML: %v\n%s", err, stdout)
	}
	s := suites.Suites[0]
	if s.Tests != 55 || s.Failures != 8 || s.Errors != 0 || s.Skipped != 26 || len(s.Cases) != 55 || suites.Failures != 8 {
		t.Errorf("suite counts tests=%d failures=%d errors=%d skipped=%d cases=%d", s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases))
	}
	var failed, out []string
	for _, c := range s.Cases {
		if c.Failure != nil {
			failed = append(failed, c.Name)
		}
		if c.SystemOut != "" {
			out = append(out, c.Name+": "+c.SystemOut)
		}
	}
	wantFailed := []string{
		"Deployment legacy/billing (../../../examples/manifests/20-legacy-deployment.yaml#1)",
		"Service shop/storefront-nlb-wildcard (../../../examples/manifests/30-shop-nlb-services.yaml#2)",
		"Service shop/storefront-auto-tls (../../../examples/manifests/31-automode-nlb-services.yaml#1)",
		"Service legacy/billing-auto (../../../examples/manifests/31-automode-nlb-services.yaml#2)",
		"Ingress legacy/billing-admin (../../../examples/manifests/40-shop-alb-ingresses.yaml#3)",
		"Ingress shop/storefront-auto (../../../examples/manifests/41-automode-alb.yaml#3)",
		"Listener legacy/billing-http (../../../examples/manifests/50-ack-elbv2-listeners.yaml#5)",
		"HTTPRoute legacy/billing (../../../examples/manifests/60-gateway-api.yaml#7)",
	}
	if !slices.Equal(failed, wantFailed) {
		t.Errorf("failed cases:\n got %q\nwant %q", failed, wantFailed)
	}
	wantOut := []string{
		`Pod shop/debug-shell (../../../examples/manifests/11-shop-pods.yaml#1): note [seccomp] eksguard will add /spec/securityContext/seccompProfile {"type":"RuntimeDefault"}` +
			"\nwarning [networkPolicy] Pod debug-shell has no owner: VPC CNI policies may miss it; run it from a Deployment or Job",
		"Pod shop/profiler (../../../examples/manifests/11-shop-pods.yaml#2): warning [seccomp] pod runs Unconfined; use RuntimeDefault or a Localhost profile" +
			"\nwarning [networkPolicy] Pod profiler has no owner: VPC CNI policies may miss it; run it from a Deployment or Job",
		"Pod shop/iis (../../../examples/manifests/12-shop-windows-pod.yaml#1): warning [networkPolicy] Pod iis is on Windows: no policy applies; set windowsEngine or exempt it",
		"Deployment checkout/payments-api (../../../examples/manifests/13-isolated-deployments.yaml#1): warning [networkPolicy] Deployment payments-api's pod template has no DNS path (UDP 53): " +
			"NetworkPolicy checkout/allow-dns selects namespaces name=kube-system, which does not take in namespace kube-system (namespace kube-system carries " +
			"kubernetes.io/metadata.name=kube-system; nothing sets a name label); add the NetworkPolicy {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, " +
			"metadata: {name: allow-dns, namespace: checkout}, spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchLabels: " +
			"{kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}], ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]}]}}",
		"Gateway shop/storefront (../../../examples/manifests/60-gateway-api.yaml#3): warning [loadBalancerTLS] HTTP:80 has no route yet: plaintext unless its routes only redirect to https",
		"Gateway legacy/billing (../../../examples/manifests/60-gateway-api.yaml#6): warning [loadBalancerTLS] HTTP:80 has no route yet: plaintext unless its routes only redirect to https",
	}
	if !slices.Equal(out, wantOut) {
		t.Errorf("case output:\n got %q\nwant %q", out, wantOut)
	}
}
