package netpol

import (
	"context"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/internal/lib/decode"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
)

// NewPodHandler denies a Pod that no policy of its namespace covers, on
// CREATE and on an UPDATE that changes its labels (hostNetwork and the
// service account are immutable; nothing else changes coverage). Pods that
// controllers create are checked like any other.
func NewPodHandler(c *Checker) admit.Answerer {
	return &admit.Handler[podFields]{
		Spec: Pods,
		What: what,
		Decode: func(_ schema.GroupVersionKind, raw []byte) (*podFields, error) {
			return decode.Fields[podFields](raw)
		},
		Unchanged: func(old, pod *podFields) bool { return labels.Equals(old.Labels, pod.Labels) },
		Decider:   c.Decider,
		Judge:     c.judgePod,
	}
}

var (
	podLabelsPath = field.NewPath("metadata", "labels")
	podSpecPath   = field.NewPath("spec")
	podOwnersPath = field.NewPath("metadata", "ownerReferences")
)

func (c *Checker) judgePod(ctx context.Context, r *admit.Review[podFields]) decision.Answer {
	pod := r.Object
	d, err := decide(ctx, r.Snapshot, &pod.Meta)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	return c.answer(ctx, r, r.Snapshot, subject{
		Description:    "Pod " + r.ObjectName,
		Namespace:      pod.Namespace,
		Labels:         pod.Labels,
		ServiceAccount: pod.Spec.ServiceAccountName,
		HostNetwork:    pod.Spec.HostNetwork,
		Placement:      &pod.Spec.placement,
		Standalone:     len(pod.OwnerReferences) == 0,
		LabelsPath:     podLabelsPath,
		SpecPath:       podSpecPath,
		OwnersPath:     podOwnersPath,
	}, d)
}

// podFields is the part of a Pod that coverage reads: skipping the rest of
// the object keeps large pods cheap.
type podFields struct {
	PodMetadata `json:"metadata"`
	Spec        struct {
		HostNetwork        bool   `json:"hostNetwork"`
		ServiceAccountName string `json:"serviceAccountName"`
		placement
	} `json:"spec"`
}

// PodMetadata is a pod's metadata with whether a controller owns it
// (exported: the JSON decoder skips an embedded field of unexported type
// that has a tag).
type PodMetadata struct {
	admit.Meta
	// OwnerReferences are only counted: no member is decoded.
	OwnerReferences []struct{} `json:"ownerReferences"`
}
