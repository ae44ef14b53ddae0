package cli

import (
	"context"
	"encoding/json"
	"fmt"
	goruntime "runtime"
	"runtime/metrics"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/manifest"
	"github.com/eksguard/eksguard/internal/app/offline"
	"github.com/eksguard/eksguard/webhook/lbtls"
)

// syntheticCluster is a cluster as kubectl apply leaves it: namespaces
// policies NetworkPolicies (a default-deny, then selectors with pod,
// namespace and ipBlock peers and a DNS allow) and ingresses ALB Ingresses
// per namespace, in ten groups. Every object carries kubectl's last-applied
// annotation and managedFields.
func syntheticCluster(namespaces, policies, ingresses int) []client.Object {
	var objs []client.Object
	scheme := manifest.NewScheme()
	add := func(obj client.Object) {
		kubectlApplied(scheme, obj)
		obj.SetUID(types.UID(fmt.Sprintf("uid-%d", len(objs))))
		obj.SetResourceVersion(fmt.Sprint(1000 + len(objs)))
		obj.SetCreationTimestamp(metav1.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
		obj.SetGeneration(1)
		objs = append(objs, obj)
	}
	tcp := func(port int32) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(port))}
	}
	sel := func(kv ...string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{kv[0]: kv[1]}}
	}
	add(&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"}, Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"}})
	for i := range namespaces {
		ns := fmt.Sprintf("team-%03d", i)
		add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": ns, "env": "prod"}}})
		for j := range policies {
			np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%03d", j),
				Labels: map[string]string{"app.kubernetes.io/part-of": ns, "app.kubernetes.io/managed-by": "kubectl"}}}
			if j == 0 {
				np.Name, np.Spec.PolicyTypes = "default-deny-ingress", []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
				add(np)
				continue
			}
			np.Spec = networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("app-%03d", j)}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app", "frontend")},
						{NamespaceSelector: sel("kubernetes.io/metadata.name", "monitoring"), PodSelector: sel("app.kubernetes.io/name", "prometheus")}},
					Ports: []networkingv1.NetworkPolicyPort{tcp(8080), tcp(9090)},
				}},
				Egress: []networkingv1.NetworkPolicyEgressRule{
					{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("kubernetes.io/metadata.name", "kube-system"), PodSelector: sel("k8s-app", "kube-dns")}},
						Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromInt32(53))}, tcp(53)}},
					{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.0.5.0/24"}}}},
						Ports: []networkingv1.NetworkPolicyPort{tcp(443)}},
					{To: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app", "postgres")}}, Ports: []networkingv1.NetworkPolicyPort{tcp(5432)}},
				},
			}
			if j%4 == 0 { // no DNS allow
				np.Spec.Egress = np.Spec.Egress[1:]
			}
			add(np)
		}
		for j := range ingresses {
			group := fmt.Sprintf("edge-%d", (i*ingresses+j)%10)
			host := fmt.Sprintf("app-%03d.%s.example.com", j, ns)
			ann := map[string]string{
				lbtls.AnnotationGroupName:                    group,
				lbtls.AnnotationALBScheme:                    "internet-facing",
				"alb.ingress.kubernetes.io/target-type":      "ip",
				"alb.ingress.kubernetes.io/healthcheck-path": "/healthz",
				lbtls.AnnotationListenPorts:                  `[{"HTTP": 80}, {"HTTPS": 443}]`,
				lbtls.AnnotationSSLRedirect:                  "443",
				lbtls.AnnotationCertificateARN:               "arn:aws:acm:eu-west-1:111122223333:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
				lbtls.AnnotationSSLPolicy:                    "ELBSecurityPolicy-TLS13-1-2-2021-06",
				"external-dns.alpha.kubernetes.io/hostname":  host,
			}
			switch j % 5 {
			case 1: // plaintext only: denied, and its group with it
				ann[lbtls.AnnotationListenPorts] = `[{"HTTP": 80}]`
				delete(ann, lbtls.AnnotationSSLRedirect)
			case 2: // an outdated TLS policy
				ann[lbtls.AnnotationSSLPolicy] = "ELBSecurityPolicy-2016-08"
			}
			path := func(p, svc string) networkingv1.HTTPIngressPath {
				return networkingv1.HTTPIngressPath{Path: p, PathType: ptr.To(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Name: "http"}}}}
			}
			add(&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%03d", j), Annotations: ann},
				Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("alb"), TLS: []networkingv1.IngressTLS{{Hosts: []string{host}}},
					Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
						Paths: []networkingv1.HTTPIngressPath{path("/", fmt.Sprintf("app-%03d", j)), path("/api", fmt.Sprintf("app-%03d-api", j))}}}}}}})
		}
	}
	return objs
}

// kubectlApplied gives obj what kubectl apply leaves on the live object:
// the manifest as JSON in the last-applied annotation, and a managedFields
// entry naming every field it set.
func kubectlApplied(scheme *runtime.Scheme, obj client.Object) {
	gvks, _, err := scheme.ObjectKinds(obj)
	if err != nil {
		panic(err)
	}
	applied := map[string]any{}
	raw, _ := json.Marshal(obj)
	_ = json.Unmarshal(raw, &applied)
	applied["apiVersion"], applied["kind"] = gvks[0].GroupVersion().String(), gvks[0].Kind
	delete(applied, "status")
	delete(applied["metadata"].(map[string]any), "creationTimestamp")
	raw, _ = json.Marshal(applied)
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[corev1.LastAppliedConfigAnnotation] = string(raw) + "\n"
	obj.SetAnnotations(ann)
	applied["metadata"].(map[string]any)["annotations"] = ann
	delete(applied, "apiVersion")
	delete(applied, "kind")
	fields, _ := json.Marshal(fieldSet(applied, true))
	obj.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate,
		APIVersion: gvks[0].GroupVersion().String(), Time: ptr.To(metav1.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)),
		FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(string(fields))}})
}

// fieldSet is v as a FieldsV1 set (lists atomic, as NetworkPolicy and
// Ingress rules are).
func fieldSet(v any, top bool) map[string]any {
	out := map[string]any{}
	m, ok := v.(map[string]any)
	if !ok {
		return out
	}
	if !top {
		out["."] = map[string]any{}
	}
	for k, sub := range m {
		out["f:"+k] = fieldSet(sub, false)
	}
	return out
}

// liveHeap is the heap a full GC finds live.
func liveHeap() uint64 {
	goruntime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// BenchmarkAuditContextMemory measures what audit holds for its whole run
// besides findings: the store loadAuditContext fills and the engine built
// on it, on 10,000 NetworkPolicies and 2,000 Ingresses in 100 namespaces.
//
//	go test -run '^$' -bench AuditContextMemory -benchtime 3x ./internal/app/cli/
func BenchmarkAuditContextMemory(b *testing.B) {
	discardLogs()
	const namespaces, policies, ingresses = 100, 100, 20
	scheme := manifest.NewScheme()
	reader := &pagedReader{scheme: scheme, objects: syntheticCluster(namespaces, policies, ingresses)}
	policy := config.DefaultPolicy("eksguard-system")
	ctx := context.Background()
	var held uint64
	b.ReportAllocs()
	for b.Loop() {
		reader.lists = nil
		before := liveHeap()
		store, err := loadAuditContext(ctx, reader, auditOptions{pageSize: auditPageSize})
		if err != nil {
			b.Fatal(err)
		}
		engine := offline.New(policy, store)
		held = liveHeap() - before
		goruntime.KeepAlive(engine)
	}
	b.ReportMetric(float64(held)/(1<<20), "MiB-held")
	b.ReportMetric(float64(held)/float64(namespaces*(policies+ingresses)), "B/object")
}
