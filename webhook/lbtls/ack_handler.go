package lbtls

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

// ACKLoadBalancers reads ACK LoadBalancer objects: the informer's store in
// the webhook, the input in check.
type ACKLoadBalancers interface {
	// ACKLoadBalancer is the LoadBalancer under key (namespace/name); nil
	// when there is none, or its kind is not served.
	ACKLoadBalancer(ctx context.Context, key string) (*ACKLoadBalancer, error)
}

// NewACKListenerHandler judges ACK Listeners on CREATE and UPDATE (see
// unchanged), each with the LoadBalancer it references, read by lbs.
func NewACKListenerHandler(decider decision.Decider, lbs ACKLoadBalancers) admit.Answerer {
	return newHandler(ACKListeners, decider, DecodeACKListener,
		func(l *ACKListener) (*metav1.ObjectMeta, any) { meta := l.ObjectMeta(); return &meta, l.Spec },
		func(ctx context.Context, r *admit.Review[ACKListener]) decision.Answer {
			settings := r.Policy.Config.Rules.LoadBalancerTLS
			d, err := r.Decide(ctx, r.Object, config.RuleLoadBalancerTLS)
			if err != nil {
				return r.Undecided(ctx, err)
			}
			ruling := decision.Ruling{Rule: config.RuleLoadBalancerTLS, Decision: d.For(settings.Mode)}
			if ruling.Decision.Mode == config.ModeOff {
				return r.Respond(ctx, ruling)
			}
			var lb *ACKLoadBalancer
			if key := r.Object.LoadBalancerKey(); key != "" {
				if lb, err = lbs.ACKLoadBalancer(ctx, key); err != nil {
					return r.Undecided(ctx, err, ruling.Decision)
				}
			}
			result := CheckACKListener(r.Object, lb, settings)
			ruling.Errs = result.Errs
			if result.SkippedInternal {
				logf.FromContext(ctx).V(1).Info("skipping internal load balancer", logkeys.Owner, OwnerACK)
			}
			return r.Respond(ctx, ruling)
		})
}

// DecodeACKListener reads ACKListener, case-sensitively as the API server does.
func DecodeACKListener(_ schema.GroupVersionKind, raw []byte) (*ACKListener, error) {
	return decode.Fields[ACKListener](raw)
}

// ACKLoadBalancerStore reads ACK LoadBalancers from the informer a
// served.Watcher runs while the kind is served (Target).
type ACKLoadBalancerStore struct{ *served.Store }

// NewACKLoadBalancerStore is an ACKLoadBalancerStore; watch its Target.
func NewACKLoadBalancerStore() ACKLoadBalancerStore {
	return ACKLoadBalancerStore{served.NewStore(ACKLoadBalancerGVK.GroupVersion().WithResource("loadbalancers"),
		ACKLoadBalancerGVK.Kind, served.KeepSpec(ackLoadBalancerFields...), nil)}
}

// ACKLoadBalancer implements ACKLoadBalancers.
func (s ACKLoadBalancerStore) ACKLoadBalancer(_ context.Context, key string) (*ACKLoadBalancer, error) {
	obj, found, err := s.Get(key)
	switch {
	case errors.Is(err, served.ErrNotServed):
		return nil, nil
	case err != nil:
		return nil, err
	case !found:
		return nil, nil
	}
	return ACKLoadBalancerFrom(obj.(*unstructured.Unstructured))
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
