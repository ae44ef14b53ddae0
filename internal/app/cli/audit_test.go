package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/eksguard/eksguard/internal/app/manifest"
	"github.com/eksguard/eksguard/internal/app/report"
)

// pagedReader is a cluster for audit: it gets the typed objects it holds
// by name (getErrors answers for a key instead), serves them a page at a
// time (Limit and Continue as the API server reads them), filters by
// namespace and by the pods' status.phase field selector, and answers
// NoKindMatch for a kind it holds none of that the scheme does not know (a
// CRD the cluster does not serve).
type pagedReader struct {
	scheme  *runtime.Scheme
	objects []client.Object
	// lists records each list: kind, namespace, field selector.
	lists []string
	// getErrors are the errors Get returns, by key.
	getErrors map[client.ObjectKey]error
}

func (r *pagedReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	if err := r.getErrors[key]; err != nil {
		return err
	}
	gvk, err := apiutil.GVKForObject(obj, r.scheme)
	if err != nil {
		return err
	}
	for _, o := range r.objects {
		if objGVK, _ := apiutil.GVKForObject(o, r.scheme); objGVK == gvk && client.ObjectKeyFromObject(o) == key {
			reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(o.DeepCopyObject()).Elem())
			return nil
		}
	}
	return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
}

func (r *pagedReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	o := (&client.ListOptions{}).ApplyOptions(opts)
	gvk := list.GetObjectKind().GroupVersionKind()
	if gvk.Empty() {
		var err error
		if gvk, err = apiutil.GVKForObject(list, r.scheme); err != nil {
			return err
		}
	}
	gvk.Kind = gvk.Kind[:len(gvk.Kind)-len("List")]
	r.lists = append(r.lists, fmt.Sprintf("%s ns=%q fields=%v", gvk.Kind, o.Namespace, o.FieldSelector))
	if _, unstructuredList := list.(*unstructured.UnstructuredList); unstructuredList && !r.scheme.Recognizes(gvk) {
		return &meta.NoKindMatchError{GroupKind: gvk.GroupKind()}
	}
	var items []runtime.Object
	for _, obj := range r.objects {
		objGVK, _ := apiutil.GVKForObject(obj, r.scheme)
		if objGVK != gvk || (o.Namespace != "" && obj.GetNamespace() != o.Namespace) {
			continue
		}
		if pod, ok := obj.(*corev1.Pod); ok && o.FieldSelector != nil &&
			!o.FieldSelector.Matches(fields.Set{"status.phase": string(pod.Status.Phase)}) {
			continue
		}
		if _, partial := list.(*metav1.PartialObjectMetadataList); partial {
			m := &metav1.PartialObjectMetadata{ObjectMeta: *obj.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta)}
			items = append(items, m)
			continue
		}
		items = append(items, obj.DeepCopyObject())
	}
	start, _ := strconv.Atoi(o.Continue)
	end := len(items)
	if o.Limit > 0 && start+int(o.Limit) < end {
		end = start + int(o.Limit)
		list.SetContinue(strconv.Itoa(end))
	}
	return meta.SetList(list, items[start:end])
}

// TestAudit: audit judges what runs, a page at a time: an uncovered
// Deployment is denied and stands for its ReplicaSet and pods (judged
// through their controller), a Deployment held in deletion stands for
// nothing (its ReplicaSet is judged), a pod being deleted still runs and is
// judged, a finished pod is not, a pod the seccomp rule mutates is listed, namespaces come sorted
// with their summaries, and kinds the cluster does not serve are skipped.
func TestAudit(t *testing.T) {
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policyFile, []byte("apiVersion: eksguard.io/v1alpha1\nkind: PolicyConfig\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	meta := func(ns, name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name)}
	}
	controlled := func(m metav1.ObjectMeta, apiVersion, kind, name string) metav1.ObjectMeta {
		m.OwnerReferences = []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name,
			UID: types.UID("uid-" + m.Namespace + "-" + name), Controller: ptr.To(true)}}
		return m
	}
	podSpec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "billing"}}, Spec: podSpec}
	deleting := meta("legacy", "debug")
	deleting.DeletionTimestamp = &metav1.Time{}
	// A Deployment a finalizer holds in deletion: it is not judged, and no
	// longer stands for the ReplicaSet that still runs its pods.
	held := meta("legacy", "held")
	held.DeletionTimestamp, held.Finalizers = &metav1.Time{}, []string{"example.com/hold"}
	objects := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "legacy"}},
		&networkingv1.NetworkPolicy{ObjectMeta: meta("shop", "default-deny"), Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}},
		&appsv1.Deployment{ObjectMeta: meta("legacy", "billing"), Spec: appsv1.DeploymentSpec{Template: template}},
		&appsv1.ReplicaSet{ObjectMeta: controlled(meta("legacy", "billing-1"), "apps/v1", "Deployment", "billing"), Spec: appsv1.ReplicaSetSpec{Template: template}},
		&corev1.Pod{ObjectMeta: controlled(meta("legacy", "billing-1-a"), "apps/v1", "ReplicaSet", "billing-1"), Spec: podSpec},
		&corev1.Pod{ObjectMeta: deleting, Spec: podSpec},
		&appsv1.Deployment{ObjectMeta: held, Spec: appsv1.DeploymentSpec{Template: template}},
		&appsv1.ReplicaSet{ObjectMeta: controlled(meta("legacy", "held-1"), "apps/v1", "Deployment", "held"), Spec: appsv1.ReplicaSetSpec{Template: template}},
		&corev1.Pod{ObjectMeta: controlled(meta("legacy", "held-1-a"), "apps/v1", "ReplicaSet", "held-1"), Spec: podSpec},
		&corev1.Pod{ObjectMeta: meta("shop", "web"), Spec: podSpec},
		&corev1.Pod{ObjectMeta: meta("shop", "done"), Spec: podSpec, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}},
	}
	scheme := manifest.NewScheme()
	reader := &pagedReader{scheme: scheme, objects: objects}
	rep, err := audit(context.Background(), reader, scheme, auditOptions{policyFile: policyFile, ownNamespace: "eksguard-system", pageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	type judged struct {
		namespace string
		summary   report.Summary
		findings  []string
	}
	var got []judged
	for _, ns := range rep.Namespaces {
		j := judged{namespace: ns.Namespace, summary: ns.Summary}
		for _, r := range ns.Findings {
			j.findings = append(j.findings, fmt.Sprintf("%s %s %s", r.Verdict, r.Kind, r.Name))
		}
		got = append(got, j)
	}
	want := []judged{
		{namespace: "legacy", summary: report.Summary{Checked: 3, Denied: 3},
			findings: []string{"denied Deployment billing", "denied ReplicaSet held-1", "denied Pod debug"}},
		{namespace: "shop", summary: report.Summary{Checked: 1, Mutated: 1}, findings: []string{"mutated Pod web"}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("namespaces:\n got %+v\nwant %+v", got, want)
	}
	if rep.ControlledObjects != 3 || rep.Summary != (report.Summary{Checked: 4, Mutated: 1, Denied: 3}) {
		t.Errorf("controlled objects %d, summary %+v; want 3 and 4 checked, 1 mutated, 3 denied", rep.ControlledObjects, rep.Summary)
	}
	// Every list is paged and pods are listed without the finished ones.
	podLists := 0
	for _, l := range reader.lists {
		if l == `Pod ns="" fields=status.phase!=Succeeded,status.phase!=Failed` {
			podLists++
		}
	}
	if podLists != 4 { // four running pods, a page each
		t.Errorf("pod lists %d, want 4 pages:\n%s", podLists, strings.Join(reader.lists, "\n"))
	}
	var table strings.Builder
	writeAuditTable(&table, rep)
	if lines := strings.Split(table.String(), "\n"); len(lines) < 4 || lines[1] != "Verdicts say what eksguard would answer if each object were created now." ||
		lines[3] != "Namespace legacy: 0 admitted, 3 denied" {
		t.Errorf("audit table:\n%s", table.String())
	}
	if err := exitFor(rep.Summary); err == nil || err.(*exitError).code != ExitViolations {
		t.Errorf("exit: %v, want %d", err, ExitViolations)
	}
}

// TestAuditDataPlane: audit reads the aws-node DaemonSet of kube-system,
// whatever namespace it audits: in strict mode, on a cluster that serves no
// Auto Mode NodeClass, a pod no policy selects is isolated by the data
// plane; without aws-node, or when reading it is forbidden (unknown), the
// pod is denied.
func TestAuditDataPlane(t *testing.T) {
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policyFile, []byte("apiVersion: eksguard.io/v1alpha1\nkind: PolicyConfig\n"+
		"rules:\n  networkPolicy:\n    dns: {mode: off}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	awsNode := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "aws-node"},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "aws-node", Image: "cni", Env: []corev1.EnvVar{{Name: "NETWORK_POLICY_ENFORCING_MODE", Value: "strict"}}},
			{Name: "aws-eks-nodeagent", Image: "agent", Args: []string{"--enable-network-policy=true"}},
		}}}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web-1", UID: "uid-web-1",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "uid-web", Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "daemonsets"}, "aws-node", errors.New("no get"))
	tests := []struct {
		name      string
		objects   []client.Object
		getErrors map[client.ObjectKey]error
		want      report.Summary
	}{
		{name: "strict mode", objects: []client.Object{awsNode, pod}, want: report.Summary{Checked: 1, Admitted: 1}},
		{name: "no aws-node", objects: []client.Object{pod}, want: report.Summary{Checked: 1, Denied: 1}},
		{name: "aws-node forbidden", objects: []client.Object{awsNode, pod},
			getErrors: map[client.ObjectKey]error{{Namespace: "kube-system", Name: "aws-node"}: forbidden},
			want:      report.Summary{Checked: 1, Denied: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scheme := manifest.NewScheme()
			reader := &pagedReader{scheme: scheme, objects: tt.objects, getErrors: tt.getErrors}
			rep, err := audit(context.Background(), reader, scheme,
				auditOptions{policyFile: policyFile, ownNamespace: "eksguard-system", namespace: "team", pageSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Summary != tt.want {
				t.Errorf("summary %+v, want %+v; namespaces: %+v", rep.Summary, tt.want, rep.Namespaces)
			}
		})
	}
}
