package lbtls

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

// BenchmarkJudgeService measures the whole Service decision on a typical
// LBC Service: two TLS ports and one plaintext port (denied).
func BenchmarkJudgeService(b *testing.B) {
	svc := service(corev1.ServiceTypeLoadBalancer,
		lbcAnnotations(map[string]string{AnnotationSSLCert: certARN, AnnotationSSLPorts: "https,8443"}),
		port("http", 80, corev1.ProtocolTCP), port("https", 443, corev1.ProtocolTCP), port("admin", 8443, corev1.ProtocolTCP))
	settings := defaultSettings()
	for b.Loop() {
		if r := CheckService(svc, settings); len(r.Errs) != 2 {
			b.Fatalf("want 2 errors, got %v", r.Errs)
		}
	}
}

// BenchmarkJudgeIngressGroup measures the decision on an ALB group of three
// Ingresses with listen-ports, certificates, a redirect and TLS hosts.
func BenchmarkJudgeIngressGroup(b *testing.B) {
	members := Members(
		albIngress("web", "front", map[string]string{AnnotationGroupName: "shared", AnnotationListenPorts: bothPorts,
			AnnotationSSLRedirect: "443"}, "www.example.com"),
		albIngress("api", "back", referenceALBAnnotations(map[string]string{AnnotationGroupName: "shared",
			AnnotationListenPorts: `[{"HTTPS":443}]`}), "api.example.com"),
		withTLS(albIngress("admin", "console", map[string]string{AnnotationGroupName: "shared",
			AnnotationListenPorts: `[{"HTTPS":8443}]`, AnnotationSSLPolicy: strongPolicy}, "admin.example.com"), "admin.example.com"),
	)
	settings := defaultSettings()
	for b.Loop() {
		if r := CheckIngressGroup(members, settings); len(r.Errs) != 0 {
			b.Fatalf("want no errors, got %v", r.Errs)
		}
	}
}

// groupIndex is a cache of Ingresses as the handler reads it: by the two
// field indexes, without copies.
type groupIndex struct {
	client.Reader
	byField map[string][]networkingv1.Ingress
}

func (g groupIndex) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	var lo client.ListOptions
	lo.ApplyOptions(opts)
	for _, field := range []string{IngressGroupNameField, IngressClassNameField} {
		if v, ok := lo.FieldSelector.RequiresExactMatch(field); ok {
			list.(*networkingv1.IngressList).Items = g.byField[field+"="+v]
			return nil
		}
	}
	return fmt.Errorf("unexpected list %v", lo.FieldSelector)
}

// BenchmarkIngressHandler is the Ingress route's handler on a member of a
// three-Ingress ALB group whose other members are in the cache.
func BenchmarkIngressHandler(b *testing.B) {
	ann := func(extra map[string]string) map[string]string {
		a := referenceALBAnnotations(map[string]string{AnnotationGroupName: "shared", AnnotationListenPorts: `[{"HTTPS":443}]`})
		maps.Copy(a, extra)
		return a
	}
	self := albIngress("web", "front", ann(map[string]string{AnnotationListenPorts: bothPorts, AnnotationSSLRedirect: "443"}), "www.example.com")
	cached := []networkingv1.Ingress{*albIngress("api", "back", ann(nil), "api.example.com"), *albIngress("admin", "console", ann(nil), "admin.example.com")}
	reader := groupIndex{byField: map[string][]networkingv1.Ingress{IngressGroupNameField + "=shared": cached}}
	h := NewIngressHandler(ruletest.Decider(ruletest.CompilePolicy(b, nil)), reader, nil, albClasses())
	raw, err := json.Marshal(self)
	if err != nil {
		b.Fatal(err)
	}
	req := ruletest.Req{GVK: networkingv1.SchemeGroupVersion.WithKind("Ingress"), Op: admissionv1.Create, Namespace: "web",
		Object: string(raw)}.Request()
	ctx := context.Background()
	if resp := h.Handle(ctx, req); !resp.Allowed {
		b.Fatalf("denied: %v", resp.Result)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.Handle(ctx, req)
	}
}
