package test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eksguard/eksguard/webhook/lbtls"
)

// TestStatusSubresourceRelabel: the status subresources can change labels
// and annotations (kubernetes#92022). A relabel through pods/status that
// takes a pod out of every policy is denied like one through the pod; a
// status write that leaves labels alone, as the kubelet's does, is not
// judged; and a services/status update that rewrites a Service's TLS
// annotations is denied.
func TestStatusSubresourceRelabel(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	createNetworkPolicy(t, ns, "web-only", metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}})
	pod := netpolPod(ns, "web", map[string]string{"app": "web"})
	if err := k8sClient.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}

	pod.Status.Message = "a status write"
	if err := k8sClient.Status().Update(ctx, pod); err != nil {
		t.Fatalf("a status write that keeps the labels: %v", err)
	}
	pod.Labels = map[string]string{"app": "escaped"}
	err := k8sClient.Status().Update(ctx, pod)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), netpolPodWebhook) || !strings.Contains(err.Error(), "Pod web (labels app=escaped)") {
		t.Errorf("a relabel through pods/status out of every policy: %v, want eksguard's denial", err)
	}

	svc := referenceNLBService(ns, true)
	svc.Annotations[lbtls.AnnotationSSLNegotiation] = lbtlsStrongPolicy
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "k8s-shop-nlb.elb.eu-west-1.amazonaws.com"}}
	if err := k8sClient.Status().Update(ctx, svc); err != nil {
		t.Fatalf("the LBC's status write: %v", err)
	}
	delete(svc.Annotations, lbtls.AnnotationSSLCert)
	err = k8sClient.Status().Update(ctx, svc)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), lbtlsServiceWebhook) || !strings.Contains(err.Error(), "plaintext TCP listener") {
		t.Errorf("dropping the certificate through services/status: %v, want eksguard's denial", err)
	}
}
