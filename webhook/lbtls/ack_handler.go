package lbtls

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/decode"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
	"github.com/eksguard/eksguard/internal/lib/served"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/resource"
)

// ACKListenerKind is the ACK Listener as the API server serves it.
var ACKListenerKind = resource.Kind{GVK: ACKListenerGVK, Resource: "listeners", Namespaced: true}

// ACKListeners is what the ACK Listener handler judges.
var ACKListeners = &admit.Spec{Rule: config.RuleLoadBalancerTLS, Kinds: []resource.Kind{ACKListenerKind},
	Operations: resource.CreateUpdate, Modes: modes}

// ACKRuleKind is the ACK Rule as the API server serves it.
var ACKRuleKind = resource.Kind{GVK: ACKRuleGVK, Resource: "rules", Namespaced: true}

// ACKRules is what the ACK Rule handler judges.
var ACKRules = &admit.Spec{Rule: config.RuleLoadBalancerTLS, Kinds: []resource.Kind{ACKRuleKind},
	Operations: resource.CreateUpdate, Modes: modes}

// ACKObjects reads ACK's elbv2 objects: the informers' stores in the
// webhook, the input in check. Each is nil, and no error, when there is
// none or its kind is not served.
type ACKObjects interface {
	// ACKLoadBalancer is the LoadBalancer under key (namespace/name).
	ACKLoadBalancer(ctx context.Context, key string) (*ACKLoadBalancer, error)
	// ACKListener is the Listener under key.
	ACKListener(ctx context.Context, key string) (*ACKListener, error)
	// ACKRulesOf are the Rules that reference the Listener under key.
	ACKRulesOf(ctx context.Context, listenerKey string) ([]*ACKRule, error)
}

// NewACKListenerHandler judges ACK Listeners on CREATE and UPDATE (see
// unchanged), each with the LoadBalancer and the Rules it has, read by objs.
func NewACKListenerHandler(decider decision.Decider, objs ACKObjects) admit.Answerer {
	return newHandler(ACKListeners, decider, DecodeACKListener,
		func(l *ACKListener) (*metav1.ObjectMeta, any) { return &l.ObjectMeta, l.Spec },
		func(ctx context.Context, r *admit.Review[ACKListener]) decision.Answer {
			return judgeACK(ctx, r, objs, r.Object, func(lb *ACKLoadBalancer) (Violations, error) {
				rules, err := objs.ACKRulesOf(ctx, r.Object.Namespace+"/"+r.Object.Name)
				if err != nil {
					return Violations{}, err
				}
				return CheckACKListener(r.Object, lb, rules, r.Policy.Config.Rules.LoadBalancerTLS), nil
			})
		})
}

// NewACKRuleHandler judges ACK Rules by the Listener they attach to.
func NewACKRuleHandler(decider decision.Decider, objs ACKObjects) admit.Answerer {
	return newHandler(ACKRules, decider, DecodeACKRule,
		func(r *ACKRule) (*metav1.ObjectMeta, any) { return &r.ObjectMeta, r.Spec },
		func(ctx context.Context, r *admit.Review[ACKRule]) decision.Answer {
			var listener *ACKListener
			if key := r.Object.ListenerKey(); key != "" {
				var err error
				if listener, err = objs.ACKListener(ctx, key); err != nil {
					return r.Undecided(ctx, err)
				}
			}
			if listener == nil {
				return r.Respond(ctx)
			}
			return judgeACK(ctx, r, objs, listener, func(lb *ACKLoadBalancer) (Violations, error) {
				return CheckACKRule(r.Object, listener, lb, r.Policy.Config.Rules.LoadBalancerTLS), nil
			})
		})
}

// judgeACK decides for the reviewed ACK object, reads the LoadBalancer of
// listener l, and answers what judge finds.
func judgeACK[T any](ctx context.Context, r *admit.Review[T], objs ACKObjects, l *ACKListener,
	judge func(*ACKLoadBalancer) (Violations, error)) decision.Answer {
	settings := r.Policy.Config.Rules.LoadBalancerTLS
	d, err := r.Decide(ctx, any(r.Object).(decision.Object), config.RuleLoadBalancerTLS)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	ruling := decision.Ruling{Rule: config.RuleLoadBalancerTLS, Decision: d.For(settings.Mode)}
	if ruling.Decision.Mode == config.ModeOff {
		return r.Respond(ctx, ruling)
	}
	var lb *ACKLoadBalancer
	if key := l.LoadBalancerKey(); key != "" {
		if lb, err = objs.ACKLoadBalancer(ctx, key); err != nil {
			return r.Undecided(ctx, err, ruling.Decision)
		}
	}
	result, err := judge(lb)
	if err != nil {
		return r.Undecided(ctx, err, ruling.Decision)
	}
	ruling.Errs = result.Errs
	if result.SkippedInternal {
		logf.FromContext(ctx).V(1).Info("skipping internal load balancer", logkeys.Owner, OwnerACK)
	}
	return r.Respond(ctx, ruling)
}

// DecodeACKRule reads ACKRule, case-sensitively as the API server does.
func DecodeACKRule(_ schema.GroupVersionKind, raw []byte) (*ACKRule, error) {
	return decode.Fields[ACKRule](raw)
}

// DecodeACKListener reads ACKListener, case-sensitively as the API server does.
func DecodeACKListener(_ schema.GroupVersionKind, raw []byte) (*ACKListener, error) {
	return decode.Fields[ACKListener](raw)
}

// indexListener indexes ACK Rules by the Listener they reference.
const indexListener = "lbtls.ackListener"

// ACKStores implements ACKObjects over the stores of ACK's kinds, each
// watched by a served.Watcher while served (Targets).
type ACKStores struct {
	loadBalancers, listeners, rules *served.Store
}

var _ ACKObjects = &ACKStores{}

// NewACKStores makes the stores; watch their Targets.
func NewACKStores() *ACKStores {
	gvr := func(gvk schema.GroupVersionKind, resource string) schema.GroupVersionResource {
		return gvk.GroupVersion().WithResource(resource)
	}
	return &ACKStores{
		loadBalancers: served.NewStore(gvr(ACKLoadBalancerGVK, "loadbalancers"), ACKLoadBalancerGVK.Kind,
			served.KeepSpec(ackLoadBalancerFields...), nil),
		listeners: served.NewStore(ACKListenerKind.GVR(), ACKListenerGVK.Kind, ackTransform[ACKListener], nil),
		rules: served.NewStore(ACKRuleKind.GVR(), ACKRuleGVK.Kind, ackTransform[ACKRule], toolscache.Indexers{
			indexListener: func(obj any) ([]string, error) {
				if r, ok := obj.(*ACKRule); ok && r.ListenerKey() != "" {
					return []string{r.ListenerKey()}, nil
				}
				return nil, nil
			}}),
	}
}

// ackTransform keeps the typed object instead of the unstructured one.
func ackTransform[T any](obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	raw, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	t, err := decode.Fields[T](raw)
	if err != nil {
		return nil, err
	}
	trimMeta(any(t).(metav1.Object))
	return t, nil
}

// Targets are the kinds to watch.
func (s *ACKStores) Targets() []served.Target {
	return []served.Target{s.loadBalancers.Target(), s.listeners.Target(), s.rules.Target()}
}

// ACKLoadBalancer implements ACKObjects.
func (s *ACKStores) ACKLoadBalancer(_ context.Context, key string) (*ACKLoadBalancer, error) {
	obj, found, err := s.loadBalancers.Get(key)
	switch {
	case errors.Is(err, served.ErrNotServed):
		return nil, nil
	case err != nil || !found:
		return nil, err
	}
	return ACKLoadBalancerFrom(obj.(*unstructured.Unstructured))
}

// ACKListener implements ACKObjects.
func (s *ACKStores) ACKListener(_ context.Context, key string) (*ACKListener, error) {
	return get[ACKListener](s.listeners, key)
}

// ACKRulesOf implements ACKObjects.
func (s *ACKStores) ACKRulesOf(_ context.Context, listenerKey string) ([]*ACKRule, error) {
	return byIndex[ACKRule](s.rules, indexListener, listenerKey)
}

// ACKLoadBalancerFrom reads an ACK LoadBalancer object.
func ACKLoadBalancerFrom(u *unstructured.Unstructured) (*ACKLoadBalancer, error) {
	lb := &ACKLoadBalancer{}
	if spec, ok := u.Object["spec"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec, lb); err != nil {
			return nil, fmt.Errorf("reading LoadBalancer %s/%s: %w", u.GetNamespace(), u.GetName(), err)
		}
	}
	return lb, nil
}
