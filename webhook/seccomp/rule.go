package seccomp

import (
	"fmt"

	jsonpatch "gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Violations is the seccomp rule's verdict on one pod.
type Violations struct {
	// Missing says the pod has no pod-level profile; empty when it has one
	// or the rule does not apply to the pod.
	Missing field.ErrorList
	// Patches add the pod-level RuntimeDefault profile that Missing asks
	// for. Empty when the profile cannot be added safely; Missing then
	// tells the user what to change.
	Patches []jsonpatch.JsonPatchOperation
	// Unconfined has one error per explicit Unconfined profile, pod level
	// first, then containers in spec order.
	Unconfined field.ErrorList
}

var (
	specPath             = field.NewPath("spec")
	podSeccompPath       = specPath.Child("securityContext", "seccompProfile")
	legacyAnnotationPath = field.NewPath("metadata", "annotations").Key(corev1.SeccompPodAnnotationKey)
)

// Check applies the rule to pod. It is pure and deterministic: the patch
// depends only on whether spec.securityContext is present, and it never
// touches anything but the missing field, so applying it and checking
// again yields no patch.
//
// Windows pods (the API rejects seccomp fields on them) are left alone
// entirely, and so are pods without containers: the API server rejects
// them, and their spec may be missing, which would make the patch fail to
// apply. Mirror pods are the handler's to skip (mirrorFromItsNode): the
// annotation alone proves nothing.
func Check(pod *corev1.Pod) Violations {
	if isWindows(pod) || len(pod.Spec.Containers) == 0 {
		return Violations{}
	}
	var r Violations
	r.Unconfined = unconfined(&pod.Spec)
	sc := pod.Spec.SecurityContext
	if sc != nil && sc.SeccompProfile != nil {
		return r
	}
	// The API server rejects a pod whose legacy seccomp annotation and
	// field disagree (validateSeccompAnnotationsAndFieldsMatch in
	// pkg/apis/core/validation), so adding the field next to such an
	// annotation would turn a mutation into a failed create. The annotation
	// itself does nothing since 1.27 (the API server only warns about it,
	// pkg/api/pod warnings), so a pod whose every container sets its own
	// profile is confined without the pod-level one: nothing is missing.
	if value, ok := pod.Annotations[corev1.SeccompPodAnnotationKey]; ok && !legacyAnnotationMeansRuntimeDefault(value) {
		if everyContainerSetsAProfile(&pod.Spec) {
			return r
		}
		r.Missing = field.ErrorList{field.Invalid(legacyAnnotationPath, value,
			fmt.Sprintf("remove legacy annotation %s (it has no effect since Kubernetes 1.27) so RuntimeDefault can be set, or give every container its own profile", corev1.SeccompPodAnnotationKey))}
		return r
	}
	r.Missing = field.ErrorList{field.Required(podSeccompPath,
		"pod has no seccomp profile; enforce would set spec.securityContext.seccompProfile.type=RuntimeDefault")}
	r.Patches = []jsonpatch.JsonPatchOperation{addRuntimeDefault(sc)}
	return r
}

// addRuntimeDefault adds only what is missing: the seccompProfile inside an
// existing securityContext, or a securityContext holding just the profile
// (a JSON null securityContext decodes as absent and is replaced the same way).
func addRuntimeDefault(sc *corev1.PodSecurityContext) jsonpatch.JsonPatchOperation {
	profile := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	if sc == nil {
		return jsonpatch.NewOperation("add", "/spec/securityContext", &corev1.PodSecurityContext{SeccompProfile: profile})
	}
	return jsonpatch.NewOperation("add", "/spec/securityContext/seccompProfile", profile)
}

// unconfined reports every explicit Unconfined profile.
func unconfined(spec *corev1.PodSpec) field.ErrorList {
	var errs field.ErrorList
	if sc := spec.SecurityContext; sc != nil && isUnconfined(sc.SeccompProfile) {
		errs = append(errs, unconfinedError(podSeccompPath.Child("type"), "pod runs Unconfined"))
	}
	checkContainer := func(path *field.Path, name string, sc *corev1.SecurityContext) {
		if sc != nil && isUnconfined(sc.SeccompProfile) {
			errs = append(errs, unconfinedError(path.Child("securityContext", "seccompProfile", "type"),
				fmt.Sprintf("container %q runs Unconfined", name)))
		}
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		checkContainer(specPath.Child("initContainers").Index(i), c.Name, c.SecurityContext)
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		checkContainer(specPath.Child("containers").Index(i), c.Name, c.SecurityContext)
	}
	for i := range spec.EphemeralContainers {
		c := &spec.EphemeralContainers[i]
		checkContainer(specPath.Child("ephemeralContainers").Index(i), c.Name, c.SecurityContext)
	}
	return errs
}

// CheckEphemeral is the rule for ephemeral containers added to a running pod
// through the pods/ephemeralcontainers subresource: each new one that would
// run Unconfined (its own profile Unconfined, or none under an Unconfined
// pod-level profile) is a finding. Nothing is patched: the subresource's
// update strategy takes only spec.ephemeralContainers from the request
// (pkg/registry/core/pod ephemeralContainersStrategy), and the containers
// that exist keep their profiles.
func CheckEphemeral(old, pod *corev1.Pod) field.ErrorList {
	existing := map[string]bool{}
	for _, c := range old.Spec.EphemeralContainers {
		existing[c.Name] = true
	}
	podUnconfined := pod.Spec.SecurityContext != nil && isUnconfined(pod.Spec.SecurityContext.SeccompProfile)
	var errs field.ErrorList
	for i := range pod.Spec.EphemeralContainers {
		c := &pod.Spec.EphemeralContainers[i]
		if existing[c.Name] {
			continue
		}
		path := specPath.Child("ephemeralContainers").Index(i).Child("securityContext", "seccompProfile", "type")
		switch own := c.SecurityContext; {
		case own != nil && own.SeccompProfile != nil:
			if isUnconfined(own.SeccompProfile) {
				errs = append(errs, unconfinedError(path, fmt.Sprintf("ephemeral container %q runs Unconfined", c.Name)))
			}
		case podUnconfined:
			errs = append(errs, unconfinedError(path, fmt.Sprintf("ephemeral container %q runs Unconfined, as the pod does", c.Name)))
		}
	}
	return errs
}

func unconfinedError(path *field.Path, who string) *field.Error {
	return field.Invalid(path, corev1.SeccompProfileTypeUnconfined, who+"; use RuntimeDefault or a Localhost profile")
}

func isUnconfined(p *corev1.SeccompProfile) bool {
	return p != nil && p.Type == corev1.SeccompProfileTypeUnconfined
}

func isWindows(pod *corev1.Pod) bool {
	return pod.Spec.OS != nil && pod.Spec.OS.Name == corev1.Windows
}

// mirrorFromItsNode reports a mirror pod created by the node it is bound
// to: only then is it the kubelet's copy of a static pod, whose spec the
// kubelet owns. The NodeRestriction admission plugin lets a node create only
// mirror pods bound to itself (plugin/pkg/admission/noderestriction
// admitPodCreate); anyone else can set the annotation, and is judged like
// any pod.
func mirrorFromItsNode(pod *corev1.Pod, username string) bool {
	_, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]
	return mirror && pod.Spec.NodeName != "" && username == nodeUserPrefix+pod.Spec.NodeName
}

// nodeUserPrefix starts the user name of a node's credentials
// (system:node:<nodeName>).
const nodeUserPrefix = "system:node:"

// everyContainerSetsAProfile reports that each init and regular container
// has its own seccomp profile, so none falls back to the pod-level one.
func everyContainerSetsAProfile(spec *corev1.PodSpec) bool {
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range list {
			if sc := list[i].SecurityContext; sc == nil || sc.SeccompProfile == nil {
				return false
			}
		}
	}
	return true
}

// legacyAnnotationMeansRuntimeDefault mirrors the API server's check that
// the legacy annotation matches a RuntimeDefault field.
func legacyAnnotationMeansRuntimeDefault(value string) bool {
	return value == corev1.SeccompProfileRuntimeDefault || value == corev1.DeprecatedSeccompProfileDockerDefault
}
