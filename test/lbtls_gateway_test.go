package test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/eksguard/eksguard/internal/testkit/testbed"
	"github.com/eksguard/eksguard/webhook/lbtls"
)

const (
	lbtlsGatewayWebhook = "loadbalancertls.gateways.eksguard.io"
	lbtlsRouteWebhook   = "loadbalancertls.gatewayroutes.eksguard.io"
)

// gatewayAPIObject is a Gateway API (or LBC configuration) object of kind.
var gatewayAPIObject = testbed.GatewayAPIObject

// gatewayClass creates a GatewayClass of controller for the test.
func gatewayClass(t *testing.T, name, controller string, params map[string]any) {
	spec := map[string]any{"controllerName": controller}
	if params != nil {
		spec["parametersRef"] = params
	}
	createClusterScoped(t, gatewayAPIObject("GatewayClass", "", name, spec))
}

// waitForGateway waits until eksguard's cache holds the Gateway.
func waitForGateway(t *testing.T, ns, gateway, section string) {
	t.Helper()
	if err := testbed.WaitForGatewayCached(context.Background(), k8sClient, ns, gateway, section, policyTimeout); err != nil {
		t.Fatal(err)
	}
}

// httpRoute is an HTTPRoute on the Gateway's listener section ("" for
// all) that forwards, or redirects to https.
func httpRoute(ns, name, gateway, section string, redirect bool) *unstructured.Unstructured {
	parent := map[string]any{"name": gateway}
	if section != "" {
		parent["sectionName"] = section
	}
	rule := map[string]any{"backendRefs": []any{map[string]any{"name": "web", "port": int64(80)}}}
	if redirect {
		rule = map[string]any{"filters": []any{map[string]any{"type": "RequestRedirect",
			"requestRedirect": map[string]any{"scheme": "https", "statusCode": int64(301)}}}}
	}
	return gatewayAPIObject("HTTPRoute", ns, name, map[string]any{"parentRefs": []any{parent}, "rules": []any{rule}})
}

// TestLBTLSGatewayALB: an ALB Gateway of the AWS Load Balancer Controller,
// with the Gateway API's own CRDs: a route that forwards on its HTTP
// listener is denied, one that redirects to https admitted; a
// LoadBalancerConfiguration's policy admits HTTPS; and adding an HTTP
// listener that an existing route would forward on is denied at the Gateway.
func TestLBTLSGatewayALB(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	class := "alb-" + ns
	if err := k8sClient.Create(ctx, gatewayAPIObject("LoadBalancerConfiguration", ns, "tls", map[string]any{
		"scheme": "internet-facing",
		"listenerConfigurations": []any{map[string]any{"protocolPort": "HTTPS:443", "sslPolicy": lbtlsStrongPolicy,
			"defaultCertificate": lbtlsCertARN}}})); err != nil {
		t.Fatal(err)
	}
	gatewayClass(t, class, lbtls.GatewayControllerALB, nil)
	listener := func(name, protocol string, port int64) map[string]any {
		return map[string]any{"name": name, "protocol": protocol, "port": port}
	}
	gw := gatewayAPIObject("Gateway", ns, "web", map[string]any{"gatewayClassName": class,
		"infrastructure": map[string]any{"parametersRef": map[string]any{"group": "gateway.k8s.aws", "kind": "LoadBalancerConfiguration", "name": "tls"}},
		"listeners":      []any{listener("http", "HTTP", 80), listener("https", "HTTPS", 443)}})
	c, rec := newWarningClient(t)
	if err := c.Create(ctx, gw); err != nil {
		t.Fatalf("a Gateway with no route yet: %v", err)
	}
	want := "eksguard [loadBalancerTLS] HTTP:80 has no route yet: plaintext unless its routes only redirect to https"
	if !slices.Contains(rec.Messages(), want) {
		t.Errorf("warnings %q, want %q", rec.Messages(), want)
	}
	waitForGateway(t, ns, "web", "http")

	assertDenied(t, k8sClient.Create(ctx, httpRoute(ns, "store", "web", "http", false)), lbtlsRouteWebhook,
		"eksguard denied this HTTPRoute: [loadBalancerTLS] spec.rules[0]: forwards over plaintext HTTP:80 of Gateway "+ns+
			"/web: redirect to https (RequestRedirect scheme: https), or attach to an HTTPS listener")
	if err := k8sClient.Create(ctx, httpRoute(ns, "redirect", "web", "http", true)); err != nil {
		t.Errorf("a route that redirects to https: %v", err)
	}
	if err := k8sClient.Create(ctx, httpRoute(ns, "store", "web", "https", false)); err != nil {
		t.Errorf("a route on HTTPS:443 under the configuration's policy: %v", err)
	}

	// A second Gateway with HTTPS only, and a route on all its listeners.
	only := gatewayAPIObject("Gateway", ns, "api", map[string]any{"gatewayClassName": class,
		"infrastructure": map[string]any{"parametersRef": map[string]any{"group": "gateway.k8s.aws", "kind": "LoadBalancerConfiguration", "name": "tls"}},
		"listeners":      []any{listener("https", "HTTPS", 443)}})
	if err := k8sClient.Create(ctx, only); err != nil {
		t.Fatal(err)
	}
	eventually(t, policyTimeout, func() error {
		return k8sClient.Create(ctx, httpRoute(ns, "api", "api", "", false))
	})
	waitForRoute(t, ns, "api", "api")
	spec := only.Object["spec"].(map[string]any)
	spec["listeners"] = append(spec["listeners"].([]any), listener("http", "HTTP", 80))
	assertDenied(t, k8sClient.Update(ctx, only), lbtlsGatewayWebhook, "eksguard denied this Gateway: [loadBalancerTLS] "+
		"spec.listeners[1]: HTTP:80 is plaintext: HTTPRoute "+ns+"/api rule 1 forwards; make every rule redirect to https "+
		"(RequestRedirect scheme: https), or serve them on HTTPS")
}

// waitForRoute waits until eksguard's cache holds the route on the
// Gateway: a dry-run update of the Gateway sees it.
func waitForRoute(t *testing.T, ns, gateway, route string) {
	t.Helper()
	eventually(t, policyTimeout, func() error {
		gw := &unstructured.Unstructured{}
		gw.SetGroupVersionKind(lbtls.GatewayKind.GVK)
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: gateway}, gw); err != nil {
			return err
		}
		spec := gw.Object["spec"].(map[string]any)
		spec["listeners"] = append(spec["listeners"].([]any), map[string]any{"name": "probe", "protocol": "HTTP", "port": int64(8080)})
		if err := k8sClient.Update(context.Background(), gw, client.DryRunAll); !apierrors.IsForbidden(err) {
			return fmt.Errorf("route %s not seen on Gateway %s yet: %v", route, gateway, err)
		}
		return nil
	})
}

// TestLBTLSGatewayNLB: an NLB Gateway's TLS listener with a good policy
// from its GatewayClass's LoadBalancerConfiguration is admitted with its
// TCPRoute; a TCP listener's route is denied.
func TestLBTLSGatewayNLB(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	class := "nlb-" + ns
	if err := k8sClient.Create(ctx, gatewayAPIObject("LoadBalancerConfiguration", ns, "class", map[string]any{
		"listenerConfigurations": []any{map[string]any{"protocolPort": "TLS:443", "sslPolicy": lbtlsStrongPolicy,
			"defaultCertificate": lbtlsCertARN}}})); err != nil {
		t.Fatal(err)
	}
	gatewayClass(t, class, lbtls.GatewayControllerNLB, map[string]any{"group": "gateway.k8s.aws", "kind": "LoadBalancerConfiguration",
		"name": "class", "namespace": ns})
	gw := gatewayAPIObject("Gateway", ns, "edge", map[string]any{"gatewayClassName": class, "listeners": []any{
		map[string]any{"name": "tls", "protocol": "TLS", "port": int64(443),
			"tls": map[string]any{"mode": "Terminate", "certificateRefs": []any{map[string]any{"name": "unused-by-the-lbc"}}}},
		map[string]any{"name": "pg", "protocol": "TCP", "port": int64(5432)}}})
	if err := k8sClient.Create(ctx, gw); err != nil {
		t.Fatal(err)
	}
	tcpRoute := func(name, section string) *unstructured.Unstructured {
		return gatewayAPIObject("TCPRoute", ns, name, map[string]any{
			"parentRefs": []any{map[string]any{"name": "edge", "sectionName": section}},
			"rules":      []any{map[string]any{"backendRefs": []any{map[string]any{"name": name, "port": int64(443)}}}}})
	}
	eventually(t, policyTimeout, func() error {
		err := k8sClient.Create(ctx, tcpRoute("pg", "pg"), client.DryRunAll)
		if !apierrors.IsForbidden(err) {
			return fmt.Errorf("a TCPRoute on TCP:5432: %v, want a denial", err)
		}
		return nil
	})
	assertDenied(t, k8sClient.Create(ctx, tcpRoute("pg", "pg")), lbtlsRouteWebhook, "eksguard denied this TCPRoute: [loadBalancerTLS] "+
		"spec.parentRefs[0]: attaches to plaintext TCP:5432 of Gateway "+ns+"/edge: use protocol TLS with tls.mode Terminate (Passthrough is TCP on the NLB)")
	if err := k8sClient.Create(ctx, tcpRoute("app", "tls")); err != nil {
		t.Errorf("a TCPRoute on TLS:443 under the class configuration's policy: %v", err)
	}
}

// TestLBTLSGatewayCRDInstalledLater: the Gateway API CRDs installed after
// eksguard started are watched without a restart.
func TestLBTLSGatewayCRDInstalledLater(t *testing.T) {
	var paths []string
	dir, err := testbed.GatewayAPICRDDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"gateway.networking.k8s.io_gateways.yaml", "gateway.networking.k8s.io_httproutes.yaml"} {
		paths = append(paths, filepath.Join(dir, f))
	}
	crdOptions := uninstallCRDs(t, paths...)
	ns := newNamespace(t, nil)
	gone := gatewayAPIObject("Gateway", ns, "gone", map[string]any{"gatewayClassName": "none",
		"listeners": []any{map[string]any{"name": "http", "protocol": "HTTP", "port": int64(80)}}})
	eventually(t, discoveryTimeout, func() error {
		if err := k8sClient.Create(context.Background(), gone.DeepCopy(), client.DryRunAll); err == nil {
			return errors.New("Gateways still served after their CRD is gone")
		}
		return nil
	})
	// Let eksguard's discovery see them gone before they come back.
	time.Sleep(3 * time.Second)
	if _, err := envtest.InstallCRDs(restConfig, crdOptions); err != nil {
		t.Fatal(err)
	}
	class := "later-" + ns
	gatewayClass(t, class, lbtls.GatewayControllerALB, nil)
	eventually(t, discoveryTimeout, func() error {
		return k8sClient.Create(context.Background(), gatewayAPIObject("Gateway", ns, "web", map[string]any{"gatewayClassName": class,
			"listeners": []any{map[string]any{"name": "http", "protocol": "HTTP", "port": int64(80)}}}))
	})
	waitForGateway(t, ns, "web", "http")
}

// waitForGatewayClass waits until eksguard's cache holds the GatewayClass.
func waitForGatewayClass(t *testing.T, class string) {
	t.Helper()
	if err := testbed.WaitForGatewayClassCached(context.Background(), restConfig, newNamespace(t, nil), class, policyTimeout); err != nil {
		t.Fatal(err)
	}
}

// TestLBTLSGatewayConfigChange: a LoadBalancerConfiguration update that
// drops the TLS policy of a running Gateway's HTTPS listener is admitted
// with a warning naming the Gateway.
func TestLBTLSGatewayConfigChange(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	class := "alb-change-" + ns
	config := gatewayAPIObject("LoadBalancerConfiguration", ns, "tls", map[string]any{
		"listenerConfigurations": []any{map[string]any{"protocolPort": "HTTPS:443", "sslPolicy": lbtlsStrongPolicy,
			"defaultCertificate": lbtlsCertARN}}})
	if err := k8sClient.Create(ctx, config); err != nil {
		t.Fatal(err)
	}
	gatewayClass(t, class, lbtls.GatewayControllerALB, nil)
	waitForGatewayClass(t, class)
	if err := k8sClient.Create(ctx, gatewayAPIObject("Gateway", ns, "web", map[string]any{"gatewayClassName": class,
		"infrastructure": map[string]any{"parametersRef": map[string]any{"group": "gateway.k8s.aws", "kind": "LoadBalancerConfiguration", "name": "tls"}},
		"listeners":      []any{map[string]any{"name": "https", "protocol": "HTTPS", "port": int64(443)}}})); err != nil {
		t.Fatal(err)
	}
	eventually(t, policyTimeout, func() error { return k8sClient.Create(ctx, httpRoute(ns, "store", "web", "https", false)) })

	weak := config.DeepCopy()
	unstructured.RemoveNestedField(weak.Object, "spec", "listenerConfigurations")
	_ = unstructured.SetNestedSlice(weak.Object, []any{map[string]any{"protocolPort": "HTTPS:443", "defaultCertificate": lbtlsCertARN}},
		"spec", "listenerConfigurations")
	want := "eksguard [loadBalancerTLS] leaves 1 Gateway(s) plaintext or weak: " + ns + "/web (HTTPS:443: default policy"
	// The route must be in eksguard's cache for the Gateway to be built.
	eventually(t, policyTimeout, func() error {
		c, rec := newWarningClient(t)
		if err := c.Update(ctx, weak.DeepCopy(), client.DryRunAll); err != nil {
			return err
		}
		for _, w := range rec.Messages() {
			if strings.HasPrefix(w, want) {
				return nil
			}
		}
		return fmt.Errorf("warnings %q, want one starting %q", rec.Messages(), want)
	})
}
