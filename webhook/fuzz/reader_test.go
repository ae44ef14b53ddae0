package fuzz

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/webhook/lbtls"
)

// unreachable is an API server that answers no read.
type unreachable struct{}

var errUnreachable = errors.New("the API server is unreachable")

func (unreachable) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errUnreachable
}

func (unreachable) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errUnreachable
}

func (unreachable) IngressClasses(context.Context) (lbtls.IngressClasses, error) {
	return lbtls.IngressClasses{}, errUnreachable
}

func (unreachable) ClassParams(context.Context, schema.GroupVersionKind, string) (*lbtls.ClassParams, error) {
	return nil, errUnreachable
}

func (unreachable) ACKLoadBalancer(context.Context, string) (*lbtls.ACKLoadBalancer, error) {
	return nil, errUnreachable
}

func (unreachable) GatewayClass(context.Context, string) (*lbtls.GatewayClass, error) {
	return nil, errUnreachable
}

func (unreachable) Gateway(context.Context, string) (*lbtls.Gateway, error) {
	return nil, errUnreachable
}

func (unreachable) ListenerSet(context.Context, string) (*lbtls.ListenerSet, error) {
	return nil, errUnreachable
}

func (unreachable) ListenerSetsOf(context.Context, string) ([]*lbtls.ListenerSet, error) {
	return nil, errUnreachable
}

func (unreachable) RoutesOf(context.Context, string) ([]*lbtls.Route, error) {
	return nil, errUnreachable
}

func (unreachable) LoadBalancerConfiguration(context.Context, string) (*lbtls.LoadBalancerConfiguration, error) {
	return nil, errUnreachable
}

func (unreachable) Gateways(context.Context) ([]*lbtls.Gateway, error) { return nil, errUnreachable }

func (unreachable) ACKListener(context.Context, string) (*lbtls.ACKListener, error) {
	return nil, errUnreachable
}

func (unreachable) ACKRulesOf(context.Context, string) ([]*lbtls.ACKRule, error) {
	return nil, errUnreachable
}
