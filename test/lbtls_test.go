package test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

// TestLBTLSServiceTrapAndUpdate: ssl-ports "*" under the LBC names no port,
// which makes the LBC refuse the Service (validateTLSPortsSet in its
// pkg/service/model_build_listener.go); it is denied with the explanation,
// and an UPDATE that moves TLS off the port is denied too.
func TestLBTLSServiceTrapAndUpdate(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	applyPolicy(t, lbtlsStrongDefaultPolicy)

	trap := referenceNLBService(ns, true)
	trap.Annotations[lbtls.AnnotationSSLPorts] = "*"
	assertDenied(t, k8sClient.Create(ctx, trap), lbtlsServiceWebhook, "eksguard denied this Service: [loadBalancerTLS] "+
		`metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-ssl-ports]: "*" names no port of the Service: `+
		`the LBC refuses to build or update the load balancer ("Unused port in ssl-ports annotation"); `+
		`"*" is no wildcard for the LBC: leave ssl-ports out for TLS on every TCP port, or list Service port names or numbers`)

	svc := referenceNLBService(ns, true)
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "admin", Port: 8443, TargetPort: intstr.FromInt32(8443)})
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

// waitForIngressClass waits until eksguard's cache holds the IngressClass
// class and its IngressClassParams: a dry-run Ingress of the class is no
// longer answered "builds no load balancer".
func waitForIngressClass(t *testing.T, class string) {
	t.Helper()
	ns := newNamespace(t, nil)
	eventually(t, policyTimeout, func() error {
		c, rec := newWarningClient(t)
		probe := albIngress(ns, "class-probe", nil)
		probe.Spec.IngressClassName = ptr.To(class)
		err := c.Create(context.Background(), probe, client.DryRunAll)
		for _, text := range append(rec.Messages(), fmt.Sprint(err)) {
			if strings.Contains(text, "builds no load balancer") {
				return errors.New(text)
			}
		}
		return nil
	})
}

// createClusterScoped creates a cluster-scoped object and deletes it when
// the test ends.
func createClusterScoped(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8sClient.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
	t.Cleanup(func() {
		if err := k8sClient.Delete(context.Background(), obj); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting %s: %v", obj.GetName(), err)
		}
	})
}

// albIngressClass is an IngressClass of the LBC, with parameters naming an
// IngressClassParams when params is set.
func albIngressClass(name, params string) *networkingv1.IngressClass {
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: networkingv1.IngressClassSpec{Controller: lbtls.IngressClassControllerALB}}
	if params != "" {
		class.Spec.Parameters = &networkingv1.IngressClassParametersReference{
			APIGroup: ptr.To(lbtls.IngressClassParamsGVK.Group), Kind: lbtls.IngressClassParamsGVK.Kind, Name: params}
	}
	return class
}

// TestLBTLSCustomNamedIngressClass: an IngressClass named anything but alb
// whose controller is ingress.k8s.aws/alb makes its Ingresses ALBs
// (classifyIngress in the LBC's pkg/ingress/group_loader.go), and a class
// of another controller named like the LBC's does not.
func TestLBTLSCustomNamedIngressClass(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	edge := "edge-" + ns
	createClusterScoped(t, albIngressClass(edge, ""))
	waitForIngressClass(t, edge)
	ing := albIngress(ns, "plain", nil)
	ing.Spec.IngressClassName = ptr.To(edge)
	assertDenied(t, k8sClient.Create(ctx, ing), lbtlsIngressWebhook, "eksguard denied this Ingress: [loadBalancerTLS] "+
		"metadata.annotations[alb.ingress.kubernetes.io/certificate-arn]: "+
		"default listener HTTP:80 is plaintext: set certificate-arn or an HTTPS listen port")

	other := "nginx-" + ns
	createClusterScoped(t, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: other},
		Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}})
	ing = albIngress(ns, "nginx", nil)
	ing.Spec.IngressClassName = ptr.To(other)
	eventually(t, policyTimeout, func() error { return k8sClient.Create(ctx, ing.DeepCopy()) })
}

// TestLBTLSDefaultIngressClass: an Ingress without a class, in a cluster
// whose default IngressClass is the LBC's, gets that class from the API
// server (the DefaultIngressClass admission plugin) and is judged as an ALB.
func TestLBTLSDefaultIngressClass(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	class := albIngressClass("default-"+ns, "")
	class.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
	createClusterScoped(t, class)
	waitForIngressClass(t, class.Name)
	ing := albIngress(ns, "classless", nil)
	ing.Spec.IngressClassName = nil
	// The admission plugin reads IngressClasses from its own informer.
	eventually(t, policyTimeout, func() error {
		err := k8sClient.Create(ctx, ing.DeepCopy(), client.DryRunAll)
		if err == nil {
			return errors.New("admitted: not judged as an ALB yet")
		}
		return nil
	})
	assertDenied(t, k8sClient.Create(ctx, ing), lbtlsIngressWebhook, "eksguard denied this Ingress: [loadBalancerTLS] "+
		"metadata.annotations[alb.ingress.kubernetes.io/certificate-arn]: "+
		"default listener HTTP:80 is plaintext: set certificate-arn or an HTTPS listen port")
}

// TestLBTLSIngressClassParams: the IngressClassParams of the class win over
// the Ingress's annotations (computeIngressExplicitSSLPolicy in the LBC's
// pkg/ingress/model_build_listener.go): its weak sslPolicy denies an
// Ingress whose own ssl-policy is strong, and its group brings the
// Ingresses of the class into one ALB (loadGroupID).
func TestLBTLSIngressClassParams(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	weak, strong := "weak-"+ns, "strong-"+ns
	for name, spec := range map[string]map[string]any{
		weak:   {"sslPolicy": "ELBSecurityPolicy-2016-08"},
		strong: {"sslPolicy": lbtlsStrongPolicy, "certificateArn": []any{lbtlsCertARN}, "group": map[string]any{"name": "params-" + ns}},
	} {
		params := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
		params.SetGroupVersionKind(lbtls.IngressClassParamsGVK)
		params.SetName(name)
		createClusterScoped(t, params)
		createClusterScoped(t, albIngressClass(name, name))
		waitForIngressClass(t, name)
	}

	ing := albIngress(ns, "weak", referenceALBAnnotations())
	ing.Spec.IngressClassName = ptr.To(weak)
	assertDenied(t, k8sClient.Create(ctx, ing), lbtlsIngressWebhook, "eksguard denied this Ingress: [loadBalancerTLS] "+
		`spec.ingressClassName: HTTPS:443 (IngressClassParams `+weak+
		` spec.sslPolicy): policy "ELBSecurityPolicy-2016-08" is not allowed: use e.g. `+lbtlsStrongPolicy)

	// One member of the params' group listens on HTTPS:443 only; a second
	// one, with no group annotation, adds a plaintext HTTP:80.
	first := albIngress(ns, "first", nil)
	first.Spec.IngressClassName = ptr.To(strong)
	if err := k8sClient.Create(ctx, first); err != nil {
		t.Fatalf("creating the first member: %v", err)
	}
	waitForCachedIngress(t, first)
	second := albIngress(ns, "second", map[string]string{lbtls.AnnotationListenPorts: `[{"HTTP":80}]`})
	second.Spec.IngressClassName = ptr.To(strong)
	assertDenied(t, k8sClient.Create(ctx, second), lbtlsIngressWebhook, "eksguard denied this Ingress: [loadBalancerTLS] "+
		`metadata.annotations[alb.ingress.kubernetes.io/listen-ports]: HTTP:80 is plaintext: set ssl-redirect: "443"`)
}
