package test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/admissionpolicy"
	"github.com/eksguard/eksguard/internal/testkit/seccompcases"
	"github.com/eksguard/eksguard/webhook/seccomp"
)

// TestSeccompAdmissionPolicyAgreesWithWebhook (issue 26): every case is
// created through the real API server twice. Once as is: the suite's
// seccomp admission policy injects in the API server, and eksguard's
// mutating webhook must not be called. Once with the webhook's own patch
// already applied in-process (seccomp.Check under the policy's decision,
// as the handler makes it). The stored pods must be byte-identical, and
// the warnings the same.
func TestSeccompAdmissionPolicyAgreesWithWebhook(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, map[string]string{"team": "shop"})
	coverWithDefaultDeny(t, ns)
	mustCreate(t, allowDNS(ns))
	applyPolicy(t, fmt.Sprintf(`apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
exemptions:
  - {name: exporters, rules: [seccomp], namespaces: [%s], objectSelector: {matchLabels: {app: node-exporter}}, reason: host metrics, expires: "2099-01-01"}
  - {name: expired, rules: [seccomp], namespaces: [%s], objectSelector: {matchLabels: {app: old}}, reason: gone, expires: "2020-01-01"}
annotationExemptions:
  namespaces: [%s]
`, ns, ns, ns))

	containers := func(sc *corev1.SecurityContext) []corev1.Container {
		return []corev1.Container{{Name: "app", Image: "registry.example/app:1", SecurityContext: sc}}
	}
	profile := func(t corev1.SeccompProfileType) *corev1.SecurityContext {
		return &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: t}}
	}
	tests := []struct {
		name, rule  string
		labels      map[string]string
		annotations map[string]string
		spec        corev1.PodSpec
	}{
		{name: "no securityContext", rule: "Check: add /spec/securityContext... (the API server defaults it to {})",
			spec: corev1.PodSpec{Containers: containers(nil)}},
		{name: "a securityContext without a profile", rule: "Check: add /spec/securityContext/seccompProfile",
			spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, Containers: containers(nil)}},
		{name: "a pod-level Localhost profile", rule: "Check: a profile is set",
			spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{
				Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("profiles/app.json")}}, Containers: containers(nil)}},
		{name: "every container sets its own, no pod-level", rule: "Check: only the pod-level profile counts",
			spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "init", Image: "registry.example/init:1", SecurityContext: profile(corev1.SeccompProfileTypeRuntimeDefault)}},
				Containers: containers(profile(corev1.SeccompProfileTypeRuntimeDefault))}},
		{name: "an Unconfined init container, no pod-level", rule: "Check: patched; the final entry warns about Unconfined",
			spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "init", Image: "registry.example/init:1", SecurityContext: profile(corev1.SeccompProfileTypeUnconfined)}},
				Containers: containers(nil)}},
		{name: "the legacy annotation runtime/default", rule: "legacyAnnotationMeansRuntimeDefault",
			annotations: map[string]string{corev1.SeccompPodAnnotationKey: corev1.SeccompProfileRuntimeDefault}, spec: corev1.PodSpec{Containers: containers(nil)}},
		{name: "a conflicting legacy annotation, every container set", rule: "Check: the field would contradict the annotation",
			annotations: map[string]string{corev1.SeccompPodAnnotationKey: "localhost/profiles/app.json"},
			spec:        corev1.PodSpec{Containers: containers(profile(corev1.SeccompProfileTypeRuntimeDefault))}},
		{name: "a Windows pod", rule: "Check: the API rejects seccomp fields on Windows pods",
			spec: corev1.PodSpec{OS: &corev1.PodOS{Name: corev1.Windows}, Containers: containers(nil)}},
		{name: "exempted by the policy", rule: "config Exemption objectSelector", labels: map[string]string{"app": "node-exporter"},
			spec: corev1.PodSpec{Containers: containers(nil)}},
		{name: "an expired exemption", rule: "config Exemption expires", labels: map[string]string{"app": "old"},
			spec: corev1.PodSpec{Containers: containers(nil)}},
		{name: "exempted by its annotation", rule: "config AnnotationExemptions",
			annotations: map[string]string{config.ExemptAnnotation: "networkPolicy, seccomp"}, spec: corev1.PodSpec{Containers: containers(nil)}},
		{name: "an annotation naming another rule", rule: "config AnnotationExemptions: the rule exactly",
			annotations: map[string]string{config.ExemptAnnotation: "seccomp-x"}, spec: corev1.PodSpec{Containers: containers(nil)}},
	}
	// Then every pod of the rule's own table (seccompcases, which the unit
	// tests of seccomp.Check read), in this namespace and owned.
	for _, c := range seccompcases.Cases() {
		tests = append(tests, struct {
			name, rule  string
			labels      map[string]string
			annotations map[string]string
			spec        corev1.PodSpec
		}{name: "rule table: " + c.Name, rule: "seccomp.Check: " + c.Name, labels: c.Pod.Labels, annotations: c.Pod.Annotations, spec: c.Pod.Spec})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := func() *corev1.Pod {
				l := map[string]string{"app": "web"}
				for k, v := range tt.labels {
					l[k] = v
				}
				return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Labels: l, Annotations: maps.Clone(tt.annotations),
					OwnerReferences: ownedByReplicaSet("web-5d4f")}, Spec: *tt.spec.DeepCopy()}
			}

			// In the API server: no call to eksguard's mutation.
			c, warnings := newWarningClient(t)
			before := webhookCalls(t, "/mutate-v1-pod-seccomp")
			viaPolicy := pod()
			policyErr := c.Create(ctx, viaPolicy, client.DryRunAll)
			policyWarnings := warnings.Messages()
			calls := webhookCalls(t, "/mutate-v1-pod-seccomp") - before

			// The webhook's patch, applied in-process.
			c, warnings = newWarningClient(t)
			viaWebhook := webhookPatched(t, pod())
			webhookErr := c.Create(ctx, viaWebhook, client.DryRunAll)
			if policyErr != nil || webhookErr != nil {
				// A pod the API server rejects (no containers, ephemeral
				// containers on create) must be rejected alike.
				if policyErr == nil || webhookErr == nil || policyErr.Error() != webhookErr.Error() {
					t.Fatalf("%s: the API server's answers differ:\n admission policy %v\n webhook          %v", tt.rule, policyErr, webhookErr)
				}
				t.Logf("rejected alike: %v", policyErr)
				return
			}
			// The webhook is called only for a pod it could patch that the
			// admission policy left alone: one the policy in force exempts.
			if got, want := calls, float64(len(seccomp.Check(viaPolicy).Patches)); got != want {
				t.Errorf("%s: eksguard's seccomp webhook was called %v times, want %v", tt.rule, got, want)
			}
			a, _ := json.Marshal(stripVolatile(viaPolicy))
			b, _ := json.Marshal(stripVolatile(viaWebhook))
			if string(a) != string(b) {
				t.Errorf("%s: stored pods differ:\n admission policy %s\n webhook          %s", tt.rule, a, b)
			}
			if got, want := policyWarnings, warnings.Messages(); !equalStrings(got, want) {
				t.Errorf("%s: warnings differ:\n admission policy %q\n webhook          %q", tt.rule, got, want)
			}
		})
	}
}

// webhookPatched is pod as eksguard's mutating webhook would leave it: the
// policy's decision for the pod, then seccomp.Check's patch in enforce.
func webhookPatched(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	p := testServer.Store.Current()
	d := p.Decide(config.RuleSeccomp, p.Config.Rules.Seccomp.Mode, config.Subject{Namespace: pod.Namespace,
		NamespaceLabels: labels.Set{corev1.LabelMetadataName: pod.Namespace, "team": "shop"}, Labels: pod.Labels, Annotations: pod.Annotations}, time.Now())
	// The API server defaults an absent securityContext to {} before
	// admission; the handler sees that.
	if pod.Spec.SecurityContext == nil {
		pod.Spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	patches := seccomp.Check(pod).Patches
	if d.Mode != config.ModeEnforce || len(patches) == 0 {
		return pod
	}
	raw, _ := json.Marshal(pod)
	ops, _ := json.Marshal(patches)
	patch, err := jsonpatch.DecodePatch(ops)
	if err != nil {
		t.Fatal(err)
	}
	out, err := patch.Apply(raw)
	if err != nil {
		t.Fatalf("applying %s: %v", ops, err)
	}
	var patched corev1.Pod
	if err := json.Unmarshal(out, &patched); err != nil {
		t.Fatal(err)
	}
	return &patched
}

// stripVolatile drops what differs between two creates of the same pod.
func stripVolatile(pod *corev1.Pod) *corev1.Pod {
	p := pod.DeepCopy()
	p.UID, p.ResourceVersion, p.CreationTimestamp, p.ManagedFields, p.Generation = "", "", metav1.Time{}, nil, 0
	return p
}

// TestSeccompAdmissionPolicyNotRewritten: against the real API server's
// defaulting, a second pass over an unchanged policy changes nothing
// stored: the rendering is deterministic (selector terms and lists in a
// fixed order), so replicas and resyncs do not churn the objects the API
// server's admission plugin watches.
func TestSeccompAdmissionPolicyNotRewritten(t *testing.T) {
	ctx := context.Background()
	const name = "rewrite-probe-seccomp"
	removeSeccompAdmissionPolicy(t, name)
	r := &admissionpolicy.Reconciler{Reader: k8sClient, Writer: k8sClient, Mapper: k8sClient.RESTMapper(), Name: name}
	p := testServer.Store.Current()
	versions := func() [2]string {
		var policy admissionregistrationv1.MutatingAdmissionPolicy
		var binding admissionregistrationv1.MutatingAdmissionPolicyBinding
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, &policy); err != nil {
			t.Fatal(err)
		}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, &binding); err != nil {
			t.Fatal(err)
		}
		return [2]string{policy.ResourceVersion, binding.ResourceVersion}
	}
	if _, err := r.Reconcile(ctx, p); err != nil {
		t.Fatal(err)
	}
	first := versions()
	if _, err := r.Reconcile(ctx, p); err != nil {
		t.Fatal(err)
	}
	if second := versions(); second != first {
		t.Errorf("an unchanged policy was written again: resourceVersions %v -> %v", first, second)
	}
}
