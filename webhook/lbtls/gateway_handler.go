package lbtls

import (
	"context"
	"errors"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/decode"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/resource"
)

// What the three Gateway API handlers judge.
var (
	Gateways      = &admit.Spec{Rule: config.RuleLoadBalancerTLS, Kinds: []resource.Kind{GatewayKind}, Operations: resource.CreateUpdate, Modes: modes}
	ListenerSets  = &admit.Spec{Rule: config.RuleLoadBalancerTLS, Kinds: []resource.Kind{ListenerSetKind}, Operations: resource.CreateUpdate, Modes: modes}
	GatewayRoutes = &admit.Spec{Rule: config.RuleLoadBalancerTLS, Kinds: RouteKinds, Operations: resource.CreateUpdate, Modes: modes}
)

// GatewayAPI reads the Gateway API objects and the LBC's
// LoadBalancerConfigurations: the informers' stores in the webhook, the
// input in check. Each returns nil, and no error, for an object that does
// not exist or a kind that is not served.
type GatewayAPI interface {
	GatewayClass(ctx context.Context, name string) (*GatewayClass, error)
	Gateway(ctx context.Context, key string) (*Gateway, error)
	ListenerSet(ctx context.Context, key string) (*ListenerSet, error)
	// ListenerSetsOf are the ListenerSets whose parentRef names the Gateway key.
	ListenerSetsOf(ctx context.Context, gatewayKey string) ([]*ListenerSet, error)
	// RoutesOf are the routes of every kind with a parentRef to parentKey
	// ("Gateway/ns/name" or "ListenerSet/ns/name").
	RoutesOf(ctx context.Context, parentKey string) ([]*Route, error)
	LoadBalancerConfiguration(ctx context.Context, key string) (*LoadBalancerConfiguration, error)
	// Gateways are every Gateway.
	Gateways(ctx context.Context) ([]*Gateway, error)
}

// NewGatewayHandler judges Gateways of the LBC's classes with the
// ListenerSets and routes attached now.
func NewGatewayHandler(decider decision.Decider, api GatewayAPI) admit.Answerer {
	j := gatewayJudge{api: api}
	return newHandler(Gateways, decider, decodeAs[Gateway],
		func(g *Gateway) (*metav1.ObjectMeta, any) { return &g.ObjectMeta, g.Spec },
		func(ctx context.Context, r *admit.Review[Gateway]) decision.Answer {
			subject := GatewaySubject{Kind: GatewayKind.GVK.Kind, Key: r.Object.Namespace + "/" + r.Object.Name}
			return judgeOnGateways(ctx, r, j, []*Gateway{r.Object}, nil, nil, subject)
		})
}

// NewListenerSetHandler judges ListenerSets by the listeners they add to
// an LBC Gateway that accepts them.
func NewListenerSetHandler(decider decision.Decider, api GatewayAPI) admit.Answerer {
	j := gatewayJudge{api: api}
	return newHandler(ListenerSets, decider, decodeAs[ListenerSet],
		func(l *ListenerSet) (*metav1.ObjectMeta, any) { return &l.ObjectMeta, l.Spec },
		func(ctx context.Context, r *admit.Review[ListenerSet]) decision.Answer {
			gw, err := api.Gateway(ctx, r.Object.GatewayKey())
			if err != nil {
				return r.Undecided(ctx, err)
			}
			if gw == nil {
				return r.Respond(ctx)
			}
			subject := GatewaySubject{Kind: kindListenerSet, Key: r.Object.Namespace + "/" + r.Object.Name}
			return judgeOnGateways(ctx, r, j, []*Gateway{gw}, r.Object, nil, subject)
		})
}

// NewGatewayRouteHandler judges routes by the listeners they attach to on
// the LBC's Gateways, directly or through a ListenerSet.
func NewGatewayRouteHandler(decider decision.Decider, api GatewayAPI) admit.Answerer {
	j := gatewayJudge{api: api}
	return newHandler(GatewayRoutes, decider, DecodeRoute,
		func(r *Route) (*metav1.ObjectMeta, any) { return &r.ObjectMeta, r.Spec },
		func(ctx context.Context, r *admit.Review[Route]) decision.Answer {
			gateways, err := j.gatewaysOf(ctx, r.Object)
			if err != nil {
				return r.Undecided(ctx, err)
			}
			subject := GatewaySubject{Kind: r.Object.Kind, Key: r.Object.Namespace + "/" + r.Object.Name}
			return judgeOnGateways(ctx, r, j, gateways, nil, r.Object, subject)
		})
}

// decodeAs reads the fields of T the rule reads.
func decodeAs[T any](_ schema.GroupVersionKind, raw []byte) (*T, error) {
	return decode.Fields[T](raw)
}

// DecodeRoute reads a route of any of RouteKinds.
func DecodeRoute(gvk schema.GroupVersionKind, raw []byte) (*Route, error) {
	r, err := decode.Fields[Route](raw)
	if err != nil {
		return nil, err
	}
	r.Kind = gvk.Kind
	return r, nil
}

// judgeOnGateways judges subject on each Gateway of gateways that the LBC
// builds, with the reviewed ListenerSet or route in place of its stored
// version: findings in the rule's mode, forecasts as warnings.
func judgeOnGateways[T any](ctx context.Context, r *admit.Review[T], j gatewayJudge, gateways []*Gateway,
	ls *ListenerSet, route *Route, subject GatewaySubject) decision.Answer {
	settings := r.Policy.Config.Rules.LoadBalancerTLS
	var verdict GatewayVerdict
	judged := false
	for _, gw := range gateways {
		m, owner, notBuilt, err := j.model(ctx, r.Snapshot, gw, ls, route)
		if err != nil {
			return r.Undecided(ctx, err)
		}
		if owner == OwnerNone {
			continue
		}
		judged = true
		b, err := m.Build(settings)
		if err != nil {
			return r.Undecided(ctx, err)
		}
		if notBuilt != "" {
			b.NotBuilt = notBuilt
		}
		s := subject
		if route != nil {
			s.ParentRef = parentRefIndex(route, gw, m.ListenerSets)
		}
		key := gw.Namespace + "/" + gw.Name
		v := CheckGateway(key, owner, b, s, settings)
		verdict.Errs = append(verdict.Errs, v.Errs...)
		verdict.Warnings = append(verdict.Warnings, v.Warnings...)
		if v.SkippedInternal {
			logf.FromContext(ctx).V(1).Info("skipping internal load balancer", logkeys.Owner, owner)
		}
	}
	if !judged {
		return r.Respond(ctx)
	}
	d, err := r.Decide(ctx, any(r.Object).(decision.Object), config.RuleLoadBalancerTLS)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	rulings := []decision.Ruling{{Rule: config.RuleLoadBalancerTLS, Decision: d.For(settings.Mode), Errs: verdict.Errs}}
	if len(verdict.Warnings) > 0 {
		rulings = append(rulings, decision.Ruling{Rule: config.RuleLoadBalancerTLS,
			Decision: d.For(weaker(config.ModeWarn, settings.Mode)), Errs: verdict.Warnings})
	}
	return r.Respond(ctx, rulings...)
}

// parentRefIndex is the index of the route's first parentRef to gw or to
// one of its ListenerSets.
func parentRefIndex(r *Route, gw *Gateway, sets []*ListenerSet) int {
	for i, ref := range r.Spec.ParentRefs {
		key := r.parentKey(ref)
		if key == GatewayKind.GVK.Kind+"/"+gw.Namespace+"/"+gw.Name {
			return i
		}
		for _, ls := range sets {
			if key == kindListenerSet+"/"+ls.Namespace+"/"+ls.Name {
				return i
			}
		}
	}
	return 0
}

// gatewayJudge loads what the LBC reads for a Gateway.
type gatewayJudge struct{ api GatewayAPI }

// gatewaysOf are the Gateways a route names, directly or through a ListenerSet.
func (j gatewayJudge) gatewaysOf(ctx context.Context, r *Route) ([]*Gateway, error) {
	var out []*Gateway
	seen := map[string]bool{}
	for _, parent := range r.ParentKeys() {
		kind, key, _ := cutKind(parent)
		if kind == kindListenerSet {
			ls, err := j.api.ListenerSet(ctx, key)
			if err != nil {
				return nil, err
			}
			if ls == nil {
				continue
			}
			key = ls.GatewayKey()
		} else if kind != GatewayKind.GVK.Kind {
			continue
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		gw, err := j.api.Gateway(ctx, key)
		if err != nil {
			return nil, err
		}
		if gw != nil {
			out = append(out, gw)
		}
	}
	return out, nil
}

func cutKind(parentKey string) (kind, key string, ok bool) {
	for i := range parentKey {
		if parentKey[i] == '/' {
			return parentKey[:i], parentKey[i+1:], true
		}
	}
	return "", parentKey, false
}

// errNoConfig marks a LoadBalancerConfiguration that is missing.
var errNoConfig = errors.New("no such LoadBalancerConfiguration")

// model loads gw's class, configuration, ListenerSets and routes, with ls
// and route (may be nil) in place of their stored versions. owner is
// OwnerNone for a Gateway the LBC does not build; notBuilt says why the LBC
// builds nothing for one of its own (a class it does not accept, a missing
// configuration).
func (j gatewayJudge) model(ctx context.Context, ns namespaceLabels, gw *Gateway, ls *ListenerSet, route *Route) (
	m GatewayModel, owner Owner, notBuilt string, err error) {
	class, err := j.api.GatewayClass(ctx, gw.Spec.GatewayClassName)
	if err != nil {
		return m, OwnerNone, "", err
	}
	owner = GatewayOwnerOf(class)
	if owner == OwnerNone {
		return m, owner, "", nil
	}
	m = GatewayModel{Gateway: gw, Owner: owner, NamespaceLabels: func(namespace string) (labels.Set, error) {
		return ns.NamespaceLabels(ctx, namespace)
	}}
	var classConfig, gwConfig *LoadBalancerConfiguration
	if ref := class.Spec.ParametersRef; ref != nil {
		if ref.Namespace == nil || *ref.Namespace == "" {
			return m, owner, fmt.Sprintf("GatewayClass %s's parametersRef has no namespace, so the LBC does not accept the class", class.Name), nil
		}
		if classConfig, err = j.config(ctx, *ref.Namespace+"/"+ref.Name); err != nil {
			return m, owner, classNotBuilt(err, "GatewayClass "+class.Name), ignoreNoConfig(err)
		}
	}
	if infra := gw.Spec.Infrastructure; infra != nil && infra.ParametersRef != nil {
		if gwConfig, err = j.config(ctx, gw.Namespace+"/"+infra.ParametersRef.Name); err != nil {
			return m, owner, classNotBuilt(err, "the Gateway's infrastructure"), ignoreNoConfig(err)
		}
	}
	m.Config = MergeConfigs(classConfig, gwConfig)

	gwKey := gw.Namespace + "/" + gw.Name
	sets, err := j.api.ListenerSetsOf(ctx, gwKey)
	if err != nil {
		return m, owner, "", err
	}
	m.ListenerSets = replaceOrAdd(sets, ls, func(a *ListenerSet) string { return a.Namespace + "/" + a.Name },
		ls != nil && ls.GatewayKey() == gwKey)
	parents := []string{GatewayKind.GVK.Kind + "/" + gwKey}
	for _, s := range m.ListenerSets {
		parents = append(parents, kindListenerSet+"/"+s.Namespace+"/"+s.Name)
	}
	seen := map[string]bool{}
	for _, parent := range parents {
		routes, err := j.api.RoutesOf(ctx, parent)
		if err != nil {
			return m, owner, "", err
		}
		for _, r := range routes {
			if key := routeKey(r); !seen[key] {
				seen[key] = true
				m.Routes = append(m.Routes, r)
			}
		}
	}
	m.Routes = replaceOrAdd(m.Routes, route, routeKey, route != nil)
	return m, owner, "", nil
}

func routeKey(r *Route) string { return r.Kind + "/" + r.Namespace + "/" + r.Name }

// replaceOrAdd is items with obj in place of the item of its key, or
// added when add and there is none. items is not changed.
func replaceOrAdd[T any](items []*T, obj *T, key func(*T) string, add bool) []*T {
	if obj == nil {
		return items
	}
	out := slices.DeleteFunc(slices.Clone(items), func(t *T) bool { return key(t) == key(obj) })
	if add {
		out = append(out, obj)
	}
	return out
}

func (j gatewayJudge) config(ctx context.Context, key string) (*LoadBalancerConfiguration, error) {
	c, err := j.api.LoadBalancerConfiguration(ctx, key)
	if err == nil && c == nil {
		return nil, fmt.Errorf("%w %s", errNoConfig, key)
	}
	return c, err
}

func classNotBuilt(err error, whose string) string {
	if errors.Is(err, errNoConfig) {
		return fmt.Sprintf("%s names %v, which does not exist", whose, err)
	}
	return ""
}

func ignoreNoConfig(err error) error {
	if errors.Is(err, errNoConfig) {
		return nil
	}
	return err
}
