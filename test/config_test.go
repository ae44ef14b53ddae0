package test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/internal/app/policywatch"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
)

// configNetpolWarning is the NetworkPolicy rule's warning for a pod named
// web in a namespace without NetworkPolicy.
const configNetpolWarning = "eksguard [networkPolicy] No NetworkPolicy selects Pod web; add a default-deny (podSelector: {})"

// seccompCompliantPod is a pod that only the NetworkPolicy rule objects to.
func seccompCompliantPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{Name: "app", Image: "registry.example/web:1.0"}},
		},
	}
}

// expectDenied creates pod and expects the NetworkPolicy rule to deny it.
func expectDenied(t *testing.T, c client.Client, pod *corev1.Pod) {
	t.Helper()
	err := c.Create(context.Background(), pod.DeepCopy())
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "eksguard denied this Pod: [networkPolicy]") {
		t.Fatalf("creating pod %s: got %v, want the networkPolicy denial", pod.Name, err)
	}
}

// expectAdmitted creates pod and expects it admitted, with exactly want as
// the warnings the API server hands back.
func expectAdmitted(t *testing.T, c client.Client, warnings *testbed.WarningRecorder, pod *corev1.Pod, want ...string) {
	t.Helper()
	warnings.Reset()
	if err := c.Create(context.Background(), pod.DeepCopy()); err != nil {
		t.Fatalf("creating pod %s: %v, want it admitted with warnings", pod.Name, err)
	}
	if got := warnings.Messages(); !slices.Equal(got, want) {
		t.Fatalf("warnings for pod %s:\n got %q\nwant %q", pod.Name, got, want)
	}
}

// policyEvent waits for the Event with reason that the watcher recorded on
// the policy ConfigMap at resourceVersion, and returns its message.
func policyEvent(t *testing.T, reason, resourceVersion string) string {
	t.Helper()
	var message string
	eventually(t, policyTimeout, func() error {
		var events corev1.EventList
		if err := k8sClient.List(context.Background(), &events, client.InNamespace(eksguardNamespace)); err != nil {
			return err
		}
		for _, e := range events.Items {
			o := e.InvolvedObject
			if e.Reason == reason && o.Kind == "ConfigMap" && o.Name == policyConfigMapName && o.ResourceVersion == resourceVersion {
				message = e.Message
				return nil
			}
		}
		return fmt.Errorf("no %s Event for ConfigMap %s at resourceVersion %s", reason, policyConfigMapName, resourceVersion)
	})
	return message
}

// updatePolicyData replaces the data of the existing policy ConfigMap and
// returns its new resourceVersion.
func updatePolicyData(t *testing.T, data map[string]string) string {
	t.Helper()
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: eksguardNamespace, Name: policyConfigMapName}
	if err := k8sClient.Get(context.Background(), key, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data = data
	if err := k8sClient.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	return cm.ResourceVersion
}

// TestConfigHotReload follows the policy ConfigMap through its life while
// the webhooks serve: a valid change flips the verdict on the next request,
// broken changes leave the last good policy in force and say why in an
// Event, and deleting the ConfigMap brings the defaults back.
func TestConfigHotReload(t *testing.T) {
	ns := newNamespace(t, nil)
	c, warnings := newWarningClient(t)
	pod := seccompCompliantPod(ns, "web")

	// Built-in defaults: the NetworkPolicy rule enforces.
	expectDenied(t, c, pod)

	// dryRun turns enforce into warn from the next request on; the API
	// server hands the rule's warning back to the client.
	goodVersion := writePolicy(t, "apiVersion: eksguard.io/v1alpha1\nkind: PolicyConfig\ndryRun: true\n")
	goodSource := policySource(goodVersion)
	eventually(t, policyTimeout, func() error {
		if got := testServer.Store.Current().Source; got != goodSource {
			return fmt.Errorf("policy in force from %q, want %q", got, goodSource)
		}
		return nil
	})
	expectAdmitted(t, c, warnings, pod, configNetpolWarning)
	if msg := policyEvent(t, policywatch.ReasonPolicyLoaded, goodVersion); !strings.HasPrefix(msg, "policy in force: "+goodSource+" (hash ") {
		t.Errorf("PolicyLoaded message %q does not name %s", msg, goodSource)
	}

	// A broken document is rejected: the dry-run policy stays in force.
	brokenVersion := updatePolicyData(t, map[string]string{policyConfigMapKey: "apiVersion: eksguard.io/v1alpha1\nkind: PolicyConfig\ndryRun: yes please\n"})
	msg := policyEvent(t, policywatch.ReasonInvalidPolicy, brokenVersion)
	if want := `policy rejected, still enforcing ` + goodSource + `: line 3: dryRun: expected a boolean, got "yes please"`; msg != want {
		t.Errorf("InvalidPolicy message:\n got %q\nwant %q", msg, want)
	}
	if got := testServer.Store.Current().Source; got != goodSource {
		t.Fatalf("policy in force from %q after a broken document, want %q", got, goodSource)
	}
	expectAdmitted(t, c, warnings, seccompCompliantPod(ns, "web-2"),
		strings.Replace(configNetpolWarning, "Pod web;", "Pod web-2;", 1))

	// So is a ConfigMap without the config.yaml key.
	missingVersion := updatePolicyData(t, map[string]string{"config.yml": "dryRun: false\n"})
	msg = policyEvent(t, policywatch.ReasonInvalidPolicy, missingVersion)
	if want := `policy rejected, still enforcing ` + goodSource + `: ConfigMap has no key "config.yaml" under data`; msg != want {
		t.Errorf("InvalidPolicy message:\n got %q\nwant %q", msg, want)
	}

	// Deleting the ConfigMap restores the defaults: enforce again.
	deletePolicy(t)
	policyEvent(t, policywatch.ReasonPolicyDeleted, missingVersion)
	expectDenied(t, c, seccompCompliantPod(ns, "web-3"))
}

// TestConfigExcludedNamespace: a namespace the policy excludes by label is
// not checked, from the next request on.
func TestConfigExcludedNamespace(t *testing.T) {
	ns := newNamespace(t, map[string]string{"eksguard.io/ignore": "true"})
	expectDenied(t, k8sClient, seccompCompliantPod(ns, "web"))
	applyPolicy(t, `
apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
scope:
  excludedNamespaceSelector:
    matchLabels: {eksguard.io/ignore: "true"}
`)
	c, warnings := newWarningClient(t)
	expectAdmitted(t, c, warnings, seccompCompliantPod(ns, "web"))
}
