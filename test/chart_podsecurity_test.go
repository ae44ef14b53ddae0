package test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestChartNamespacePodSecurity: with namespace.create the chart makes its
// own namespace under Pod Security restricted, and the pods it runs there
// (the webhook server's and the report Job's) are admitted by the API
// server's PodSecurity admission with no warning, and by eksguard's own
// rules, since the chart's NetworkPolicies cover them. A privileged pod in
// the same namespace is refused, which shows the level is enforced.
func TestChartNamespacePodSecurity(t *testing.T) {
	ctx := context.Background()
	name := fmt.Sprintf("eksguard-pss-%d", time.Now().UnixNano()%1_000_000)
	r := renderChart(t, chartRelease, "default", fmt.Sprintf(`{namespace: {create: true, name: %s}, reports: {enabled: true}}`, name))

	ns := &corev1.Namespace{}
	r.Get(t, "Namespace", name, ns)
	if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Fatalf("the rendered namespace enforces %q, want restricted", got)
	}
	createForTest(t, ns)
	var np, reportsNP networkingv1.NetworkPolicy
	r.Get(t, "NetworkPolicy", "eksguard", &np)
	r.Get(t, "NetworkPolicy", "eksguard-reports", &reportsNP)
	createForTest(t, &np)
	createForTest(t, &reportsNP)
	for _, account := range []string{"eksguard", "eksguard-reports"} {
		createForTest(t, r.Object(t, "ServiceAccount", account).DeepCopy())
	}

	var deployment appsv1.Deployment
	r.Get(t, "Deployment", "eksguard", &deployment)
	var cronJob batchv1.CronJob
	r.Get(t, "CronJob", "eksguard-reports", &cronJob)
	if deployment.Namespace != name || cronJob.Namespace != name {
		t.Fatalf("rendered into %q and %q, want %q", deployment.Namespace, cronJob.Namespace, name)
	}
	c, warnings := newWarningClient(t)
	eventually(t, policyTimeout, func() error {
		// eksguard's cache must see the chart's NetworkPolicies first.
		// Each pod as its controller makes it (eksguard warns of a pod with
		// no owner).
		for podName, made := range map[string]struct {
			template corev1.PodTemplateSpec
			owner    metav1.OwnerReference
		}{
			"server":  {deployment.Spec.Template, metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "eksguard-7d9f", UID: "3f1c0b7e-0000-4000-8000-000000000001", Controller: new(true)}},
			"reports": {cronJob.Spec.JobTemplate.Spec.Template, metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job", Name: "eksguard-reports-1", UID: "3f1c0b7e-0000-4000-8000-000000000002", Controller: new(true)}},
		} {
			warnings.Reset()
			pod := &corev1.Pod{ObjectMeta: made.template.ObjectMeta, Spec: made.template.Spec}
			pod.Name, pod.Namespace = podName, name
			pod.OwnerReferences = []metav1.OwnerReference{made.owner}
			if err := c.Create(ctx, pod, client.DryRunAll); err != nil {
				return fmt.Errorf("the %s pod: %w", podName, err)
			}
			if got := warnings.Messages(); len(got) != 0 {
				t.Fatalf("the %s pod was admitted with warnings %q", podName, got)
			}
		}
		return nil
	})

	privileged := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "privileged", Namespace: name, Labels: deployment.Spec.Template.Labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "busybox",
			SecurityContext: &corev1.SecurityContext{Privileged: new(true)},
		}}},
	}
	err := k8sClient.Create(ctx, privileged, client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), `violates PodSecurity "restricted:latest"`) {
		t.Fatalf("a privileged pod in the namespace: %v, want a PodSecurity refusal", err)
	}
}
