package test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/webhook/lbtls"
)

const (
	lbtlsACKWebhook     = "loadbalancertls.acklisteners.eksguard.io"
	lbtlsACKRuleWebhook = "loadbalancertls.ackrules.eksguard.io"
)

// autoModeNLBService is the Sample Service of auto-configure-nlb.html:
// class eks.amazonaws.com/nlb, internet-facing, a plain TCP:80 port, and
// with a certificate when cert is set.
func autoModeNLBService(ns, name string, cert bool) *corev1.Service {
	svc := referenceNLBService(ns, false)
	svc.Name = name
	svc.Spec.LoadBalancerClass = ptr.To(lbtls.AutoModeLoadBalancerClass)
	svc.Annotations = map[string]string{lbtls.AnnotationScheme: "internet-facing"}
	svc.Spec.Ports[0].Name, svc.Spec.Ports[0].Port = "http", 80
	if cert {
		svc.Annotations[lbtls.AnnotationSSLCert] = lbtlsCertARN
		svc.Spec.Ports[0].Name, svc.Spec.Ports[0].Port = "https", 443
	}
	return svc
}

// TestLBTLSAutoModeNLB: a Service of EKS Auto Mode's class gets an NLB
// (auto-configure-nlb.html): a plaintext one is denied; a TLS one is denied
// under the Auto Mode default policy eksguard assumes, and admitted once the
// operator says the cluster's default is an allowed one.
func TestLBTLSAutoModeNLB(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	assertDenied(t, k8sClient.Create(ctx, autoModeNLBService(ns, "plain", false)), lbtlsServiceWebhook,
		"eksguard denied this Service: [loadBalancerTLS] spec.ports[0]: port 80 (http): plaintext TCP listener; set aws-load-balancer-ssl-cert")
	assertDenied(t, k8sClient.Create(ctx, autoModeNLBService(ns, "tls", true)), lbtlsServiceWebhook,
		"eksguard denied this Service: [loadBalancerTLS] metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy]: "+
			"EKS Auto Mode's default policy ELBSecurityPolicy-2016-08 is not allowed, and Auto Mode documents no way to set one: "+
			"use the AWS Load Balancer Controller (loadBalancerClass service.k8s.aws/nlb) and set e.g. "+lbtlsStrongPolicy+
			" (or set autoMode.defaultSSLPolicy if yours differs)")

	applyPolicy(t, `
apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  loadBalancerTLS:
    autoMode:
      defaultSSLPolicy: `+lbtlsStrongPolicy+`
`)
	if err := k8sClient.Create(ctx, autoModeNLBService(ns, "tls", true)); err != nil {
		t.Fatalf("a TLS Auto Mode NLB under an allowed autoMode.defaultSSLPolicy: %v", err)
	}
}

// TestLBTLSAutoModeALB: an Ingress of an IngressClass of controller
// eks.amazonaws.com/alb is an ALB, with Auto Mode's own IngressClassParams
// (auto-configure-alb.html): the guide's plain HTTP:80 example is denied, and
// the certificateARNs of the params make HTTPS:443 under the Auto Mode
// default policy.
func TestLBTLSAutoModeALB(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	class := "auto-" + ns
	params := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"scheme": "internet-facing", "certificateARNs": []any{lbtlsCertARN}}}}
	params.SetGroupVersionKind(lbtls.AutoModeIngressClassParamsGVK)
	params.SetName(class)
	createClusterScoped(t, params)
	createClusterScoped(t, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: class},
		Spec: networkingv1.IngressClassSpec{Controller: lbtls.IngressClassControllerAutoMode,
			Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr.To(lbtls.AutoModeIngressClassParamsGVK.Group),
				Kind: lbtls.AutoModeIngressClassParamsGVK.Kind, Name: class}}})
	plainClass := "auto-plain-" + ns
	createClusterScoped(t, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: plainClass},
		Spec: networkingv1.IngressClassSpec{Controller: lbtls.IngressClassControllerAutoMode}})
	waitForIngressClass(t, class)

	plain := albIngress(ns, "game-2048", map[string]string{lbtls.AnnotationALBScheme: "internet-facing"})
	plain.Spec.IngressClassName = ptr.To(plainClass)
	assertDenied(t, k8sClient.Create(ctx, plain), lbtlsIngressWebhook, "eksguard denied this Ingress: [loadBalancerTLS] "+
		"metadata.annotations[alb.ingress.kubernetes.io/certificate-arn]: default listener HTTP:80 is plaintext: set certificate-arn or an HTTPS listen port")

	tls := albIngress(ns, "shop", map[string]string{lbtls.AnnotationSSLPolicy: lbtlsStrongPolicy})
	tls.Spec.IngressClassName = ptr.To(class)
	assertDenied(t, k8sClient.Create(ctx, tls), lbtlsIngressWebhook, "eksguard denied this Ingress: [loadBalancerTLS] "+
		"metadata.annotations[alb.ingress.kubernetes.io/ssl-policy]: HTTPS:443: EKS Auto Mode's default policy ELBSecurityPolicy-2016-08 "+
		"is not allowed, and Auto Mode documents no way to set one: use the AWS Load Balancer Controller "+
		"(an IngressClass of controller ingress.k8s.aws/alb) and set e.g. "+lbtlsStrongPolicy+" (or set autoMode.defaultSSLPolicy if yours differs)")
}

// ackObject is an ACK elbv2 object of kind in ns.
func ackObject(kind, ns, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetGroupVersionKind(lbtls.ACKListenerGVK.GroupVersion().WithKind(kind))
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// TestLBTLSACKListener: ELB listeners made through ACK's elbv2 controller,
// created through the API server with ACK's own CRDs: an HTTP listener that
// forwards is denied, one whose default action redirects to HTTPS is
// admitted, and so is an HTTPS listener with an allowed policy; a Rule that
// forwards on the redirecting listener is denied.
func TestLBTLSACKListener(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	if err := k8sClient.Create(ctx, ackObject("LoadBalancer", ns, "edge", map[string]any{
		"name": "edge", "scheme": "internet-facing", "type": "application"})); err != nil {
		t.Fatal(err)
	}
	listener := func(name, protocol string, port int64, actions []any, extra map[string]any) *unstructured.Unstructured {
		spec := map[string]any{"protocol": protocol, "port": port, "defaultActions": actions,
			"loadBalancerRef": map[string]any{"from": map[string]any{"name": "edge"}}}
		for k, v := range extra {
			spec[k] = v
		}
		return ackObject("Listener", ns, name, spec)
	}
	forward := []any{map[string]any{"type": "forward", "targetGroupRef": map[string]any{"from": map[string]any{"name": "web"}}}}
	redirect := []any{map[string]any{"type": "redirect", "redirectConfig": map[string]any{"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}}

	assertDenied(t, k8sClient.Create(ctx, listener("http", "HTTP", 80, forward, nil)), lbtlsACKWebhook,
		"eksguard denied this Listener: [loadBalancerTLS] spec.protocol: HTTP:80 is plaintext: "+
			"make it HTTPS with a certificate, or make its default action a redirect to HTTPS")
	if err := k8sClient.Create(ctx, listener("redirect", "HTTP", 80, redirect, nil)); err != nil {
		t.Errorf("an HTTP listener that redirects to HTTPS: %v", err)
	}
	https := listener("https", "HTTPS", 443, forward, map[string]any{"sslPolicy": lbtlsStrongPolicy,
		"certificates": []any{map[string]any{"certificateARN": lbtlsCertARN}}})
	if err := k8sClient.Create(ctx, https); err != nil {
		t.Errorf("an HTTPS listener with an allowed policy: %v", err)
	}
	// A Rule that forwards on the redirecting HTTP listener serves in
	// plaintext (the listener must be in eksguard's cache first).
	rule := ackObject("Rule", ns, "api", map[string]any{"priority": int64(1),
		"listenerRef": map[string]any{"from": map[string]any{"name": "redirect"}},
		"conditions":  []any{map[string]any{"field": "path-pattern", "values": []any{"/api/*"}}},
		"actions":     forward})
	eventually(t, policyTimeout, func() error {
		if err := k8sClient.Create(ctx, rule.DeepCopy(), client.DryRunAll); !apierrors.IsForbidden(err) {
			return fmt.Errorf("a forwarding Rule on the HTTP listener: %v, want a denial", err)
		}
		return nil
	})
	assertDenied(t, k8sClient.Create(ctx, rule), lbtlsACKRuleWebhook,
		"eksguard denied this Rule: [loadBalancerTLS] spec.actions: forwards over plaintext HTTP:80 of Listener "+ns+
			"/redirect: redirect to HTTPS, or attach the rule to an HTTPS listener")
	// An update that drops the policy falls to the ELBv2 default.
	unstructured.RemoveNestedField(https.Object, "spec", "sslPolicy")
	assertDenied(t, k8sClient.Update(ctx, https), lbtlsACKWebhook,
		"eksguard denied this Listener: [loadBalancerTLS] spec.sslPolicy: HTTPS:443: default policy ELBSecurityPolicy-2016-08 "+
			"is not allowed: set one, e.g. "+lbtlsStrongPolicy)
}

// TestLBTLSUnknownAWSClass: a LoadBalancer Service of a class in an AWS
// domain that eksguard does not model is admitted with a warning
// (unknownClasses.aws: warn), not silently.
func TestLBTLSUnknownAWSClass(t *testing.T) {
	ns := newNamespace(t, nil)
	svc := autoModeNLBService(ns, "future", false)
	svc.Spec.LoadBalancerClass = ptr.To("service.k8s.aws/future")
	c, rec := newWarningClient(t)
	if err := c.Create(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	want := `eksguard [loadBalancerTLS] class "service.k8s.aws/future" unknown: listeners not judged (unknownClasses.aws)`
	if !slices.Contains(rec.Messages(), want) {
		t.Errorf("warnings %q, want %q", rec.Messages(), want)
	}
}
