// Package seccompcases is the seccomp rule's table of pods, shared by the
// rule's unit tests (webhook/seccomp) and the envtest that creates each pod
// through the real API server with the admission policy and with the
// webhook's patch (test/admissionpolicy_test.go), so that both hold the
// same cases.
package seccompcases

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The rule's patches and its finding for a missing profile.
const (
	PatchNoSecurityContext   = `[{"op":"add","path":"/spec/securityContext","value":{"seccompProfile":{"type":"RuntimeDefault"}}}]`
	PatchIntoSecurityContext = `[{"op":"add","path":"/spec/securityContext/seccompProfile","value":{"type":"RuntimeDefault"}}]`

	MissingErr = `spec.securityContext.seccompProfile: Required value: pod has no seccomp profile; ` +
		`enforce would set spec.securityContext.seccompProfile.type=RuntimeDefault`
)

// Option changes the base pod.
type Option func(*corev1.Pod)

// Pod is a Linux pod with one container and no seccomp settings.
func Pod(opts ...Option) *corev1.Pod {
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "registry.example/web:1.0"}},
		},
	}
	for _, o := range opts {
		o(pod)
	}
	return pod
}

// Profile is a profile of type t (Localhost with a path).
func Profile(t corev1.SeccompProfileType) *corev1.SeccompProfile {
	p := &corev1.SeccompProfile{Type: t}
	if t == corev1.SeccompProfileTypeLocalhost {
		p.LocalhostProfile = ptr.To("profiles/web.json")
	}
	return p
}

// PodSecurityContext sets the pod-level security context.
func PodSecurityContext(sc *corev1.PodSecurityContext) Option {
	return func(p *corev1.Pod) { p.Spec.SecurityContext = sc }
}

// PodProfile sets a pod-level profile.
func PodProfile(t corev1.SeccompProfileType) Option {
	return PodSecurityContext(&corev1.PodSecurityContext{SeccompProfile: Profile(t)})
}

// ContainerProfile sets container i's profile.
func ContainerProfile(i int, t corev1.SeccompProfileType) Option {
	return func(p *corev1.Pod) {
		p.Spec.Containers[i].SecurityContext = &corev1.SecurityContext{SeccompProfile: Profile(t)}
	}
}

// ExtraContainer adds a container without a security context.
func ExtraContainer(name string) Option {
	return func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: name, Image: "registry.example/" + name + ":1.0"})
	}
}

// InitContainer adds an init container with profile t ("" for none).
func InitContainer(name string, t corev1.SeccompProfileType) Option {
	return func(p *corev1.Pod) {
		c := corev1.Container{Name: name, Image: "registry.example/" + name + ":1.0"}
		if t != "" {
			c.SecurityContext = &corev1.SecurityContext{SeccompProfile: Profile(t)}
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
}

// EphemeralContainer adds an ephemeral container with profile t.
func EphemeralContainer(name string, t corev1.SeccompProfileType) Option {
	return func(p *corev1.Pod) {
		c := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: name, Image: "registry.example/debug:1.0",
			SecurityContext: &corev1.SecurityContext{SeccompProfile: Profile(t)},
		}}
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, c)
	}
}

// OSName sets spec.os.name.
func OSName(name corev1.OSName) Option {
	return func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: name} }
}

// Annotation sets an annotation.
func Annotation(key, value string) Option {
	return func(p *corev1.Pod) { metav1.SetMetaDataAnnotation(&p.ObjectMeta, key, value) }
}

// Case is a pod and what seccomp.Check finds in it.
type Case struct {
	Name           string
	Pod            *corev1.Pod
	WantPatch      string // JSON of Violations.Patches; "" for none
	WantMissing    []string
	WantUnconfined []string
	// RestrictedBefore and RestrictedAfter are whether the pod passes Pod
	// Security Admission's restricted seccomp check before and after
	// eksguard's patch.
	RestrictedBefore, RestrictedAfter bool
}

// Cases are the rule's table, new pods each call.
func Cases() []Case {
	return []Case{
		{
			Name:            "no securityContext",
			Pod:             Pod(),
			WantPatch:       PatchNoSecurityContext,
			WantMissing:     []string{MissingErr},
			RestrictedAfter: true,
		},
		{
			Name:            "empty securityContext, as the API server defaults it",
			Pod:             Pod(PodSecurityContext(&corev1.PodSecurityContext{})),
			WantPatch:       PatchIntoSecurityContext,
			WantMissing:     []string{MissingErr},
			RestrictedAfter: true,
		},
		{
			Name: "other securityContext fields are kept",
			Pod: Pod(PodSecurityContext(&corev1.PodSecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000),
				SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c123,c456"},
			})),
			WantPatch:       PatchIntoSecurityContext,
			WantMissing:     []string{MissingErr},
			RestrictedAfter: true,
		},
		{
			Name:            "explicit Linux OS",
			Pod:             Pod(OSName(corev1.Linux)),
			WantPatch:       PatchNoSecurityContext,
			WantMissing:     []string{MissingErr},
			RestrictedAfter: true,
		},
		{
			Name:             "pod-level Localhost is left alone",
			Pod:              Pod(PodProfile(corev1.SeccompProfileTypeLocalhost)),
			RestrictedBefore: true,
			RestrictedAfter:  true,
		},
		{
			Name:             "already mutated pod (pod-level RuntimeDefault)",
			Pod:              Pod(PodProfile(corev1.SeccompProfileTypeRuntimeDefault)),
			RestrictedBefore: true,
			RestrictedAfter:  true,
		},
		{
			Name:            "container-level profile still gets the pod-level default",
			Pod:             Pod(ExtraContainer("sidecar"), ContainerProfile(0, corev1.SeccompProfileTypeLocalhost)),
			WantPatch:       PatchNoSecurityContext,
			WantMissing:     []string{MissingErr},
			RestrictedAfter: true,
		},
		{
			Name:             "every container sets its own profile: the pod level still gets the default",
			Pod:              Pod(ExtraContainer("sidecar"), ContainerProfile(0, corev1.SeccompProfileTypeLocalhost), ContainerProfile(1, corev1.SeccompProfileTypeRuntimeDefault)),
			WantPatch:        PatchNoSecurityContext,
			WantMissing:      []string{MissingErr},
			RestrictedBefore: true,
			RestrictedAfter:  true,
		},
		{
			Name:        "container-level Unconfined",
			Pod:         Pod(ExtraContainer("sidecar"), ContainerProfile(1, corev1.SeccompProfileTypeUnconfined)),
			WantPatch:   PatchNoSecurityContext,
			WantMissing: []string{MissingErr},
			WantUnconfined: []string{`spec.containers[1].securityContext.seccompProfile.type: Invalid value: "Unconfined": ` +
				`container "sidecar" runs Unconfined; use RuntimeDefault or a Localhost profile`},
		},
		{
			Name: "pod-level Unconfined is reported, not overwritten",
			Pod:  Pod(PodProfile(corev1.SeccompProfileTypeUnconfined)),
			WantUnconfined: []string{`spec.securityContext.seccompProfile.type: Invalid value: "Unconfined": ` +
				`pod runs Unconfined; use RuntimeDefault or a Localhost profile`},
		},
		{
			Name: "init and ephemeral containers, pod level Unconfined too, in spec order",
			Pod: Pod(PodProfile(corev1.SeccompProfileTypeUnconfined),
				InitContainer("migrate", corev1.SeccompProfileTypeRuntimeDefault),
				InitContainer("init-db", corev1.SeccompProfileTypeUnconfined),
				EphemeralContainer("debugger", corev1.SeccompProfileTypeUnconfined)),
			WantUnconfined: []string{
				`spec.securityContext.seccompProfile.type: Invalid value: "Unconfined": pod runs Unconfined; use RuntimeDefault or a Localhost profile`,
				`spec.initContainers[1].securityContext.seccompProfile.type: Invalid value: "Unconfined": ` +
					`container "init-db" runs Unconfined; use RuntimeDefault or a Localhost profile`,
				`spec.ephemeralContainers[0].securityContext.seccompProfile.type: Invalid value: "Unconfined": ` +
					`container "debugger" runs Unconfined; use RuntimeDefault or a Localhost profile`,
			},
		},
		{
			Name:            "init container without a profile is covered by the pod-level default",
			Pod:             Pod(PodSecurityContext(&corev1.PodSecurityContext{}), InitContainer("migrate", "")),
			WantPatch:       PatchIntoSecurityContext,
			WantMissing:     []string{MissingErr},
			RestrictedAfter: true,
		},
		{
			Name:             "Windows pod is left alone",
			Pod:              Pod(OSName(corev1.Windows)),
			RestrictedBefore: true, // PSA exempts Windows pods from this check.
			RestrictedAfter:  true,
		},
		{
			// Only the handler skips mirror pods, and only from their node.
			Name:            "a mirror annotation alone changes nothing",
			Pod:             Pod(Annotation(corev1.MirrorPodAnnotationKey, "0f4e7c1b")),
			WantPatch:       PatchNoSecurityContext,
			WantMissing:     []string{MissingErr},
			RestrictedAfter: true,
		},
		{
			Name: "legacy annotation other than runtime/default blocks the patch",
			Pod:  Pod(Annotation(corev1.SeccompPodAnnotationKey, "unconfined")),
			WantMissing: []string{`metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: Invalid value: "unconfined": ` +
				`remove legacy annotation seccomp.security.alpha.kubernetes.io/pod (it has no effect since Kubernetes 1.27) so RuntimeDefault can be set, or give every container its own profile`},
		},
		{
			// validateSeccompAnnotationsAndFieldsMatch checks the pod-level
			// Annotation against the pod-level field only; since 1.27 the
			// Annotation has no effect, and every container is confined.
			Name: "legacy annotation with every container setting its own profile: nothing is missing",
			Pod: Pod(Annotation(corev1.SeccompPodAnnotationKey, "localhost/legacy.json"), ExtraContainer("sidecar"),
				InitContainer("migrate", corev1.SeccompProfileTypeRuntimeDefault),
				ContainerProfile(0, corev1.SeccompProfileTypeRuntimeDefault), ContainerProfile(1, corev1.SeccompProfileTypeLocalhost)),
			RestrictedBefore: true,
			RestrictedAfter:  true,
		},
		{
			Name: "legacy annotation with one container falling back to the pod level still blocks the patch",
			Pod: Pod(Annotation(corev1.SeccompPodAnnotationKey, "unconfined"), ExtraContainer("sidecar"),
				ContainerProfile(0, corev1.SeccompProfileTypeRuntimeDefault)),
			WantMissing: []string{`metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: Invalid value: "unconfined": ` +
				`remove legacy annotation seccomp.security.alpha.kubernetes.io/pod (it has no effect since Kubernetes 1.27) so RuntimeDefault can be set, or give every container its own profile`},
		},
		{
			Name:            "legacy annotation runtime/default agrees with the patch",
			Pod:             Pod(Annotation(corev1.SeccompPodAnnotationKey, corev1.SeccompProfileRuntimeDefault)),
			WantPatch:       PatchNoSecurityContext,
			WantMissing:     []string{MissingErr},
			RestrictedAfter: true,
		},
		{
			Name: "pod without containers is left to API validation",
			Pod:  Pod(func(p *corev1.Pod) { p.Spec.Containers = nil }),
			// Nothing to confine: PSA passes it; the API server rejects it.
			RestrictedBefore: true,
			RestrictedAfter:  true,
		},
	}
}
