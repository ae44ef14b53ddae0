package lbtls

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
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
