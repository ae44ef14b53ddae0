package seccomp

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/eksguard/eksguard/internal/lib/decode"
	"github.com/eksguard/eksguard/webhook/admit"
)

// podFields is the part of a Pod the seccomp rule reads: decoding it
// instead of the whole Pod keeps a large pod's admission cheap. Pointers
// keep the difference between an absent (or null) securityContext and an
// empty one, which decides the patch's path.
type podFields struct {
	admit.Meta `json:"metadata"`
	Spec       struct {
		NodeName            string            `json:"nodeName"`
		OS                  *corev1.PodOS     `json:"os"`
		SecurityContext     *securityContext  `json:"securityContext"`
		InitContainers      []containerFields `json:"initContainers"`
		Containers          []containerFields `json:"containers"`
		EphemeralContainers []containerFields `json:"ephemeralContainers"`
	} `json:"spec"`
}

type containerFields struct {
	Name            string           `json:"name"`
	SecurityContext *securityContext `json:"securityContext"`
}

type securityContext struct {
	SeccompProfile *corev1.SeccompProfile `json:"seccompProfile"`
}

// decodePod reads the fields of podFields, case-sensitively as the API
// server does, into a Pod that holds only them.
func decodePod(_ schema.GroupVersionKind, raw []byte) (*corev1.Pod, error) {
	f, err := decode.Fields[podFields](raw)
	if err != nil {
		return nil, err
	}
	pod := &corev1.Pod{ObjectMeta: f.ObjectMeta()}
	pod.Spec.NodeName, pod.Spec.OS = f.Spec.NodeName, f.Spec.OS
	if sc := f.Spec.SecurityContext; sc != nil {
		pod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: sc.SeccompProfile}
	}
	pod.Spec.InitContainers = containers(f.Spec.InitContainers)
	pod.Spec.Containers = containers(f.Spec.Containers)
	for _, c := range f.Spec.EphemeralContainers {
		ec := corev1.EphemeralContainer{}
		ec.Name, ec.SecurityContext = c.Name, c.SecurityContext.api()
		pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, ec)
	}
	return pod, nil
}

func containers(in []containerFields) []corev1.Container {
	if in == nil {
		return nil
	}
	out := make([]corev1.Container, len(in))
	for i, c := range in {
		out[i] = corev1.Container{Name: c.Name, SecurityContext: c.SecurityContext.api()}
	}
	return out
}

func (sc *securityContext) api() *corev1.SecurityContext {
	if sc == nil {
		return nil
	}
	return &corev1.SecurityContext{SeccompProfile: sc.SeccompProfile}
}
