package test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/webhook/lbtls"
)

const (
	lbtlsServiceWebhook = "loadbalancertls.services.eksguard.io"
	lbtlsIngressWebhook = "loadbalancertls.ingresses.eksguard.io"
	lbtlsCertARN        = "arn:aws:acm:region:account:certificate/cert-id"
	lbtlsStrongPolicy   = "ELBSecurityPolicy-TLS13-1-2-2021-06"
	// lbtlsStrongDefaultPolicy is a cluster whose LBC runs with
	// --default-ssl-policy=ELBSecurityPolicy-TLS13-1-2-2021-06.
	lbtlsStrongDefaultPolicy = `
apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  loadBalancerTLS:
    controllerDefaultSSLPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06
`
)

// referenceNLBService is the reference text's "NLB with TLS termination"
// Service, with a type and a port; without its annotations it is a plain
// type LoadBalancer Service.
func referenceNLBService(ns string, withAnnotations bool) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nlb"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443)}},
		},
	}
	if withAnnotations {
		svc.Annotations = map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":            "external",
			"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
			"service.beta.kubernetes.io/aws-load-balancer-ssl-cert":        lbtlsCertARN,
		}
	}
	return svc
}

// albIngress is an Ingress of class alb with a default backend.
func albIngress(ns, name string, annotations map[string]string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To("alb"),
			DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80},
			}},
		},
	}
}

// referenceALBAnnotations are the reference text's "ALB with ACM
// certificates" annotations.
func referenceALBAnnotations() map[string]string {
	return map[string]string{
		lbtls.AnnotationCertificateARN: lbtlsCertARN,
		lbtls.AnnotationSSLPolicy:      lbtlsStrongPolicy,
	}
}

// TestLBTLSReferenceNLBService: the reference NLB Service passes with its
// annotations on a cluster whose LBC default policy is allowed, is denied
// under the LBC's built-in default policy (which allows TLS 1.0), and is
// denied without its annotations (a plaintext Classic Load Balancer).
func TestLBTLSReferenceNLBService(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)

	err := k8sClient.Create(ctx, referenceNLBService(ns, true))
	assertDenied(t, err, lbtlsServiceWebhook, "eksguard denied this Service: [loadBalancerTLS] "+
		"metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy]: "+
		"default policy ELBSecurityPolicy-2016-08 is not allowed: set one, e.g. "+lbtlsStrongPolicy)

	err = k8sClient.Create(ctx, referenceNLBService(ns, false))
	assertDenied(t, err, lbtlsServiceWebhook, "eksguard denied this Service: [loadBalancerTLS] "+
		"spec.ports[0]: port 443 (https): plaintext TCP listener; set aws-load-balancer-ssl-cert")

	applyPolicy(t, lbtlsStrongDefaultPolicy)
	err = k8sClient.Create(ctx, referenceNLBService(ns, false))
	assertDenied(t, err, lbtlsServiceWebhook, "eksguard denied this Service: [loadBalancerTLS] "+
		"spec.ports[0]: port 443 (https): plaintext TCP listener; set aws-load-balancer-ssl-cert")
	if err := k8sClient.Create(ctx, referenceNLBService(ns, true)); err != nil {
		t.Fatalf("creating the reference NLB Service: %v", err)
	}
}

// TestLBTLSServiceTrapAndUpdate: ssl-ports "*" under the LBC is denied with
// the explanation, and an UPDATE that removes TLS is denied too.
func TestLBTLSServiceTrapAndUpdate(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	applyPolicy(t, lbtlsStrongDefaultPolicy)

	trap := referenceNLBService(ns, true)
	trap.Annotations[lbtls.AnnotationSSLPorts] = "*"
	assertDenied(t, k8sClient.Create(ctx, trap), lbtlsServiceWebhook, "eksguard denied this Service: [loadBalancerTLS] "+
		`spec.ports[0]: port 443 (https): plaintext TCP listener; LBC ssl-ports "*" matches no port: list the ports`)

	svc := referenceNLBService(ns, true)
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating the reference NLB Service: %v", err)
	}
	svc.Annotations[lbtls.AnnotationSSLPorts] = "8443"
	assertDenied(t, k8sClient.Update(ctx, svc), lbtlsServiceWebhook, "eksguard denied this Service: [loadBalancerTLS] "+
		"spec.ports[0]: port 443 (https): plaintext TCP listener; add it to aws-load-balancer-ssl-ports")
}

// TestLBTLSServiceWithoutLoadBalancer: ClusterIP Services never reach the
// webhook, and Services of another load balancer class are skipped.
func TestLBTLSServiceWithoutLoadBalancer(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	clusterIP := referenceNLBService(ns, false)
	clusterIP.Name, clusterIP.Spec.Type = "internal", corev1.ServiceTypeClusterIP
	if err := k8sClient.Create(ctx, clusterIP); err != nil {
		t.Fatalf("creating a ClusterIP Service: %v", err)
	}
	otherClass := referenceNLBService(ns, false)
	otherClass.Spec.LoadBalancerClass = ptr.To("example.com/metallb")
	if err := k8sClient.Create(ctx, otherClass); err != nil {
		t.Fatalf("creating a Service of another load balancer class: %v", err)
	}
}

// TestLBTLSWarnMode: in warn mode a plaintext Service is admitted and the
// client sees the finding as a warning.
func TestLBTLSWarnMode(t *testing.T) {
	applyPolicy(t, `
apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  loadBalancerTLS:
    mode: warn
`)
	ns := newNamespace(t, nil)
	c, warnings := newWarningClient(t)
	if err := c.Create(context.Background(), referenceNLBService(ns, false)); err != nil {
		t.Fatalf("creating a plaintext Service in warn mode: %v", err)
	}
	want := []string{"eksguard [loadBalancerTLS] port 443 (https): plaintext TCP listener; set aws-load-balancer-ssl-cert"}
	if got := warnings.Messages(); !slices.Equal(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}

// TestLBTLSReferenceALBIngress: the reference ALB Ingress passes with its
// annotations and is denied without them (the LBC's default HTTP:80).
func TestLBTLSReferenceALBIngress(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	err := k8sClient.Create(ctx, albIngress(ns, "plain", nil))
	assertDenied(t, err, lbtlsIngressWebhook, "eksguard denied this Ingress: [loadBalancerTLS] "+
		"metadata.annotations[alb.ingress.kubernetes.io/certificate-arn]: "+
		"default listener HTTP:80 is plaintext: set certificate-arn or an HTTPS listen port")
	if err := k8sClient.Create(ctx, albIngress(ns, "tls", referenceALBAnnotations())); err != nil {
		t.Fatalf("creating the reference ALB Ingress: %v", err)
	}
}

// waitForCachedIngress waits until the server's cache holds ing at least at
// its current resourceVersion, so that group lookups see it.
func waitForCachedIngress(t *testing.T, ing *networkingv1.Ingress) {
	t.Helper()
	eventually(t, policyTimeout, func() error {
		var cached networkingv1.Ingress
		if err := testServer.Manager.GetCache().Get(context.Background(), client.ObjectKeyFromObject(ing), &cached); err != nil {
			return err
		}
		if cached.ResourceVersion != ing.ResourceVersion {
			return fmt.Errorf("cache has %s at %s, want %s", ing.Name, cached.ResourceVersion, ing.ResourceVersion)
		}
		return nil
	})
}

// TestLBTLSIngressGroup: two Ingresses in two namespaces share one ALB
// through group.name and are judged together.
func TestLBTLSIngressGroup(t *testing.T) {
	ctx := context.Background()
	frontNS, backNS := newNamespace(t, nil), newNamespace(t, nil)
	group := "shop-" + frontNS // group names are cluster-wide: keep tests apart
	inGroup := func(extra map[string]string) map[string]string {
		ann := map[string]string{lbtls.AnnotationGroupName: group}
		maps.Copy(ann, extra)
		return ann
	}

	httpsAnn := referenceALBAnnotations()
	httpsAnn[lbtls.AnnotationListenPorts] = `[{"HTTPS":443}]`
	back := albIngress(backNS, "back", inGroup(httpsAnn))
	if err := k8sClient.Create(ctx, back); err != nil {
		t.Fatalf("creating the HTTPS member: %v", err)
	}
	waitForCachedIngress(t, back)

	front := albIngress(frontNS, "front", inGroup(map[string]string{lbtls.AnnotationListenPorts: `[{"HTTP":80}]`}))
	assertDenied(t, k8sClient.Create(ctx, front.DeepCopy()), lbtlsIngressWebhook, "eksguard denied this Ingress: [loadBalancerTLS] "+
		`metadata.annotations[alb.ingress.kubernetes.io/listen-ports]: HTTP:80 is plaintext: set ssl-redirect: "443"`)

	front.Annotations[lbtls.AnnotationSSLRedirect] = "443"
	if err := k8sClient.Create(ctx, front); err != nil {
		t.Fatalf("creating the redirecting member: %v", err)
	}
	waitForCachedIngress(t, front)

	back.Annotations[lbtls.AnnotationListenPorts] = `[{"HTTPS":8443}]`
	assertDenied(t, k8sClient.Update(ctx, back), lbtlsIngressWebhook, "eksguard denied this Ingress: [loadBalancerTLS] "+
		"metadata.annotations[alb.ingress.kubernetes.io/group.name]: "+
		fmt.Sprintf("ssl-redirect port 443 (%s/front) is not an HTTPS listener of the ALB", frontNS))
}
