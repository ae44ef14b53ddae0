package netpol

import (
	"context"
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/decision"
)

// WorkloadPath serves the workload kinds in templatePaths, CREATE and UPDATE.
const WorkloadPath = "/validate-workload-networkpolicy"

// templatePaths is where each served workload kind keeps its pod template.
var templatePaths = map[schema.GroupVersionKind]*field.Path{
	{Group: "apps", Version: "v1", Kind: "Deployment"}:  field.NewPath("spec", "template"),
	{Group: "apps", Version: "v1", Kind: "StatefulSet"}: field.NewPath("spec", "template"),
	{Group: "apps", Version: "v1", Kind: "DaemonSet"}:   field.NewPath("spec", "template"),
	{Group: "apps", Version: "v1", Kind: "ReplicaSet"}:  field.NewPath("spec", "template"),
	{Version: "v1", Kind: "ReplicationController"}:      field.NewPath("spec", "template"),
	{Group: "batch", Version: "v1", Kind: "Job"}:        field.NewPath("spec", "template"),
	{Group: "batch", Version: "v1", Kind: "CronJob"}:    field.NewPath("spec", "jobTemplate", "spec", "template"),
}

// WorkloadValidator denies a workload whose pod template no NetworkPolicy of
// its namespace covers, so the error shows at apply time instead of as a
// controller event about pods that cannot be created.
//
// On UPDATE it checks only a changed pod template: the template is what new
// pods get, and leaving unrelated updates alone lets controllers keep scaling
// and finalizing workloads created before the namespace lost its policies.
type WorkloadValidator struct {
	*Checker
}

var _ admission.Handler = &WorkloadValidator{}

// workload is the part of every served kind that coverage needs.
type workload struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Template    *corev1.PodTemplateSpec `json:"template"`
		JobTemplate *struct {
			Spec struct {
				Template *corev1.PodTemplateSpec `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
}

// podTemplate returns the workload's pod template; an empty one if it has none.
func (w *workload) podTemplate() *corev1.PodTemplateSpec {
	switch {
	case w.Spec.Template != nil:
		return w.Spec.Template
	case w.Spec.JobTemplate != nil && w.Spec.JobTemplate.Spec.Template != nil:
		return w.Spec.JobTemplate.Spec.Template
	default:
		return &corev1.PodTemplateSpec{}
	}
}

// Handle implements admission.Handler.
func (v *WorkloadValidator) Handle(ctx context.Context, req admission.Request) admission.Response {
	gvk := schema.GroupVersionKind(req.Kind)
	templatePath, ok := templatePaths[gvk]
	if !ok {
		return decision.BadRequest(fmt.Errorf("%w %s: this webhook serves Deployments, StatefulSets, DaemonSets, "+
			"ReplicaSets, ReplicationControllers, Jobs and CronJobs", decision.ErrUnsupportedKind, gvk))
	}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return decision.Respond(ctx, gvk.Kind)
	}
	obj, err := decodeWorkload(req.Object.Raw)
	if err != nil {
		return decision.BadRequest(fmt.Errorf("decoding the %s: %w", gvk.Kind, err))
	}
	template := obj.podTemplate()
	if req.Operation == admissionv1.Update {
		old, err := decodeWorkload(req.OldObject.Raw)
		if err != nil {
			return decision.BadRequest(fmt.Errorf("decoding the old %s: %w", gvk.Kind, err))
		}
		if equality.Semantic.DeepEqual(old.podTemplate(), template) {
			return decision.Respond(ctx, gvk.Kind)
		}
	}
	obj.Namespace = req.Namespace
	pol := v.Policies.Source.Current()
	d, err := v.decideWorkload(ctx, pol, obj, template)
	if err != nil {
		return undecided(ctx, pol, gvk.Kind, err)
	}
	name := obj.Name
	if name == "" {
		name = obj.GenerateName
	}
	return v.review(ctx, subject{
		Kind:        gvk.Kind,
		Description: fmt.Sprintf("%s %s's pod template", gvk.Kind, name),
		Namespace:   req.Namespace,
		Labels:      template.Labels,
		LabelsPath:  templatePath.Child("metadata", "labels"),
	}, d, pol.Config.Rules.NetworkPolicy.Coverage)
}

// decideWorkload decides for the workload's own metadata, and lets an
// exemption of its pod template's metadata win: the pods carry the template's
// labels and annotations, so the pod check would exempt them, and denying the
// workload for pods that would be admitted helps nobody. Exemptions written
// for the workload object itself apply as well, as the user asked.
func (v *WorkloadValidator) decideWorkload(ctx context.Context, pol *config.Policy, obj *workload, template *corev1.PodTemplateSpec) (config.Decision, error) {
	d, err := v.decide(ctx, pol, obj)
	if err != nil || d.Mode == config.ModeOff {
		return d, err
	}
	pods := template.ObjectMeta
	pods.Namespace = obj.Namespace
	podDecision, err := v.decide(ctx, pol, &pods)
	if err != nil {
		return config.Decision{}, err
	}
	if podDecision.Exemption != "" {
		return podDecision, nil
	}
	return d, nil
}

func decodeWorkload(raw []byte) (*workload, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("the request has no object")
	}
	var obj workload
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	return &obj, nil
}
