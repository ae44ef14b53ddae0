package netpol

import (
	"context"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/webhook/decision"
)

// PodPath serves Pod CREATE and UPDATE.
const PodPath = "/validate-v1-pod-networkpolicy"

// NewPodHandler denies a Pod that no policy of its namespace covers, on
// CREATE and on an UPDATE that changes its labels (hostNetwork and the
// service account are immutable; nothing else changes coverage). Pods that
// controllers create are checked like any other.
func NewPodHandler(c *Checker) admission.Handler {
	return &decision.Handler[podFields]{
		Serves:     "v1 Pods",
		Kinds:      []schema.GroupVersionKind{corev1.SchemeGroupVersion.WithKind("Pod")},
		Operations: []admissionv1.Operation{admissionv1.Create, admissionv1.Update},
		Decode: func(_ schema.GroupVersionKind, raw []byte) (*podFields, error) {
			return decision.DecodeFields[podFields](raw)
		},
		Unchanged: func(old, pod *podFields) bool { return labels.Equals(old.Labels, pod.Labels) },
		Decider:   c.Decider,
		Judge:     c.judgePod,
	}
}

func (c *Checker) judgePod(ctx context.Context, r decision.Review[podFields]) admission.Response {
	pod := r.Object
	pod.Namespace = r.Namespace
	name := pod.Name
	if name == "" {
		name = pod.GenerateName
	}
	d, err := c.decide(ctx, r.Policy, &pod.Meta)
	if err != nil {
		return undecided(ctx, r.Policy, r.Kind.Kind, err)
	}
	return c.review(ctx, r.Policy, subject{
		Kind:            r.Kind.Kind,
		Description:     "Pod " + name,
		Namespace:       r.Namespace,
		Labels:          pod.Labels,
		ServiceAccount:  pod.Spec.ServiceAccountName,
		HostNetwork:     pod.Spec.HostNetwork,
		LabelsPath:      field.NewPath("metadata", "labels"),
		HostNetworkPath: field.NewPath("spec", "hostNetwork"),
	}, d)
}

// podFields is the part of a Pod that coverage reads: skipping the rest of
// the object keeps large pods cheap.
type podFields struct {
	decision.Meta `json:"metadata"`
	Spec          struct {
		HostNetwork        bool   `json:"hostNetwork"`
		ServiceAccountName string `json:"serviceAccountName"`
	} `json:"spec"`
}
