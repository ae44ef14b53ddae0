package netpol

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	sigsjson "sigs.k8s.io/json"

	"github.com/eksguard/eksguard/webhook/decision"
)

// PodPath serves Pod CREATE and UPDATE.
const PodPath = "/validate-v1-pod-networkpolicy"

// PodValidator denies a Pod that no NetworkPolicy of its namespace covers,
// on CREATE and on an UPDATE that changes its labels. Pods that controllers
// create are checked like any other.
type PodValidator struct {
	*Checker
}

var _ admission.Handler = &PodValidator{}

// Handle implements admission.Handler.
func (v *PodValidator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Kind.Group != "" || req.Kind.Kind != "Pod" {
		return decision.BadRequest(fmt.Errorf("%w %s: this webhook serves v1 Pods", decision.ErrUnsupportedKind, req.Kind))
	}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return decision.Respond(ctx, req.Kind.Kind)
	}
	pod, err := decodePod(req.Object.Raw)
	if err != nil {
		return decision.BadRequest(fmt.Errorf("decoding the Pod: %w", err))
	}
	if req.Operation == admissionv1.Update {
		old, err := decodePod(req.OldObject.Raw)
		if err != nil {
			return decision.BadRequest(fmt.Errorf("decoding the old Pod: %w", err))
		}
		// Coverage depends only on labels (hostNetwork and the service
		// account are immutable); other updates cannot change it.
		if labels.Equals(old.Labels, pod.Labels) {
			return decision.Respond(ctx, req.Kind.Kind)
		}
	}
	pod.Namespace = req.Namespace
	name := pod.Name
	if name == "" {
		name = pod.GenerateName
	}

	pol := v.Policies.Source.Current()
	d, err := v.decide(ctx, pol, &pod.ObjectMeta)
	if err != nil {
		return undecided(ctx, pol, req.Kind.Kind, err)
	}
	return v.review(ctx, pol, subject{
		Kind:            req.Kind.Kind,
		Description:     "Pod " + name,
		Namespace:       req.Namespace,
		Labels:          pod.Labels,
		ServiceAccount:  pod.Spec.ServiceAccountName,
		HostNetwork:     pod.Spec.HostNetwork,
		LabelsPath:      field.NewPath("metadata", "labels"),
		HostNetworkPath: field.NewPath("spec", "hostNetwork"),
	}, d)
}

// podFields is the part of a Pod that coverage reads: skipping the rest of
// the spec keeps large pods cheap.
type podFields struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		HostNetwork        bool   `json:"hostNetwork"`
		ServiceAccountName string `json:"serviceAccountName"`
	} `json:"spec"`
}

// decodePod decodes as the API server does: field names are case-sensitive.
func decodePod(raw []byte) (*podFields, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("the request has no object")
	}
	var pod podFields
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &pod); err != nil {
		return nil, err
	}
	return &pod, nil
}
