package lbtls

// The webhook's GatewayAPI: an informer per kind, run only while the API
// server serves it (the Gateway API and LBC CRDs may come and go), each
// keeping the typed objects of gateway_objects.go.

import (
	"context"
	"errors"

	toolscache "k8s.io/client-go/tools/cache"

	"github.com/eksguard/eksguard/internal/lib/served"
	"github.com/eksguard/eksguard/webhook/resource"
)

// Index names of GatewayStores.
const (
	indexGateway = "lbtls.gateway"
	indexParents = "lbtls.parents"
)

// GatewayStores implements GatewayAPI over the stores of served kinds.
type GatewayStores struct {
	classes, gateways, listenerSets *served.Store
	routes                          []*served.Store
	// configs are LoadBalancerConfigurations, v1 first.
	configs []*served.Store
}

var _ GatewayAPI = &GatewayStores{}

// NewGatewayStores makes the stores; watch their Targets.
func NewGatewayStores() *GatewayStores {
	store := func(k resource.Kind, indexers toolscache.Indexers) *served.Store {
		return served.NewStore(k.GVR(), k.GVK.Kind, gatewayTransform, indexers)
	}
	s := &GatewayStores{
		classes:  store(GatewayClassKind, nil),
		gateways: store(GatewayKind, nil),
		listenerSets: store(ListenerSetKind, toolscache.Indexers{indexGateway: func(obj any) ([]string, error) {
			if ls, ok := obj.(*ListenerSet); ok {
				return []string{ls.GatewayKey()}, nil
			}
			return nil, nil
		}}),
	}
	for _, k := range RouteKinds {
		s.routes = append(s.routes, store(k, toolscache.Indexers{indexParents: func(obj any) ([]string, error) {
			if r, ok := obj.(*Route); ok {
				return r.ParentKeys(), nil
			}
			return nil, nil
		}}))
	}
	for _, k := range LoadBalancerConfigurationKinds {
		s.configs = append(s.configs, store(k, nil))
	}
	return s
}

// Targets are the kinds to watch.
func (s *GatewayStores) Targets() []served.Target {
	out := []served.Target{s.classes.Target(), s.gateways.Target(), s.listenerSets.Target()}
	for _, st := range append(append([]*served.Store(nil), s.routes...), s.configs...) {
		out = append(out, st.Target())
	}
	return out
}

// get is the typed object under key, nil when none or not served.
func get[T any](store *served.Store, key string) (*T, error) {
	obj, found, err := store.Get(key)
	switch {
	case errors.Is(err, served.ErrNotServed):
		return nil, nil
	case err != nil || !found:
		return nil, err
	}
	t, _ := obj.(*T)
	return t, nil
}

// byIndex are the typed objects of an index value; none when not served.
func byIndex[T any](store *served.Store, index, value string) ([]*T, error) {
	objs, err := store.ByIndex(index, value)
	if errors.Is(err, served.ErrNotServed) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return typed[T](objs), nil
}

// typed are the objects of type *T among objs.
func typed[T any](objs []any) []*T {
	out := make([]*T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(*T); ok {
			out = append(out, t)
		}
	}
	return out
}

// GatewayClass implements GatewayAPI.
func (s *GatewayStores) GatewayClass(_ context.Context, name string) (*GatewayClass, error) {
	return get[GatewayClass](s.classes, name)
}

// Gateway implements GatewayAPI.
func (s *GatewayStores) Gateway(_ context.Context, key string) (*Gateway, error) {
	return get[Gateway](s.gateways, key)
}

// ListenerSet implements GatewayAPI.
func (s *GatewayStores) ListenerSet(_ context.Context, key string) (*ListenerSet, error) {
	return get[ListenerSet](s.listenerSets, key)
}

// ListenerSetsOf implements GatewayAPI.
func (s *GatewayStores) ListenerSetsOf(_ context.Context, gatewayKey string) ([]*ListenerSet, error) {
	return byIndex[ListenerSet](s.listenerSets, indexGateway, gatewayKey)
}

// RoutesOf implements GatewayAPI.
func (s *GatewayStores) RoutesOf(_ context.Context, parentKey string) ([]*Route, error) {
	var out []*Route
	for _, st := range s.routes {
		routes, err := byIndex[Route](st, indexParents, parentKey)
		if err != nil {
			return nil, err
		}
		out = append(out, routes...)
	}
	return out, nil
}

// LoadBalancerConfiguration implements GatewayAPI: the v1 object, else the
// v1beta1 one (an LBC before v3.5.0 serves only that).
func (s *GatewayStores) LoadBalancerConfiguration(_ context.Context, key string) (*LoadBalancerConfiguration, error) {
	for _, st := range s.configs {
		c, err := get[LoadBalancerConfiguration](st, key)
		if c != nil || err != nil {
			return c, err
		}
	}
	return nil, nil
}

// Gateways implements GatewayAPI.
func (s *GatewayStores) Gateways(context.Context) ([]*Gateway, error) {
	objs, err := s.gateways.List()
	if errors.Is(err, served.ErrNotServed) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return typed[Gateway](objs), nil
}
