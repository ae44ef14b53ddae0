package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/internal/app/cli"
	"github.com/eksguard/eksguard/internal/app/offline"
	"github.com/eksguard/eksguard/internal/app/report"
)

// dryRunPolicy lets everything in, with warnings: the objects it admits
// stand for what a cluster ran before eksguard enforced anything.
const dryRunPolicy = `apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
dryRun: true
`

// auditOutput is the part of audit's JSON report this test reads.
type auditOutput struct {
	Policy     string `json:"policy"`
	Namespaces []struct {
		Namespace string           `json:"namespace"`
		Summary   report.Summary   `json:"summary"`
		Findings  []offline.Result `json:"findings"`
	} `json:"namespaces"`
	Summary           report.Summary `json:"summary"`
	ControlledObjects int            `json:"controlledObjects"`
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}}
}

func podTemplate(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}}, Spec: podSpec()}
}

func controlledBy(owner client.Object, apiVersion, kind string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: owner.GetName(), UID: owner.GetUID(), Controller: ptr.To(true)}}
}

func mustCreate(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		if err := k8sClient.Create(context.Background(), obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

// TestAudit creates, under a dry-run policy, what a cluster ran before
// eksguard enforced: workloads with the objects their controllers made,
// bare pods, a finished pod and load balancers. Under the built-in defaults,
// audit must report each top-level object once, with the webhook's verdict,
// and judge controlled objects through their controller.
func TestAudit(t *testing.T) {
	ctx := context.Background()
	covered := newNamespace(t, nil)
	uncovered := newNamespace(t, nil)
	applyPolicy(t, dryRunPolicy)

	mustCreate(t, &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: covered, Name: "default-deny"},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}},
	}, allowDNS(covered))
	labels := map[string]string{"app": "web"}
	okDeployment := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: covered, Name: "ok"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: podTemplate("web")}}
	unconfined := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: covered, Name: "profiler"}, Spec: podSpec()}
	unconfined.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}
	// Created under dryRun, so the seccomp webhook only warned: no profile.
	noProfile := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: covered, Name: "no-profile"}, Spec: podSpec()}
	mustCreate(t, okDeployment, unconfined, noProfile)

	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: uncovered, Name: "web"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: podTemplate("web")}}
	cronJob := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: uncovered, Name: "report"},
		Spec: batchv1.CronJobSpec{Schedule: "0 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "report"}},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: podSpec().Containers}}}}}}
	lb := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: uncovered, Name: "lb"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}
	debug := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: uncovered, Name: "debug"}, Spec: podSpec()}
	finished := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: uncovered, Name: "finished"}, Spec: podSpec()}
	mustCreate(t, web, cronJob, lb, debug, finished)
	finished.Status.Phase = corev1.PodSucceeded
	if err := k8sClient.Status().Update(ctx, finished); err != nil {
		t.Fatalf("marking pod finished: %v", err)
	}
	// What the Deployment and CronJob controllers would have created.
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: uncovered, Name: "web-5d4f", Labels: labels,
		OwnerReferences: controlledBy(web, "apps/v1", "Deployment")},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: podTemplate("web")}}
	mustCreate(t, rs)
	rsPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: uncovered, Name: "web-5d4f-x2x", Labels: labels,
		OwnerReferences: controlledBy(rs, "apps/v1", "ReplicaSet")}, Spec: podSpec()}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: uncovered, Name: "report-2901",
		OwnerReferences: controlledBy(cronJob, "batch/v1", "CronJob")}, Spec: cronJob.Spec.JobTemplate.Spec}
	mustCreate(t, rsPod, job)

	deletePolicy(t)

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, testEnv.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	audit := func(t *testing.T, wantCode int, args ...string) auditOutput {
		t.Helper()
		// A chunk size of 1 makes every list take several pages.
		args = append([]string{"audit", "--kubeconfig", kubeconfig, "--chunk-size", "1", "-o", "json"}, args...)
		code, stdout, stderr := runCLI(t, args...)
		if code != wantCode || stderr != "" {
			t.Fatalf("audit %v: exit code %d, want %d; stderr: %s", args, code, wantCode, stderr)
		}
		var out auditOutput
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("decoding audit's report: %v\n%s", err, stdout)
		}
		return out
	}
	findings := func(out auditOutput) []string {
		var lines []string
		for _, ns := range out.Namespaces {
			for _, f := range ns.Findings {
				line := fmt.Sprintf("%s %s %s", f.Verdict, f.Kind, f.Name)
				if f.Denial != "" {
					line += ": " + f.Denial[:strings.Index(f.Denial, "]")+1]
				}
				lines = append(lines, line)
			}
		}
		return lines
	}

	t.Run("a namespace without NetworkPolicies", func(t *testing.T) {
		out := audit(t, cli.ExitViolations, "-n", uncovered)
		if out.Policy != "built-in defaults (no ConfigMap eksguard-system/eksguard-policy)" {
			t.Errorf("policy %q", out.Policy)
		}
		want := []string{
			"denied Deployment web: eksguard denied this Deployment: [networkPolicy]",
			"denied CronJob report: eksguard denied this CronJob: [networkPolicy]",
			"denied Service lb: eksguard denied this Service: [loadBalancerTLS]",
			"denied Pod debug: eksguard denied this Pod: [networkPolicy]",
		}
		if got := findings(out); !slices.Equal(got, want) {
			t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if want := (report.Summary{Checked: 4, Denied: 4}); out.Summary != want {
			t.Errorf("summary %+v, want %+v", out.Summary, want)
		}
		// The ReplicaSet, its pod and the CronJob's Job; the finished pod is not listed at all.
		if out.ControlledObjects != 3 {
			t.Errorf("controlled objects: %d, want 3", out.ControlledObjects)
		}
	})

	t.Run("a covered namespace", func(t *testing.T) {
		out := audit(t, cli.ExitClean, "-n", covered)
		want := []string{"mutated Pod no-profile", "warned Pod profiler"}
		if got := findings(out); !slices.Equal(got, want) {
			t.Errorf("findings: %q, want %q", got, want)
		}
		if want := (report.Summary{Checked: 3, Admitted: 1, Warned: 1, Mutated: 1}); out.Summary != want {
			t.Errorf("summary %+v, want %+v", out.Summary, want)
		}
	})

	t.Run("a policy file instead of the cluster's", func(t *testing.T) {
		policy := filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(policy, []byte(dryRunPolicy), 0o644); err != nil {
			t.Fatal(err)
		}
		out := audit(t, cli.ExitClean, "-n", uncovered, "--policy", policy)
		if want := (report.Summary{Checked: 4, Warned: 4}); out.Summary != want {
			t.Errorf("summary %+v, want %+v", out.Summary, want)
		}
	})

	t.Run("every namespace, as a table", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "audit", "--kubeconfig", kubeconfig)
		if code == cli.ExitUnusable || stderr != "" {
			t.Fatalf("exit code %d; stderr: %s", code, stderr)
		}
		for _, want := range []string{
			"Policy: built-in defaults (no ConfigMap eksguard-system/eksguard-policy)\n",
			"\nNamespace " + uncovered + ": 0 admitted, 4 denied\n",
			"\nNamespace " + covered + ": 1 admitted, 1 mutated, 1 warned\n",
			"  denied  Deployment  web\n",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
	})
}
