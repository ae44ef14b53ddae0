package netpol

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

// workloadOf builds each served kind with the given object metadata and pod template.
func workloadOf(kind string, meta metav1.ObjectMeta, template corev1.PodTemplateSpec) (runtime.Object, metav1.GroupVersionKind) {
	meta.Namespace = "shop"
	switch kind {
	case "Deployment":
		return &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: kind}, ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Template: template}}, metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: kind}
	case "StatefulSet":
		return &appsv1.StatefulSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: kind}, ObjectMeta: meta,
			Spec: appsv1.StatefulSetSpec{Template: template}}, metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: kind}
	case "DaemonSet":
		return &appsv1.DaemonSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: kind}, ObjectMeta: meta,
			Spec: appsv1.DaemonSetSpec{Template: template}}, metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: kind}
	case "ReplicaSet":
		return &appsv1.ReplicaSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: kind}, ObjectMeta: meta,
			Spec: appsv1.ReplicaSetSpec{Template: template}}, metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: kind}
	case "ReplicationController":
		return &corev1.ReplicationController{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: kind}, ObjectMeta: meta,
			Spec: corev1.ReplicationControllerSpec{Template: &template}}, metav1.GroupVersionKind{Version: "v1", Kind: kind}
	case "Job":
		return &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: kind}, ObjectMeta: meta,
			Spec: batchv1.JobSpec{Template: template}}, metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: kind}
	case "CronJob":
		return &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: kind}, ObjectMeta: meta,
				Spec: batchv1.CronJobSpec{Schedule: "@daily", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: template}}}},
			metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: kind}
	}
	panic("unknown kind " + kind)
}

func template(labels, annotations map[string]string, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
}

func TestWorkloadHandlerKinds(t *testing.T) {
	web := map[string]string{"app": "web"}
	webPolicy := netpolObject("shop", "web", metav1.LabelSelector{MatchLabels: web}, networkingv1.PolicyTypeIngress)
	tests := []struct {
		kind     string
		wantPath string
	}{
		{kind: "Deployment", wantPath: "spec.template.metadata.labels"},
		{kind: "StatefulSet", wantPath: "spec.template.metadata.labels"},
		{kind: "DaemonSet", wantPath: "spec.template.metadata.labels"},
		{kind: "ReplicaSet", wantPath: "spec.template.metadata.labels"},
		{kind: "ReplicationController", wantPath: "spec.template.metadata.labels"},
		{kind: "Job", wantPath: "spec.template.metadata.labels"},
		{kind: "CronJob", wantPath: "spec.jobTemplate.spec.template.metadata.labels"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			// The workload's own labels never decide coverage: only the template's.
			meta := metav1.ObjectMeta{Name: "web", Labels: web}
			covered, gvk := workloadOf(tt.kind, meta, template(web, nil, "nginx"))
			uncovered, _ := workloadOf(tt.kind, meta, template(map[string]string{"app": "api"}, nil, "nginx"))
			live := &liveReader{policies: []networkingv1.NetworkPolicy{*webPolicy}}
			v := NewWorkloadHandler(newTestChecker(ruletest.CompilePolicy(t, nil), []*networkingv1.NetworkPolicy{webPolicy}, live))

			ruletest.CheckAnswer(t, v.Handle(context.Background(),
				admissionRequest(admissionv1.Create, gvk, "shop", "web", mustJSON(t, covered), nil)), ruletest.Allowed())
			ruletest.CheckAnswer(t, v.Handle(context.Background(),
				admissionRequest(admissionv1.Create, gvk, "shop", "web", mustJSON(t, uncovered), nil)),
				ruletest.Denied("eksguard denied this "+tt.kind+": [networkPolicy] "+tt.wantPath+": The only NetworkPolicy in namespace shop does not select "+
					tt.kind+" web's pod template (labels app=api); add one that selects it, e.g. a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]"))
		})
	}
}

func TestWorkloadHandler(t *testing.T) {
	web := map[string]string{"app": "web"}
	const deploymentDenial = "eksguard denied this Deployment: [networkPolicy] spec.template.metadata.labels: Namespace shop has no NetworkPolicy to select " +
		"Deployment web's pod template (labels app=web); add one that selects it, e.g. a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]"
	deployment := func(t *testing.T, meta metav1.ObjectMeta, tmpl corev1.PodTemplateSpec) []byte {
		obj, _ := workloadOf("Deployment", meta, tmpl)
		return mustJSON(t, obj)
	}
	deploymentKind := metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	legacyExemption := func(c *config.Config) {
		c.Exemptions = []config.Exemption{{
			Name: "legacy", Rules: []config.RuleName{config.RuleNetworkPolicy}, Namespaces: []string{"shop"},
			ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"legacy": "true"}}, Reason: "migration",
		}}
	}

	tests := []struct {
		name string
		edit func(*config.Config)
		req  func(t *testing.T) admission.Request
		want ruletest.Answer
	}{
		{
			name: "create without any policy",
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, deploymentKind, "shop", "web",
					deployment(t, metav1.ObjectMeta{Name: "web"}, template(web, nil, "nginx")), nil)
			},
			want: ruletest.Denied(deploymentDenial),
		},
		{
			name: "warn mode",
			edit: func(c *config.Config) { c.Rules.NetworkPolicy.Mode = config.ModeWarn },
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, deploymentKind, "shop", "web",
					deployment(t, metav1.ObjectMeta{Name: "web"}, template(web, nil, "nginx")), nil)
			},
			want: ruletest.Warned("eksguard [networkPolicy] No NetworkPolicy selects Deployment web's pod template; add a default-deny (podSelector: {})"),
		},
		{
			name: "update that changes only replicas and workload labels is not checked",
			req: func(t *testing.T) admission.Request {
				newObj, _ := workloadOf("Deployment", metav1.ObjectMeta{Name: "web", Labels: map[string]string{"team": "a"}}, template(web, nil, "nginx"))
				newObj.(*appsv1.Deployment).Spec.Replicas = ptr.To[int32](5)
				return admissionRequest(admissionv1.Update, deploymentKind, "shop", "web", mustJSON(t, newObj),
					deployment(t, metav1.ObjectMeta{Name: "web"}, template(web, nil, "nginx")))
			},
			want: ruletest.Allowed(),
		},
		{
			name: "update that changes the template is checked",
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Update, deploymentKind, "shop", "web",
					deployment(t, metav1.ObjectMeta{Name: "web"}, template(web, nil, "nginx:2")),
					deployment(t, metav1.ObjectMeta{Name: "web"}, template(web, nil, "nginx")))
			},
			want: ruletest.Denied(deploymentDenial),
		},
		{
			name: "exempted through the workload's own labels",
			edit: legacyExemption,
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, deploymentKind, "shop", "web",
					deployment(t, metav1.ObjectMeta{Name: "web", Labels: map[string]string{"legacy": "true"}}, template(web, nil, "nginx")), nil)
			},
			want: ruletest.Allowed(),
		},
		{
			name: "exempted through the pod template's labels, as its pods would be",
			edit: legacyExemption,
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, deploymentKind, "shop", "web",
					deployment(t, metav1.ObjectMeta{Name: "web"}, template(map[string]string{"app": "web", "legacy": "true"}, nil, "nginx")), nil)
			},
			want: ruletest.Allowed(),
		},
		{
			name: "exempted through the pod template's annotation in an allowed namespace",
			edit: func(c *config.Config) { c.AnnotationExemptions.Namespaces = []string{"shop"} },
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, deploymentKind, "shop", "web",
					deployment(t, metav1.ObjectMeta{Name: "web"}, template(web, map[string]string{config.ExemptAnnotation: "seccomp, networkPolicy"}, "nginx")), nil)
			},
			want: ruletest.Allowed(),
		},
		{
			name: "template annotation outside the allowed namespaces does not exempt",
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, deploymentKind, "shop", "web",
					deployment(t, metav1.ObjectMeta{Name: "web"}, template(web, map[string]string{config.ExemptAnnotation: "networkPolicy"}, "nginx")), nil)
			},
			want: ruletest.Denied(deploymentDenial),
		},
		{
			name: "delete is not checked",
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Delete, deploymentKind, "shop", "web", nil,
					deployment(t, metav1.ObjectMeta{Name: "web"}, template(web, nil, "nginx")))
			},
			want: ruletest.Allowed(),
		},
		{
			name: "malformed object",
			req: func(*testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, deploymentKind, "shop", "web", []byte(`{"spec": {"template": 3}}`), nil)
			},
			want: ruletest.Errored(400, "decoding the Deployment: json: cannot unmarshal number into Go struct field .spec.template of type netpol.podTemplate"),
		},
		{
			name: "malformed old object",
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Update, deploymentKind, "shop", "web",
					deployment(t, metav1.ObjectMeta{Name: "web"}, template(web, nil, "nginx")), nil)
			},
			want: ruletest.Errored(400, "decoding the old Deployment: the request has no object"),
		},
		{
			name: "unknown kind",
			req: func(*testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ControllerRevision"}, "shop", "web", []byte(`{}`), nil)
			},
			want: ruletest.Errored(400, "unsupported kind apps/v1, Kind=ControllerRevision: this webhook serves "+workloadsServed),
		},
		{
			name: "an older API version of a served kind is not served",
			req: func(*testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, metav1.GroupVersionKind{Group: "batch", Version: "v1beta1", Kind: "CronJob"}, "shop", "web", []byte(`{}`), nil)
			},
			want: ruletest.Errored(400, "unsupported kind batch/v1beta1, Kind=CronJob: this webhook serves "+workloadsServed),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewWorkloadHandler(newTestChecker(ruletest.CompilePolicy(t, tt.edit), nil, &liveReader{}))
			ruletest.CheckAnswer(t, v.Handle(context.Background(), tt.req(t)), tt.want)
		})
	}
}

// rawTemplate, which jsonscan finds in the object, is what a decoder finds
// there; what jsonscan leaves to the decoder (escaped keys, a key twice)
// gets the decoder's answer.
func TestRawTemplate(t *testing.T) {
	for _, doc := range []string{
		`{"metadata":{"name":"web"},"spec":{"replicas":3,"template":{"metadata":{"labels":{"app":"web"}}}}}`,
		`{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"hostNetwork":true}}}}}}`,
		`{"spec":{"template":null,"jobTemplate":{"spec":{"template":{}}}}}`,
		`{"spec":{"template":null}}`,
		`{"spec":{}}`,
		`{"spec":null}`,
		`{"spec":{"t\u0065mplate":{"a":1}}}`,
		`{"spec":{"template":{"a":1}},"spec":{"template":{"a":2}}}`,
		`{"spec":{"template":{"a":1},"template":{"a":2}}}`,
	} {
		for _, kind := range []string{"Deployment", "CronJob"} {
			wk, _ := workloadKindOf(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: kind})
			if kind == "CronJob" {
				wk, _ = workloadKindOf(schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: kind})
			}
			w := &workload{kind: wk, raw: []byte(doc)}
			want, _ := lookupDecoded([]byte(doc), wk.template.path)
			if string(want) == "null" {
				want = nil
			}
			if got := w.rawTemplate(); string(got) != string(want) {
				t.Errorf("%s rawTemplate(%s) = %s, the decoder finds %s", kind, doc, got, want)
			}
		}
	}
}

// workloadsServed names the served workload kinds in a bad-request answer.
const workloadsServed = "apps/v1 deployments, apps/v1 statefulsets, apps/v1 daemonsets, apps/v1 replicasets, " +
	"v1 replicationcontrollers, batch/v1 jobs, batch/v1 cronjobs"
