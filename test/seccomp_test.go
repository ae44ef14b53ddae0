package test

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// seccompFinalWebhook is the webhook name of the validating seccomp
	// route (webhook.Routes), which denies; the mutating one only patches.
	seccompFinalWebhook   = "seccomp.final-pods.eksguard.io"
	seccompMissingWarning = "eksguard [seccomp] pod has no seccomp profile; " +
		"enforce would set spec.securityContext.seccompProfile.type=RuntimeDefault"
)

// seccompNamespace is a fresh namespace whose pods a default-deny
// NetworkPolicy covers, so that only the seccomp rule has anything to say.
func seccompNamespace(t *testing.T) string {
	t.Helper()
	ns := newNamespace(t, nil)
	deny := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-deny"},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}
	if err := k8sClient.Create(context.Background(), deny); err != nil {
		t.Fatalf("creating the default-deny NetworkPolicy: %v", err)
	}
	if err := k8sClient.Create(context.Background(), allowDNS(ns)); err != nil {
		t.Fatalf("creating the DNS allow: %v", err)
	}
	return ns
}

func seccompTestPodSpec() corev1.PodSpec {
	return corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "migrate", Image: "registry.example/web:1.0"}},
		Containers: []corev1.Container{
			{Name: "app", Image: "registry.example/web:1.0", Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}},
			{Name: "proxy", Image: "registry.example/envoy:1.31", SecurityContext: &corev1.SecurityContext{
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("envoy.json")},
			}},
		},
	}
}

func seccompTestPod(ns string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "web-", Labels: map[string]string{"app": "web"}, OwnerReferences: ownedByReplicaSet("web-5d4f")},
		Spec:       seccompTestPodSpec(),
	}
}

// getPod reads the pod as stored.
func getPod(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	var stored corev1.Pod
	if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(pod), &stored); err != nil {
		t.Fatalf("reading pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
	return &stored
}

// assertPodProfile checks the stored pod-level profile (nil: none) and that
// the container-level profiles are those the pod was created with.
func assertPodProfile(t *testing.T, stored *corev1.Pod, want *corev1.SeccompProfile, sent corev1.PodSpec) {
	t.Helper()
	var got *corev1.SeccompProfile
	if stored.Spec.SecurityContext != nil {
		got = stored.Spec.SecurityContext.SeccompProfile
	}
	if !ptrEqual(got, want) {
		t.Errorf("pod-level seccompProfile: got %+v, want %+v", got, want)
	}
	for i, c := range stored.Spec.Containers {
		var gotC, wantC *corev1.SeccompProfile
		if c.SecurityContext != nil {
			gotC = c.SecurityContext.SeccompProfile
		}
		if sc := sent.Containers[i].SecurityContext; sc != nil {
			wantC = sc.SeccompProfile
		}
		if !ptrEqual(gotC, wantC) {
			t.Errorf("container %q seccompProfile changed: got %+v, want %+v", c.Name, gotC, wantC)
		}
	}
}

func ptrEqual(a, b *corev1.SeccompProfile) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Type == b.Type && ptr.Deref(a.LocalhostProfile, "") == ptr.Deref(b.LocalhostProfile, "")
}

var runtimeDefault = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}

// TestSeccompInjectsRuntimeDefault: a pod created through the API server is
// stored with the pod-level RuntimeDefault profile; container profiles stay.
func TestSeccompInjectsRuntimeDefault(t *testing.T) {
	ns := seccompNamespace(t)
	c, warnings := newWarningClient(t)
	pod := seccompTestPod(ns)
	if err := c.Create(context.Background(), pod); err != nil {
		t.Fatalf("create: %v", err)
	}
	assertPodProfile(t, getPod(t, pod), runtimeDefault, seccompTestPodSpec())
	if got := warnings.Messages(); len(got) > 0 {
		t.Errorf("unexpected warnings: %q", got)
	}
}

// TestSeccompDryRun: a server-side dry run shows the mutation and stores
// nothing.
func TestSeccompDryRun(t *testing.T) {
	ns := seccompNamespace(t)
	pod := seccompTestPod(ns)
	pod.GenerateName, pod.Name = "", "dry-run"
	if err := k8sClient.Create(context.Background(), pod, client.DryRunAll); err != nil {
		t.Fatalf("dry-run create: %v", err)
	}
	assertPodProfile(t, pod, runtimeDefault, seccompTestPodSpec())
	err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(pod), &corev1.Pod{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("after a dry run, get: %v, want NotFound", err)
	}
}

// TestSeccompMutatesControllerPods: the Deployment and ReplicaSet templates
// are stored as written (no GitOps drift), and the pod the ReplicaSet
// controller creates from the template, owned by the ReplicaSet, gets the
// profile. envtest runs no controllers, so the test creates the ReplicaSet
// and its pod the way the controllers would.
func TestSeccompMutatesControllerPods(t *testing.T) {
	ctx := context.Background()
	ns := seccompNamespace(t)
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       seccompTestPodSpec(),
	}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: template,
		},
	}
	if err := k8sClient.Create(ctx, deploy); err != nil {
		t.Fatalf("creating the Deployment: %v", err)
	}

	const hash = "7d9c8b6f4"
	rsTemplate := template.DeepCopy()
	rsTemplate.Labels["pod-template-hash"] = hash
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "web-" + hash, Labels: rsTemplate.Labels,
			OwnerReferences: []metav1.OwnerReference{controllerRef(deploy, "Deployment")},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: rsTemplate.Labels},
			Template: *rsTemplate,
		},
	}
	if err := k8sClient.Create(ctx, rs); err != nil {
		t.Fatalf("creating the ReplicaSet: %v", err)
	}

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, GenerateName: rs.Name + "-", Labels: rs.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{controllerRef(rs, "ReplicaSet")},
		},
		Spec: *rs.Spec.Template.Spec.DeepCopy(),
	}
	if err := k8sClient.Create(ctx, pod); err != nil {
		t.Fatalf("creating the ReplicaSet's pod: %v", err)
	}
	assertPodProfile(t, getPod(t, pod), runtimeDefault, template.Spec)

	var storedDeploy appsv1.Deployment
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(deploy), &storedDeploy); err != nil {
		t.Fatal(err)
	}
	var storedRS appsv1.ReplicaSet
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(rs), &storedRS); err != nil {
		t.Fatal(err)
	}
	for kind, spec := range map[string]corev1.PodSpec{"Deployment": storedDeploy.Spec.Template.Spec, "ReplicaSet": storedRS.Spec.Template.Spec} {
		if sc := spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
			t.Errorf("%s template was mutated: seccompProfile %+v", kind, sc.SeccompProfile)
		}
	}
}

// controllerRef is the owner reference an apps/v1 controller sets.
func controllerRef(owner metav1.Object, kind string) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: appsv1.SchemeGroupVersion.String(), Kind: kind, Name: owner.GetName(), UID: owner.GetUID(),
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}
}

// TestSeccompLeavesWindowsPodsAlone: the API server would reject a seccomp
// field on a Windows pod, so the pod is admitted unchanged.
func TestSeccompLeavesWindowsPodsAlone(t *testing.T) {
	ns := seccompNamespace(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "iis-"},
		Spec: corev1.PodSpec{
			OS:         &corev1.PodOS{Name: corev1.Windows},
			Containers: []corev1.Container{{Name: "iis", Image: "mcr.microsoft.com/windows/servercore/iis"}},
		},
	}
	if err := k8sClient.Create(context.Background(), pod); err != nil {
		t.Fatalf("create: %v", err)
	}
	assertPodProfile(t, getPod(t, pod), nil, pod.Spec)
}

// TestSeccompWarnMode: in warn mode the pod is stored unchanged and the
// client sees what enforce mode would have set.
func TestSeccompWarnMode(t *testing.T) {
	applyPolicy(t, `
apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  seccomp:
    mode: warn
`)
	ns := seccompNamespace(t)
	c, warnings := newWarningClient(t)
	pod := seccompTestPod(ns)
	if err := c.Create(context.Background(), pod); err != nil {
		t.Fatalf("create: %v", err)
	}
	assertPodProfile(t, getPod(t, pod), nil, seccompTestPodSpec())
	if got, want := warnings.Messages(), []string{seccompMissingWarning}; !slices.Equal(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}

// unconfinedEnforcePolicy denies Unconfined profiles instead of warning.
const unconfinedEnforcePolicy = `
apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  seccomp:
    unconfined: enforce
`

// TestSeccompUnconfinedEnforced: with rules.seccomp.unconfined enforce, an
// Unconfined container is denied with a reason naming it.
func TestSeccompUnconfinedEnforced(t *testing.T) {
	applyPolicy(t, unconfinedEnforcePolicy)
	ns := seccompNamespace(t)
	pod := seccompTestPod(ns)
	pod.Spec.InitContainers[0].SecurityContext = &corev1.SecurityContext{
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
	}
	err := k8sClient.Create(context.Background(), pod)
	if !apierrors.IsForbidden(err) {
		t.Fatalf("create: got error %v, want Forbidden", err)
	}
	want := `admission webhook "` + seccompFinalWebhook + `" denied the request: eksguard denied this Pod: [seccomp] ` +
		`spec.initContainers[0].securityContext.seccompProfile.type: container "migrate" runs Unconfined; use RuntimeDefault or a Localhost profile`
	if err.Error() != want {
		t.Errorf("denial:\n got %q\nwant %q", err.Error(), want)
	}
}

// TestSeccompFakeMirrorPod: a user who is not the pod's node cannot skip the
// rule by setting the mirror annotation (noderestriction admitPodCreate is
// what makes a node's mirror pods trustworthy): its Unconfined pod is denied
// under unconfined: enforce like any other.
func TestSeccompFakeMirrorPod(t *testing.T) {
	applyPolicy(t, unconfinedEnforcePolicy)
	ns := seccompNamespace(t)
	pod := seccompTestPod(ns)
	pod.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "0f4e7c1b"}
	// A mirror pod names its node (ValidatePodCreate), and the request does
	// not come from it.
	pod.Spec.NodeName = "node-a"
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}
	err := k8sClient.Create(context.Background(), pod)
	want := `admission webhook "` + seccompFinalWebhook + `" denied the request: eksguard denied this Pod: [seccomp] ` +
		`spec.securityContext.seccompProfile.type: pod runs Unconfined; use RuntimeDefault or a Localhost profile`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Errorf("create of a fake mirror pod:\n got %v\nwant %q", err, want)
	}
}

// TestSeccompLegacyAnnotation: the API server rejects a pod whose legacy
// seccomp annotation disagrees with its field, which is why eksguard
// denies such a pod with advice instead of adding the field.
func TestSeccompLegacyAnnotation(t *testing.T) {
	ns := seccompNamespace(t)
	legacy := func() *corev1.Pod {
		pod := seccompTestPod(ns)
		pod.Annotations = map[string]string{corev1.SeccompPodAnnotationKey: "unconfined"}
		return pod
	}

	withField := legacy()
	withField.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: runtimeDefault}
	if err := k8sClient.Create(context.Background(), withField); !apierrors.IsInvalid(err) {
		t.Errorf("annotation unconfined with field RuntimeDefault: got error %v, want Invalid", err)
	}

	err := k8sClient.Create(context.Background(), legacy())
	if !apierrors.IsForbidden(err) {
		t.Fatalf("annotation unconfined without field: got error %v, want Forbidden", err)
	}
	want := `admission webhook "` + seccompFinalWebhook + `" denied the request: eksguard denied this Pod: [seccomp] ` +
		`metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: ` +
		`remove legacy annotation seccomp.security.alpha.kubernetes.io/pod (it has no effect since Kubernetes 1.27) so RuntimeDefault can be set, or give every container its own profile`
	if err.Error() != want {
		t.Errorf("denial:\n got %q\nwant %q", err.Error(), want)
	}

	// Every container with its own profile: the API server compares the
	// pod annotation only with the pod-level field (none here) and warns
	// that the annotation does nothing; eksguard admits the pod unchanged.
	covered := legacy()
	for _, list := range [][]corev1.Container{covered.Spec.InitContainers, covered.Spec.Containers} {
		for i := range list {
			list[i].SecurityContext = &corev1.SecurityContext{SeccompProfile: runtimeDefault}
		}
	}
	c, warnings := newWarningClient(t)
	if err := c.Create(context.Background(), covered); err != nil {
		t.Fatalf("annotation unconfined, every container RuntimeDefault: %v", err)
	}
	if covered.Spec.SecurityContext != nil && covered.Spec.SecurityContext.SeccompProfile != nil {
		t.Errorf("eksguard added a pod-level profile next to the annotation: %+v", covered.Spec.SecurityContext.SeccompProfile)
	}
	if got := warnings.Messages(); !slices.ContainsFunc(got, func(w string) bool {
		return strings.Contains(w, corev1.SeccompPodAnnotationKey) && strings.Contains(w, "non-functional")
	}) {
		t.Errorf("warnings %q: want the API server's warning about the annotation", got)
	}
}

// TestSeccompEphemeralContainers: the API server sends the
// pods/ephemeralcontainers subresource UPDATE of kubectl debug to the
// ephemeral-container route, and answers with its verdict: an Unconfined
// ephemeral container is denied under unconfined: enforce and warned about
// by default, while a confined one is added.
func TestSeccompEphemeralContainers(t *testing.T) {
	ctx := context.Background()
	ns := seccompNamespace(t)
	pod := seccompTestPod(ns)
	if err := k8sClient.Create(ctx, pod); err != nil {
		t.Fatalf("create: %v", err)
	}
	debugger := func(name string, profile corev1.SeccompProfileType) *corev1.Pod {
		p := pod.DeepCopy()
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: name, Image: "busybox", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				ImagePullPolicy: corev1.PullIfNotPresent, SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: profile}}},
		})
		return p
	}
	detail := `ephemeral container "unconfined" runs Unconfined; use RuntimeDefault or a Localhost profile`

	c, warnings := newWarningClient(t)
	if err := c.SubResource("ephemeralcontainers").Update(ctx, debugger("confined", corev1.SeccompProfileTypeRuntimeDefault)); err != nil {
		t.Fatalf("adding a confined ephemeral container: %v", err)
	}
	if got := warnings.Messages(); len(got) != 0 {
		t.Errorf("warnings for a confined ephemeral container: %q", got)
	}
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
		t.Fatal(err)
	}
	warnings.Reset()
	if err := c.SubResource("ephemeralcontainers").Update(ctx, debugger("unconfined", corev1.SeccompProfileTypeUnconfined)); err != nil {
		t.Fatalf("adding an Unconfined ephemeral container under the default warn: %v", err)
	}
	if want := []string{"eksguard [seccomp] " + detail}; !slices.Equal(warnings.Messages(), want) {
		t.Errorf("warnings:\n got %q\nwant %q", warnings.Messages(), want)
	}

	applyPolicy(t, unconfinedEnforcePolicy)
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
		t.Fatal(err)
	}
	err := k8sClient.SubResource("ephemeralcontainers").Update(ctx, debugger("unconfined-2", corev1.SeccompProfileTypeUnconfined))
	want := `admission webhook "seccomp.ephemeralcontainers.eksguard.io" denied the request: eksguard denied this Pod: [seccomp] ` +
		`spec.ephemeralContainers[2].securityContext.seccompProfile.type: ephemeral container "unconfined-2" runs Unconfined; use RuntimeDefault or a Localhost profile`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Errorf("under unconfined: enforce:\n got %v\nwant %q", err, want)
	}
}
