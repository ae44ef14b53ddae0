package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/offline"
	"github.com/eksguard/eksguard/internal/app/report"
	"github.com/eksguard/eksguard/webhook/decision"
)

const examplesDir = "../../../examples/manifests"

// run runs the command line and returns its exit code and output.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

// writeFiles writes name→content into a fresh directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// assertLines compares output line by line. A wanted line ending in "..."
// only has to be a prefix of the line it meets: it stands for a rule's own
// message, which the rule packages test exactly.
func assertLines(t *testing.T, name, got string, want []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != len(want) {
		t.Errorf("%s: %d lines, want %d:\n%s", name, len(lines), len(want), got)
		return
	}
	for i := range want {
		prefix, isPrefix := strings.CutSuffix(want[i], "...")
		if (isPrefix && !strings.HasPrefix(lines[i], prefix)) || (!isPrefix && lines[i] != want[i]) {
			t.Errorf("%s: line %d:\n got %q\nwant %q", name, i+1, lines[i], want[i])
		}
	}
}

const (
	// standaloneWeb is the warning a covered podYAML gets: no controller owns it.
	standaloneWeb = "         warning: eksguard [networkPolicy] Pod web has no owner: VPC CNI policies may miss it; run it from a Deployment or Job"
	podYAML       = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: team
  labels: {app: web}
spec:
  containers: [{name: web, image: nginx}]
`
	defaultDenyYAML = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: team}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`
	warnNetworkPolicyYAML = `apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  networkPolicy:
    mode: warn
`
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		stdin      string
		args       []string // "DIR" is replaced by the directory of files
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{
			name:     "examples under the built-in defaults",
			args:     []string{"check", "-f", examplesDir},
			wantCode: ExitViolations,
			wantStdout: []string{
				"RESULT    KIND        NAMESPACE  NAME                     SOURCE",
				"admitted  Deployment  shop       storefront               ../../../examples/manifests/10-shop-deployment.yaml#1",
				"mutated   Pod         shop       debug-shell              ../../../examples/manifests/11-shop-pods.yaml#1",
				`          patch: add /spec/securityContext/seccompProfile {"type":"RuntimeDefault"}`,
				"          warning: eksguard [networkPolicy] Pod debug-shell has no owner: VPC CNI policies may miss it; run it from a Deployment or Job",
				"warned    Pod         shop       profiler                 ../../../examples/manifests/11-shop-pods.yaml#2",
				"          warning: eksguard [seccomp] ...",
				"          warning: eksguard [networkPolicy] Pod profiler has no owner: VPC CNI policies may miss it; run it from a Deployment or Job",
				"warned    Pod         shop       iis                      ../../../examples/manifests/12-shop-windows-pod.yaml#1",
				"          warning: eksguard [networkPolicy] Pod iis is on Windows: no policy applies; set windowsEngine or exempt it",
				"warned    Deployment  checkout   payments-api             ../../../examples/manifests/13-isolated-deployments.yaml#1",
				"          warning: eksguard [networkPolicy] Deployment payments-api's pod template has no DNS path (UDP 53): NetworkPolicy checkout/allo...",
				"admitted  Deployment  analytics  events-collector         ../../../examples/manifests/13-isolated-deployments.yaml#2",
				"admitted  Deployment  search     search-api               ../../../examples/manifests/13-isolated-deployments.yaml#3",
				"admitted  Deployment  reports    report-builder           ../../../examples/manifests/13-isolated-deployments.yaml#4",
				"admitted  Deployment  ledger     ledger-writer            ../../../examples/manifests/13-isolated-deployments.yaml#5",
				"admitted  Deployment  inventory  stock-api                ../../../examples/manifests/13-isolated-deployments.yaml#6",
				"denied    Deployment  legacy     billing                  ../../../examples/manifests/20-legacy-deployment.yaml#1",
				"          eksguard denied this Deployment: [networkPolicy] spec.template.metadata.labels: ...",
				"admitted  Service     shop       storefront-nlb           ../../../examples/manifests/30-shop-nlb-services.yaml#1",
				"denied    Service     shop       storefront-nlb-wildcard  ../../../examples/manifests/30-shop-nlb-services.yaml#2",
				"          eksguard denied this Service: [loadBalancerTLS] metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-ssl-ports]: ...",
				"admitted  Service     shop       storefront-clb           ../../../examples/manifests/30-shop-nlb-services.yaml#3",
				"denied    Service     shop       storefront-auto-tls      ../../../examples/manifests/31-automode-nlb-services.yaml#1",
				"          eksguard denied this Service: [loadBalancerTLS] metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy]: ...",
				"denied    Service     legacy     billing-auto             ../../../examples/manifests/31-automode-nlb-services.yaml#2",
				"          eksguard denied this Service: [loadBalancerTLS] spec.ports[0]: ...",
				"admitted  Ingress     shop       storefront-web           ../../../examples/manifests/40-shop-alb-ingresses.yaml#1",
				"admitted  Ingress     shop       storefront-api           ../../../examples/manifests/40-shop-alb-ingresses.yaml#2",
				"denied    Ingress     legacy     billing-admin            ../../../examples/manifests/40-shop-alb-ingresses.yaml#3",
				"          eksguard denied this Ingress: [loadBalancerTLS] metadata.annotations[alb.ingress.kubernetes.io/certificate-arn]: ...",
				"admitted  Ingress     shop       partners                 ../../../examples/manifests/40-shop-alb-ingresses.yaml#4",
				"denied    Ingress     shop       storefront-auto          ../../../examples/manifests/41-automode-alb.yaml#3",
				"          eksguard denied this Ingress: [loadBalancerTLS] metadata.annotations[alb.ingress.kubernetes.io/ssl-policy]: ...",
				"admitted  Listener    shop       edge-http                ../../../examples/manifests/50-ack-elbv2-listeners.yaml#2",
				"admitted  Listener    shop       edge-https               ../../../examples/manifests/50-ack-elbv2-listeners.yaml#3",
				"denied    Listener    legacy     billing-http             ../../../examples/manifests/50-ack-elbv2-listeners.yaml#5",
				"          eksguard denied this Listener: [loadBalancerTLS] spec.protocol: ...",
				"warned    Gateway     shop       storefront               ../../../examples/manifests/60-gateway-api.yaml#3",
				"          warning: eksguard [loadBalancerTLS] ...",
				"admitted  HTTPRoute   shop       storefront-redirect      ../../../examples/manifests/60-gateway-api.yaml#4",
				"admitted  HTTPRoute   shop       storefront               ../../../examples/manifests/60-gateway-api.yaml#5",
				"warned    Gateway     legacy     billing                  ../../../examples/manifests/60-gateway-api.yaml#6",
				"          warning: eksguard [loadBalancerTLS] ...",
				"denied    HTTPRoute   legacy     billing                  ../../../examples/manifests/60-gateway-api.yaml#7",
				"          eksguard denied this HTTPRoute: [loadBalancerTLS] spec.rules[0]: ...",
				"",
				"29 checked under policy built-in defaults: 15 admitted, 1 mutated, 5 warned, 8 denied. 26 not checked (Namespace, NetworkPolicy, ApplicationNetworkPolicy, ClusterNetworkPolicy, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, GlobalNetworkPolicy, IngressClass, IngressClassParams, LoadBalancer, GatewayClass, LoadBalancerConfiguration).",
			},
		},
		{
			// networking.k8s.aws ApplicationNetworkPolicy: counted like the webhook counts it.
			name: "a pod covered by an ApplicationNetworkPolicy of the same input",
			files: map[string]string{"a.yaml": "apiVersion: networking.k8s.aws/v1alpha1\nkind: ApplicationNetworkPolicy\n" +
				"metadata: {name: deny, namespace: team}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n---\n" + podYAML},
			args:       []string{"check", "-f", "DIR"},
			wantCode:   ExitClean,
			wantStdout: []string{"RESULT   KIND  NAMESPACE  NAME  SOURCE", "mutated  Pod   team       web   DIR/a.yaml#2", "...", standaloneWeb, "", "1 checked ..."},
		},
		{
			// generateSelector (pkg/registry/batch/job/strategy.go) adds job-name before validating webhooks.
			name: "a Job covered through the job-name label the API server adds",
			files: map[string]string{"a.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n" +
				"metadata: {name: jobs, namespace: team}\nspec: {podSelector: {matchLabels: {job-name: nightly}}}\n---\n" +
				"apiVersion: batch/v1\nkind: Job\nmetadata: {name: nightly, namespace: team}\n" +
				"spec: {template: {spec: {restartPolicy: Never, containers: [{name: j, image: busybox}]}}}\n"},
			args:       []string{"check", "-f", "DIR"},
			wantCode:   ExitClean,
			wantStdout: []string{"RESULT    KIND  NAMESPACE  NAME     SOURCE", "admitted  Job   team       nightly  DIR/a.yaml#2", "", "1 checked ..."},
		},
		{
			name:     "a pod covered by a NetworkPolicy of the same input",
			files:    map[string]string{"a.yaml": defaultDenyYAML + "---\n" + podYAML},
			args:     []string{"check", "-f", "DIR"},
			wantCode: ExitClean,
			wantStdout: []string{"RESULT   KIND  NAMESPACE  NAME  SOURCE", "mutated  Pod   team       web   DIR/a.yaml#2", "...", standaloneWeb,
				"         warning: eksguard [networkPolicy] Pod web has no DNS path (UDP 53): no egress rule of NetworkPolicy team/default-deny allows p...", "", "1 checked ..."},
		},
		{
			name:     "a pod no NetworkPolicy covers",
			files:    map[string]string{"pod.yaml": podYAML},
			args:     []string{"check", "-f", "DIR/pod.yaml"},
			wantCode: ExitViolations,
			wantStdout: []string{
				"RESULT  KIND  NAMESPACE  NAME  SOURCE",
				"denied  Pod   team       web   DIR/pod.yaml#1",
				"        eksguard denied this Pod: [networkPolicy] metadata.labels: Namespace team has no NetworkPolicy ...",
				"",
				"1 checked under policy built-in defaults: 0 admitted, 1 denied.",
			},
		},
		{
			name:     "a policy file turns the denial into a warning",
			files:    map[string]string{"pod.yaml": podYAML, "policy.yaml": warnNetworkPolicyYAML},
			args:     []string{"check", "-f", "DIR/pod.yaml", "--policy", "DIR/policy.yaml"},
			wantCode: ExitClean,
			wantStdout: []string{
				"RESULT   KIND  NAMESPACE  NAME  SOURCE",
				"mutated  Pod   team       web   DIR/pod.yaml#1",
				`         patch: add /spec/securityContext/seccompProfile {"type":"RuntimeDefault"}`,
				"         warning: eksguard [networkPolicy] No NetworkPolicy selects Pod web; add a default-deny (podSelector: {})",
				"",
				"1 checked under policy DIR/policy.yaml: 0 admitted, 1 mutated.",
			},
		},
		{
			name: "objects without a namespace go to --namespace; a List is read item by item from stdin",
			stdin: `{"apiVersion": "v1", "kind": "List", "items": [
				{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny"}, "spec": {"podSelector": {}}},
				{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"}, "spec": {"ports": [{"port": 80}]}}]}`,
			args:     []string{"check", "-f", "-", "-n", "team"},
			wantCode: ExitClean,
			wantStdout: []string{
				"RESULT    KIND     NAMESPACE  NAME  SOURCE",
				"admitted  Service  team       api   <stdin>#1.items[1]",
				"",
				"1 checked under policy built-in defaults: 1 admitted. 1 not checked (NetworkPolicy).",
			},
		},
		{
			// Calico: a policy in a tier whose defaultAction is Pass isolates
			// nothing by itself (tiered-policy.mdx); the input's Tier says so.
			name: "Calico policies count, with their tier's default action",
			stdin: `{"apiVersion": "v1", "kind": "List", "items": [
				{"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": "platform"}, "spec": {"defaultAction": "Pass"}},
				{"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "passes"},
				 "spec": {"tier": "platform", "selector": "app == 'api'", "types": ["Ingress"]}},
				{"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "web-deny"},
				 "spec": {"selector": "app in {'web'}", "types": ["Ingress"]}},
				{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
				 "spec": {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "c", "image": "i"}]}},
				{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "api", "labels": {"app": "api"}},
				 "spec": {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "c", "image": "i"}]}}]}`,
			args:     []string{"check", "-f", "-", "-n", "team"},
			wantCode: ExitViolations,
			wantStdout: []string{
				"RESULT    KIND  NAMESPACE  NAME  SOURCE",
				"admitted  Pod   team       web   <stdin>#1.items[3]",
				"denied    Pod   team       api   <stdin>#1.items[4]",
				"          eksguard denied this Pod: [networkPolicy] metadata.labels: None of the 2 policies that apply in namespace team " +
					"(NetworkPolicy.projectcalico.org) selects Pod api (labels app=api); NetworkPolicy.projectcalico.org team/passes (platform tier) " +
					"selects it, but its tier passes what the policy does not take (defaultAction: Pass); add one that selects it, e.g. a default-deny policy: " +
					"podSelector: {}, policyTypes: [Ingress, Egress]",
				"",
				"2 checked under policy built-in defaults: 1 admitted, 1 denied. 3 not checked (Tier, NetworkPolicy).",
			},
		},
		{
			name: "a plaintext in-tree load balancer: ports default to TCP as on the API server",
			files: map[string]string{"svc.json": `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb"},
				"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}`},
			args:       []string{"check", "-f", "DIR"},
			wantCode:   ExitViolations,
			wantStdout: []string{"RESULT  KIND     NAMESPACE  NAME  SOURCE", "denied  Service  default    lb    DIR/svc.json#1", "        eksguard denied this Service: [loadBalancerTLS] spec.ports[0]: ...", "", "1 checked ..."},
		},
		{
			name:       "invalid YAML names the file, document and file line",
			files:      map[string]string{"bad.yaml": podYAML + "---\n# second\napiVersion: v1\nkind: Pod\nmetadata: {name: b, labels: {a: b}\n"},
			args:       []string{"check", "-f", "DIR/bad.yaml"},
			wantCode:   ExitUnusable,
			wantStderr: []string{"Error: DIR/bad.yaml: document 2 (line 10): yaml: line 13: did not find expected ',' or '}'"},
		},
		{
			name:       "a document without kind",
			files:      map[string]string{"nokind.yaml": "apiVersion: v1\nmetadata:\n  name: x\n"},
			args:       []string{"check", "-f", "DIR"},
			wantCode:   ExitUnusable,
			wantStderr: []string{"Error: DIR/nokind.yaml: document 1 (line 1): missing kind"},
		},
		{
			name:     "an unknown kind",
			files:    map[string]string{"crd.yaml": "---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"},
			args:     []string{"check", "-f", "DIR"},
			wantCode: ExitUnusable,
			wantStderr: []string{`Error: DIR/crd.yaml: document 2 (line 2): unknown kind "Widget" of apiVersion example.com/v1: ` +
				"not a built-in Kubernetes kind (pass --ignore-unknown-kinds to skip custom resources)"},
		},
		{
			name:       "an unknown kind, skipped on request",
			files:      map[string]string{"crd.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n---\n" + defaultDenyYAML},
			args:       []string{"check", "-f", "DIR", "--ignore-unknown-kinds"},
			wantCode:   ExitClean,
			wantStdout: []string{"0 checked under policy built-in defaults: 0 admitted. 1 not checked (NetworkPolicy)."},
		},
		{
			name:       "a removed apiVersion of a checked kind",
			files:      map[string]string{"old.yaml": "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: i\n"},
			args:       []string{"check", "-f", "DIR"},
			wantCode:   ExitUnusable,
			wantStderr: []string{"Error: DIR/old.yaml: document 1 (line 1): extensions/v1beta1 Ingress is not served by the API server: use apiVersion networking.k8s.io/v1"},
		},
		{
			name:       "an unknown field and a wrong type, every error reported",
			files:      map[string]string{"d.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  tempalte: {}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n    - port: \"80\"\n"},
			args:       []string{"check", "-f", "DIR"},
			wantCode:   ExitUnusable,
			wantStderr: []string{`Error: DIR/d.yaml: document 1 (line 1): Deployment: unknown field "spec.tempalte"`, "Error: DIR/d.yaml: document 2 (line 8): Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"},
		},
		{
			name:       "a key given twice",
			files:      map[string]string{"dup.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n"},
			args:       []string{"check", "-f", "DIR"},
			wantCode:   ExitUnusable,
			wantStderr: []string{`Error: DIR/dup.yaml: document 1 (line 1): yaml: unmarshal errors: line 5: key "name" already set in map`},
		},
		{
			name:       "a key given twice in JSON",
			files:      map[string]string{"dup.json": `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"b"}}`},
			args:       []string{"check", "-f", "DIR"},
			wantCode:   ExitUnusable,
			wantStderr: []string{`Error: DIR/dup.json: document 1 (line 1): duplicate field "metadata.name"`},
		},
		{
			// metav1.LabelSelectorAsSelector refuses it, as API validation does.
			name: "a NetworkPolicy selector the API server refuses",
			files: map[string]string{"np.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: x}\n" +
				"spec:\n  podSelector:\n    matchExpressions: [{key: app, operator: In, values: []}]\n"},
			args:     []string{"check", "-f", "DIR"},
			wantCode: ExitUnusable,
			wantStderr: []string{`Error: DIR/np.yaml: document 1 (line 1): NetworkPolicy: values: Invalid value: null: ` +
				`for 'in', 'notin' operators, values set can't be empty`},
		},
		{
			name:       "no object at all",
			files:      map[string]string{"empty.yaml": "# nothing\n---\n"},
			args:       []string{"check", "-f", "DIR"},
			wantCode:   ExitUnusable,
			wantStderr: []string{"Error: the input holds no Kubernetes object"},
		},
		{
			name:       "an invalid policy file",
			files:      map[string]string{"pod.yaml": podYAML, "policy.yaml": "apiVersion: eksguard.io/v1alpha1\nkind: PolicyConfig\ndryRun: maybe\n"},
			args:       []string{"check", "-f", "DIR/pod.yaml", "--policy", "DIR/policy.yaml"},
			wantCode:   ExitUnusable,
			wantStderr: []string{"Error: policy: DIR/policy.yaml: document 1 (line 1): line 3: dryRun: ..."},
		},
		{
			name:       "no -f",
			args:       []string{"check"},
			wantCode:   ExitUnusable,
			wantStderr: []string{"Error: check needs -f PATH (a file, a directory, or - for standard input)"},
		},
		{
			name:       "a path that does not exist",
			args:       []string{"check", "-f", "DIR/missing.yaml"},
			wantCode:   ExitUnusable,
			wantStderr: []string{"Error: stat DIR/missing.yaml: no such file or directory"},
		},
		{
			name:       "an unknown output format",
			args:       []string{"check", "-f", "x", "-o", "yaml"},
			wantCode:   ExitUnusable,
			wantStderr: []string{`Error: --output "yaml": use table, json, sarif, junit`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "DIR", dir)
			}
			code, stdout, stderr := run(t, tt.stdin, args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			stdout = strings.ReplaceAll(stdout, dir, "DIR")
			stderr = strings.ReplaceAll(stderr, dir, "DIR")
			if tt.wantStdout != nil {
				assertLines(t, "stdout", stdout, tt.wantStdout)
			}
			if tt.wantStderr != nil {
				assertLines(t, "stderr", stderr, tt.wantStderr)
			} else if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	code, stdout, _ := run(t, "", "check", "-f", examplesDir, "--policy", "../../../examples/policy-configmap.yaml", "-o", "json")
	if code != ExitViolations {
		t.Errorf("exit code %d, want %d", code, ExitViolations)
	}
	var checked report.Check
	if err := json.Unmarshal([]byte(stdout), &checked); err != nil {
		t.Fatalf("decoding the JSON report: %v\n%s", err, stdout)
	}
	want := report.Summary{Checked: 29, Admitted: 15, Mutated: 1, Warned: 5, Denied: 8, Skipped: 26}
	if checked.Summary != want {
		t.Errorf("summary %+v, want %+v", checked.Summary, want)
	}
	if checked.Policy != "../../../examples/policy-configmap.yaml" {
		t.Errorf("policy %q", checked.Policy)
	}
	byName := map[string]offline.Result{}
	for _, r := range checked.Results {
		byName[r.Kind+"/"+r.Name] = r
	}
	debug := byName["Pod/debug-shell"]
	if debug.Verdict != offline.VerdictMutated || len(debug.Patches) != 1 || debug.Patches[0].Path != "/spec/securityContext/seccompProfile" {
		t.Errorf("Pod debug-shell: %+v", debug)
	}
	billing := byName["Deployment/billing"]
	if billing.Verdict != offline.VerdictDenied || !strings.HasPrefix(billing.Denial, "eksguard denied this Deployment: [networkPolicy] ") {
		t.Errorf("Deployment billing: %+v", billing)
	}
	// The JSON carries the findings as data, rendered into the denial.
	if f := billing.Findings; len(f) != 1 || f[0].Rule != config.RuleNetworkPolicy || f[0].Outcome != decision.OutcomeDenied ||
		f[0].Field != "spec.template.metadata.labels" || billing.Denial != "eksguard denied this Deployment: "+f[0].DenialText() {
		t.Errorf("Deployment billing findings: %+v", f)
	}
	if src := billing.Source; src == nil || src.File != examplesDir+"/20-legacy-deployment.yaml" || src.Document != 1 {
		t.Errorf("Deployment billing source: %+v", src)
	}
}

func TestCheckJSONReportsInputErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.yaml": "kind: Pod\n"})
	code, stdout, _ := run(t, "", "check", "-f", dir, "-o", "json")
	if code != ExitUnusable {
		t.Errorf("exit code %d, want %d", code, ExitUnusable)
	}
	var checked report.Check
	if err := json.Unmarshal([]byte(stdout), &checked); err != nil {
		t.Fatalf("decoding the JSON report: %v\n%s", err, stdout)
	}
	if len(checked.Errors) != 1 || checked.Errors[0].Message != "missing apiVersion" || checked.Errors[0].Source.Document != 1 {
		t.Errorf("errors: %+v", checked.Errors)
	}
}
