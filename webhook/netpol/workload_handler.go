package netpol

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/decode"
	"github.com/eksguard/eksguard/internal/lib/jsonscan"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/resource"
)

// workloadKind is what coverage knows of a served workload kind.
type workloadKind struct {
	resource.Kind
	// template is where the kind keeps its pod template: the one place the
	// location is written (decoding, comparing and messages derive from it).
	template templateLocation
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
	{Kind: workloadResource(appsv1.SchemeGroupVersion.WithKind("Deployment"), "deployments"), template: at("spec", "template"), controllerLabels: map[string]string{
		appsv1.DefaultDeploymentUniqueLabelKey: "the Deployment controller sets it to a hash of each ReplicaSet's template " +
			"(pkg/controller/deployment sync.go getNewReplicaSet)",
	}},
	{Kind: workloadResource(appsv1.SchemeGroupVersion.WithKind("StatefulSet"), "statefulsets"), template: at("spec", "template"), controllerLabels: map[string]string{
		appsv1.ControllerRevisionHashLabelKey: revisionHashReason,
		appsv1.StatefulSetPodNameLabel:        perPodReason,
		appsv1.PodIndexLabel:                  perPodReason,
	}},
	{Kind: workloadResource(appsv1.SchemeGroupVersion.WithKind("DaemonSet"), "daemonsets"), template: at("spec", "template"), controllerLabels: map[string]string{
		appsv1.ControllerRevisionHashLabelKey: revisionHashReason,
		daemonSetTemplateGenerationLabel: "the DaemonSet controller sets it to the template's generation at each rollout " +
			"(pkg/controller/daemon/util CreatePodTemplate)",
	}},
	{Kind: workloadResource(appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), "replicasets"), template: at("spec", "template")},
	{Kind: workloadResource(corev1.SchemeGroupVersion.WithKind("ReplicationController"), "replicationcontrollers"), template: at("spec", "template")},
	{Kind: workloadResource(batchv1.SchemeGroupVersion.WithKind("Job"), "jobs"), template: at("spec", "template")},
	{Kind: workloadResource(batchv1.SchemeGroupVersion.WithKind("CronJob"), "cronjobs"), template: at("spec", "jobTemplate", "spec", "template"), controllerLabels: map[string]string{
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
func NewWorkloadHandler(c *Checker) admit.Answerer {
	return &admit.Handler[workload]{
		Spec:   Workloads,
		What:   what,
		Decode: decodeWorkload,
		// The API server encodes both objects alike: equal bytes, equal template.
		Unchanged: func(old, obj *workload) bool { return bytes.Equal(old.rawTemplate(), obj.rawTemplate()) },
		Decider:   c.Decider,
		Judge:     c.judgeWorkload,
	}
}

// templateLocation is where a workload kind keeps its pod template, and
// the decode target that reads its metadata and that template in one pass.
type templateLocation struct {
	path   []string
	field  *field.Path
	fields reflect.Type
}

// at builds the location of path: fields is struct{Meta; spec: {...:
// {template: *podTemplate}}}, nested as path says.
func at(path ...string) templateLocation {
	t := reflect.TypeFor[*podTemplate]()
	for i := len(path) - 1; i > 0; i-- {
		t = reflect.StructOf([]reflect.StructField{{Name: "F", Type: t, Tag: jsonTag(path[i])}})
	}
	top := reflect.StructOf([]reflect.StructField{
		{Name: "Meta", Type: reflect.TypeFor[admit.Meta](), Tag: jsonTag("metadata")},
		{Name: "F", Type: t, Tag: jsonTag(path[0])},
	})
	return templateLocation{path: path, field: field.NewPath(path[0], path[1:]...), fields: top}
}

func jsonTag(key string) reflect.StructTag { return reflect.StructTag(`json:"` + key + `"`) }

// decode reads the metadata and the pod template (nil if absent) of raw.
func (l templateLocation) decode(raw []byte) (admit.Meta, *podTemplate, error) {
	v, err := decode.FieldsOf(l.fields, raw)
	if err != nil {
		return admit.Meta{}, nil, err
	}
	meta := v.Elem().Field(0).Interface().(admit.Meta)
	t := v.Elem().Field(1)
	for range len(l.path) - 1 {
		t = t.Field(0)
	}
	return meta, t.Interface().(*podTemplate), nil
}

// workload is the part of every served kind that coverage needs: its
// metadata, the fields of its pod template coverage reads, and the object
// as sent, in which rawTemplate finds the template only when an UPDATE
// needs to compare it.
type workload struct {
	admit.Meta
	kind     *workloadKind
	template podTemplate
	raw      []byte
}

// podTemplate is what coverage reads of a pod template.
type podTemplate struct {
	admit.Meta `json:"metadata"`
	Spec       struct {
		ServiceAccountName string `json:"serviceAccountName"`
		HostNetwork        bool   `json:"hostNetwork"`
		placement
	} `json:"spec"`
}

// rawTemplate is the workload's pod template as sent; nil if it has none.
// The API server encodes an object the same way each time, so equal bytes
// are an unchanged template.
func (w *workload) rawTemplate() []byte {
	path := w.kind.template.path
	t, ok := jsonscan.Lookup(w.raw, path...)
	if !ok {
		t, ok = lookupDecoded(w.raw, path)
		if !ok {
			return w.raw // compared whole: any change is judged
		}
	}
	if t == nil || string(t) == "null" {
		return nil
	}
	return t
}

// lookupDecoded is jsonscan.Lookup for what jsonscan leaves to a decoder.
func lookupDecoded(raw []byte, path []string) ([]byte, bool) {
	for _, key := range path {
		var members map[string]json.RawMessage
		if sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &members) != nil {
			return nil, false
		}
		if raw = members[key]; raw == nil {
			return nil, true
		}
	}
	return raw, true
}

// decodeWorkload decodes a workload's metadata and pod template,
// case-sensitively as the API server does.
func decodeWorkload(gvk schema.GroupVersionKind, raw []byte) (*workload, error) {
	wk, ok := workloadKindOf(gvk)
	if !ok {
		return nil, fmt.Errorf("%s is not a workload kind", gvk)
	}
	meta, template, err := wk.template.decode(raw)
	if err != nil {
		return nil, err
	}
	w := &workload{Meta: meta, kind: wk, raw: raw}
	if template != nil {
		w.template = *template
	}
	return w, nil
}

func (c *Checker) judgeWorkload(ctx context.Context, r *admit.Review[workload]) decision.Answer {
	obj := r.Object
	d, err := c.decideWorkload(ctx, r.Snapshot, obj)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	template, where := &obj.template, obj.kind.template.field
	return c.answer(ctx, r, r.Snapshot, subject{
		Description:    fmt.Sprintf("%s %s's pod template", r.Kind.Kind, r.ObjectName),
		Namespace:      obj.Namespace,
		Labels:         template.Labels,
		Unknown:        obj.kind.controllerLabels,
		ServiceAccount: template.Spec.ServiceAccountName,
		HostNetwork:    template.Spec.HostNetwork,
		Placement:      &template.Spec.placement,
		LabelsPath:     where.Child("metadata", "labels"),
		SpecPath:       where.Child("spec"),
	}, d)
}

// decideWorkload decides for the workload's own metadata, and lets an
// exemption of its pod template's metadata win: the pods carry the template's
// labels and annotations, so the pod check would exempt them, and denying the
// workload for pods that would be admitted helps nobody. Exemptions written
// for the workload object itself apply as well, as the user asked.
func (c *Checker) decideWorkload(ctx context.Context, snap *decision.Snapshot, obj *workload) (decisions, error) {
	d, err := decide(ctx, snap, &obj.Meta)
	if err != nil {
		return d, err
	}
	pods := obj.template.Meta
	pods.Namespace = obj.Namespace
	podDecisions, err := decide(ctx, snap, &pods)
	if err != nil {
		return decisions{}, err
	}
	for f := range d {
		if d[f].Mode != config.ModeOff && podDecisions[f].Exemption != "" {
			d[f] = podDecisions[f]
		}
	}
	return d, nil
}
