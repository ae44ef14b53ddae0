package offline

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/eksguard/eksguard/webhook/lbtls"
)

// gatewayObjects are the input's Gateway API objects and the LBC's
// LoadBalancerConfigurations, for lbtls.GatewayAPI.
type gatewayObjects struct {
	classes      map[string]*lbtls.GatewayClass
	gateways     map[string]*lbtls.Gateway
	listenerSets map[string]*lbtls.ListenerSet
	routes       []*lbtls.Route
	configs      map[string]*lbtls.LoadBalancerConfiguration
}

var _ lbtls.GatewayAPI = &Store{}

// AddGatewayObject records a Gateway API object or a
// LoadBalancerConfiguration; other kinds are an error.
func (s *Store) AddGatewayObject(u *unstructured.Unstructured) error {
	obj, err := lbtls.GatewayObjectFrom(u)
	if err != nil {
		return err
	}
	g := &s.gatewayObjects
	if g.classes == nil {
		*g = gatewayObjects{classes: map[string]*lbtls.GatewayClass{}, gateways: map[string]*lbtls.Gateway{},
			listenerSets: map[string]*lbtls.ListenerSet{}, configs: map[string]*lbtls.LoadBalancerConfiguration{}}
	}
	key := obj.GetNamespace() + "/" + obj.GetName()
	switch o := obj.(type) {
	case *lbtls.GatewayClass:
		g.classes[o.Name] = o
	case *lbtls.Gateway:
		g.gateways[key] = o
	case *lbtls.ListenerSet:
		g.listenerSets[key] = o
	case *lbtls.Route:
		g.routes = append(g.routes, o)
	case *lbtls.LoadBalancerConfiguration:
		g.configs[key] = o
	}
	return nil
}

// GatewayClass implements lbtls.GatewayAPI.
func (s *Store) GatewayClass(_ context.Context, name string) (*lbtls.GatewayClass, error) {
	return s.gatewayObjects.classes[name], nil
}

// Gateway implements lbtls.GatewayAPI.
func (s *Store) Gateway(_ context.Context, key string) (*lbtls.Gateway, error) {
	return s.gatewayObjects.gateways[key], nil
}

// ListenerSet implements lbtls.GatewayAPI.
func (s *Store) ListenerSet(_ context.Context, key string) (*lbtls.ListenerSet, error) {
	return s.gatewayObjects.listenerSets[key], nil
}

// ListenerSetsOf implements lbtls.GatewayAPI.
func (s *Store) ListenerSetsOf(_ context.Context, gatewayKey string) ([]*lbtls.ListenerSet, error) {
	var out []*lbtls.ListenerSet
	for _, ls := range s.gatewayObjects.listenerSets {
		if ls.GatewayKey() == gatewayKey {
			out = append(out, ls)
		}
	}
	return out, nil
}

// RoutesOf implements lbtls.GatewayAPI.
func (s *Store) RoutesOf(_ context.Context, parentKey string) ([]*lbtls.Route, error) {
	var out []*lbtls.Route
	for _, r := range s.gatewayObjects.routes {
		for _, p := range r.ParentKeys() {
			if p == parentKey {
				out = append(out, r)
				break
			}
		}
	}
	return out, nil
}

// LoadBalancerConfiguration implements lbtls.GatewayAPI.
func (s *Store) LoadBalancerConfiguration(_ context.Context, key string) (*lbtls.LoadBalancerConfiguration, error) {
	return s.gatewayObjects.configs[key], nil
}

// Gateways implements lbtls.GatewayAPI.
func (s *Store) Gateways(context.Context) ([]*lbtls.Gateway, error) {
	out := make([]*lbtls.Gateway, 0, len(s.gatewayObjects.gateways))
	for _, g := range s.gatewayObjects.gateways {
		out = append(out, g)
	}
	return out, nil
}
