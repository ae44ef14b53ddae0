package netpol

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	sigsjson "sigs.k8s.io/json"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/jsonscan"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/resource"
)

// WorkloadPath serves the workload kinds in workloadKinds, CREATE and UPDATE.
const WorkloadPath = "/validate-workload-networkpolicy"

// workloadKind is what coverage knows of a served workload kind.
type workloadKind struct {
	resource.Kind
	// templatePath is where the kind keeps its pod template.
	templatePath *field.Path
	// controllerLabels are the labels the kind's controller adds to every
	// pod, with values nobody knows before the pod exists, and why.
	controllerLabels map[string]string
}

// Labels that controllers add to the pods of a template, whose constants
// k8s.io/api does not export (k8s.io/kubernetes pkg/apis/batch and
// extensions/v1beta1 DaemonSetTemplateGenerationKey).
const (
	LegacyJobNameLabel               = "job-name"
	LegacyControllerUIDLabel         = "controller-uid"
	daemonSetTemplateGenerationLabel = "pod-template-generation"

	revisionHashReason = "the controller sets it to the hash of each revision of the template " +
		"(pkg/controller/history ControllerRevision, Kubernetes)"
	perPodReason      = "it differs from pod to pod (pkg/controller/statefulset stateful_set_utils.go)"
	cronJobNameReason = "the CronJob controller names each Job after its scheduled time (pkg/controller/cronjob utils.go getJobName)"
	cronJobUIDReason  = "it is the UID of a Job the CronJob controller has not created yet"
)

// workloadKinds are the served workload kinds. Jobs get no controller
// labels here: the API server itself adds job-name and controller-uid to
// the template before validating webhooks see it (generateSelector in
// pkg/registry/batch/job/strategy.go), so they are in the object.
var workloadKinds = []workloadKind{
	{Kind: workloadResource(appsv1.SchemeGroupVersion.WithKind("Deployment"), "deployments"), templatePath: field.NewPath("spec", "template"), controllerLabels: map[string]string{
		appsv1.DefaultDeploymentUniqueLabelKey: "the Deployment controller sets it to a hash of each ReplicaSet's template " +
			"(pkg/controller/deployment sync.go getNewReplicaSet)",
	}},
	{Kind: workloadResource(appsv1.SchemeGroupVersion.WithKind("StatefulSet"), "statefulsets"), templatePath: field.NewPath("spec", "template"), controllerLabels: map[string]string{
		appsv1.ControllerRevisionHashLabelKey: revisionHashReason,
		appsv1.StatefulSetPodNameLabel:        perPodReason,
		appsv1.PodIndexLabel:                  perPodReason,
	}},
	{Kind: workloadResource(appsv1.SchemeGroupVersion.WithKind("DaemonSet"), "daemonsets"), templatePath: field.NewPath("spec", "template"), controllerLabels: map[string]string{
		appsv1.ControllerRevisionHashLabelKey: revisionHashReason,
		daemonSetTemplateGenerationLabel: "the DaemonSet controller sets it to the template's generation at each rollout " +
			"(pkg/controller/daemon/util CreatePodTemplate)",
	}},
	{Kind: workloadResource(appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), "replicasets"), templatePath: field.NewPath("spec", "template")},
	{Kind: workloadResource(corev1.SchemeGroupVersion.WithKind("ReplicationController"), "replicationcontrollers"), templatePath: field.NewPath("spec", "template")},
	{Kind: workloadResource(batchv1.SchemeGroupVersion.WithKind("Job"), "jobs"), templatePath: field.NewPath("spec", "template")},
	{Kind: workloadResource(batchv1.SchemeGroupVersion.WithKind("CronJob"), "cronjobs"), templatePath: field.NewPath("spec", "jobTemplate", "spec", "template"), controllerLabels: map[string]string{
		LegacyJobNameLabel:         cronJobNameReason,
		batchv1.JobNameLabel:       cronJobNameReason,
		LegacyControllerUIDLabel:   cronJobUIDReason,
		batchv1.ControllerUidLabel: cronJobUIDReason,
	}},
}

func workloadResource(gvk schema.GroupVersionKind, resourceName string) resource.Kind {
	return resource.Kind{GVK: gvk, Resource: resourceName, Namespaced: true}
}

// WorkloadKinds are the kinds whose pod templates the coverage rule judges.
func WorkloadKinds() []resource.Kind {
	out := make([]resource.Kind, len(workloadKinds))
	for i := range workloadKinds {
		out[i] = workloadKinds[i].Kind
	}
	return out
}

// workloadKindOf is the served workload kind of gvk.
func workloadKindOf(gvk schema.GroupVersionKind) (*workloadKind, bool) {
	for i := range workloadKinds {
		if workloadKinds[i].GVK == gvk {
			return &workloadKinds[i], true
		}
	}
	return nil, false
}

// NewWorkloadHandler denies a workload whose pod template no policy of its
// namespace covers, so the error shows at apply time instead of as a
// controller event about pods that cannot be created.
//
// On UPDATE it checks only a changed pod template: the template is what new
// pods get, and leaving unrelated updates alone lets controllers keep scaling
// and finalizing workloads created before the namespace lost its policies.
func NewWorkloadHandler(c *Checker) admission.Handler {
	var kinds []schema.GroupVersionKind
	var names []string
	for _, k := range WorkloadKinds() {
		kinds = append(kinds, k.GVK)
		names = append(names, k.GVK.Kind+"s")
	}
	return &decision.Handler[workload]{
		Serves:     strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1],
		Kinds:      kinds,
		Operations: []admissionv1.Operation{admissionv1.Create, admissionv1.Update},
		Decode:     decodeWorkload,
		// The API server encodes both objects alike: equal bytes, equal template.
		Unchanged: func(old, obj *workload) bool { return bytes.Equal(old.rawTemplate(), obj.rawTemplate()) },
		Decider:   c.Decider,
		Judge:     c.judgeWorkload,
	}
}

// workload is the part of every served kind that coverage needs: its
// metadata, the fields of its pod template coverage reads, and the object
// as sent, in which rawTemplate finds the template only when an UPDATE
// needs to compare it.
type workload struct {
	decision.Meta
	template podTemplate
	raw      []byte
}

// workloadFields is what decodeWorkload reads of every served kind: the
// pod template is spec.template, or spec.jobTemplate.spec.template (CronJob).
type workloadFields struct {
	decision.Meta `json:"metadata"`
	Spec          struct {
		Template    *podTemplate `json:"template"`
		JobTemplate *struct {
			Spec struct {
				Template *podTemplate `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
}

// podTemplate is what coverage reads of a pod template.
type podTemplate struct {
	decision.Meta `json:"metadata"`
	Spec          struct {
		ServiceAccountName string `json:"serviceAccountName"`
		HostNetwork        bool   `json:"hostNetwork"`
	} `json:"spec"`
}

// templatePaths are where the served kinds keep their pod template.
var templatePaths = [][]string{{"spec", "template"}, {"spec", "jobTemplate", "spec", "template"}}

// rawTemplate is the workload's pod template as sent; nil if it has none.
// The API server encodes an object the same way each time, so equal bytes
// are an unchanged template.
func (w *workload) rawTemplate() []byte {
	for _, path := range templatePaths {
		t, ok := jsonscan.Lookup(w.raw, path...)
		if !ok {
			return rawTemplateDecoded(w.raw)
		}
		if t != nil && string(t) != "null" {
			return t
		}
	}
	return nil
}

// rawTemplateDecoded is rawTemplate for what jsonscan leaves to a decoder.
func rawTemplateDecoded(raw []byte) []byte {
	var f struct {
		Spec struct {
			Template    json.RawMessage `json:"template"`
			JobTemplate *struct {
				Spec struct {
					Template json.RawMessage `json:"template"`
				} `json:"spec"`
			} `json:"jobTemplate"`
		} `json:"spec"`
	}
	if sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &f) != nil {
		return raw // compared whole: any change is judged
	}
	if t := f.Spec.Template; len(t) > 0 && string(t) != "null" {
		return t
	}
	if jt := f.Spec.JobTemplate; jt != nil && len(jt.Spec.Template) > 0 && string(jt.Spec.Template) != "null" {
		return jt.Spec.Template
	}
	return nil
}

// decodeWorkload decodes a workload's workloadFields, case-sensitively as
// the API server does.
func decodeWorkload(_ schema.GroupVersionKind, raw []byte) (*workload, error) {
	f, err := decision.DecodeFields[workloadFields](raw)
	if err != nil {
		return nil, err
	}
	w := &workload{Meta: f.Meta, raw: raw}
	switch {
	case f.Spec.Template != nil:
		w.template = *f.Spec.Template
	case f.Spec.JobTemplate != nil && f.Spec.JobTemplate.Spec.Template != nil:
		w.template = *f.Spec.JobTemplate.Spec.Template
	}
	return w, nil
}

func (c *Checker) judgeWorkload(ctx context.Context, r decision.Review[workload]) admission.Response {
	gvk := schema.GroupVersionKind(r.Kind)
	wk, _ := workloadKindOf(gvk)
	obj := r.Object
	template := &obj.template
	obj.Namespace = r.Namespace
	d, err := c.decideWorkload(ctx, r.Policy, obj, template)
	if err != nil {
		return undecided(ctx, r.Policy, gvk.Kind, err)
	}
	name := obj.Name
	if name == "" {
		name = obj.GenerateName
	}
	return c.review(ctx, r.Policy, subject{
		Kind:            gvk.Kind,
		Description:     fmt.Sprintf("%s %s's pod template", gvk.Kind, name),
		Namespace:       r.Namespace,
		Labels:          template.Labels,
		Unknown:         wk.controllerLabels,
		ServiceAccount:  template.Spec.ServiceAccountName,
		HostNetwork:     template.Spec.HostNetwork,
		LabelsPath:      wk.templatePath.Child("metadata", "labels"),
		HostNetworkPath: wk.templatePath.Child("spec", "hostNetwork"),
	}, d)
}

// decideWorkload decides for the workload's own metadata, and lets an
// exemption of its pod template's metadata win: the pods carry the template's
// labels and annotations, so the pod check would exempt them, and denying the
// workload for pods that would be admitted helps nobody. Exemptions written
// for the workload object itself apply as well, as the user asked.
func (c *Checker) decideWorkload(ctx context.Context, pol *config.Policy, obj *workload, template *podTemplate) (decisions, error) {
	d, err := c.decide(ctx, pol, &obj.Meta)
	if err != nil {
		return d, err
	}
	pods := template.Meta
	pods.Namespace = obj.Namespace
	podDecisions, err := c.decide(ctx, pol, &pods)
	if err != nil {
		return decisions{}, err
	}
	if d.coverage.Mode != config.ModeOff && podDecisions.coverage.Exemption != "" {
		d.coverage = podDecisions.coverage
	}
	if d.hostNetwork.Mode != config.ModeOff && podDecisions.hostNetwork.Exemption != "" {
		d.hostNetwork = podDecisions.hostNetwork
	}
	return d, nil
}
