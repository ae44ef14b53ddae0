package testbed

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/webhook/lbtls"
)

// The webhook reads the Gateway API objects from its informers: a test or
// the demo that creates a route right after its Gateway waits for the
// Gateway to be there, or the route is judged without it.

// GatewayAPIObject is a Gateway API object of kind (or the AWS Load
// Balancer Controller's LoadBalancerConfiguration) with spec.
func GatewayAPIObject(kind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	gvk := lbtls.GatewayKind.GVK.GroupVersion().WithKind(kind)
	if kind == lbtls.LoadBalancerConfigurationKinds[0].GVK.Kind {
		gvk = lbtls.LoadBalancerConfigurationKinds[0].GVK
	}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// WaitForGatewayCached waits until eksguard judges a dry-run HTTPRoute that
// forwards on the Gateway's listener section by the Gateway: it is denied.
func WaitForGatewayCached(ctx context.Context, c client.Client, namespace, gateway, section string, timeout time.Duration) error {
	probe := GatewayAPIObject(lbtls.HTTPRouteKind.GVK.Kind, namespace, "eksguard-cache-probe", map[string]any{
		"parentRefs": []any{map[string]any{"name": gateway, "sectionName": section}},
		"rules":      []any{map[string]any{"backendRefs": []any{map[string]any{"name": "probe", "port": int64(80)}}}},
	})
	return Eventually(timeout, func() error {
		if err := c.Create(ctx, probe.DeepCopy(), client.DryRunAll); !apierrors.IsForbidden(err) {
			return fmt.Errorf("a route forwarding on %s/%s section %s: %v, want a denial", namespace, gateway, section, err)
		}
		return nil
	})
}

// WaitForGatewayClassCached waits until eksguard judges a dry-run Gateway
// of the class with an HTTP listener by the class: it warns.
func WaitForGatewayClassCached(ctx context.Context, cfg *rest.Config, namespace, class string, timeout time.Duration) error {
	rec := &WarningRecorder{}
	wcfg := rest.CopyConfig(cfg)
	wcfg.WarningHandler = rec
	c, err := client.New(wcfg, client.Options{})
	if err != nil {
		return err
	}
	probe := GatewayAPIObject(lbtls.GatewayKind.GVK.Kind, namespace, "eksguard-cache-probe", map[string]any{"gatewayClassName": class,
		"listeners": []any{map[string]any{"name": "http", "protocol": "HTTP", "port": int64(80)}}})
	return Eventually(timeout, func() error {
		rec.Reset()
		if err := c.Create(ctx, probe.DeepCopy(), client.DryRunAll); err != nil {
			return err
		}
		if len(rec.Messages()) == 0 {
			return errors.New("GatewayClass " + class + " not seen by eksguard yet")
		}
		return nil
	})
}
