package lbtls

// A change to a GatewayClass or a LoadBalancerConfiguration that makes
// running Gateways plaintext or weak is warned about, naming them, as a
// policy change that uncovers pods is: it is never denied (an operator
// fixing something else must not be stopped), and it is judged against the
// routes attached now.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/decode"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/resource"
)

// GatewayConfigChanges is what the change handler judges: warnings only
// (no Modes), on UPDATE.
var GatewayConfigChanges = &admit.Spec{Rule: config.RuleLoadBalancerTLS,
	Kinds: append([]resource.Kind{GatewayClassKind}, LoadBalancerConfigurationKinds...), Operations: resource.Update}

// gatewayConfig is a GatewayClass or a LoadBalancerConfiguration under review.
type gatewayConfig struct {
	metav1.ObjectMeta
	class  *GatewayClass
	config *LoadBalancerConfiguration
}

func decodeGatewayConfig(gvk schema.GroupVersionKind, raw []byte) (*gatewayConfig, error) {
	if gvk == GatewayClassKind.GVK {
		c, err := decode.Fields[GatewayClass](raw)
		if err != nil {
			return nil, err
		}
		return &gatewayConfig{ObjectMeta: c.ObjectMeta, class: c}, nil
	}
	c, err := decode.Fields[LoadBalancerConfiguration](raw)
	if err != nil {
		return nil, err
	}
	return &gatewayConfig{ObjectMeta: c.ObjectMeta, config: c}, nil
}

// NewGatewayConfigChangeHandler warns about GatewayClass and
// LoadBalancerConfiguration updates that make running Gateways plaintext or weak.
func NewGatewayConfigChangeHandler(decider decision.Decider, api GatewayAPI) admit.Answerer {
	return newHandler(GatewayConfigChanges, decider, decodeGatewayConfig,
		func(c *gatewayConfig) (*metav1.ObjectMeta, any) {
			if c.class != nil {
				return &c.ObjectMeta, c.class.Spec
			}
			return &c.ObjectMeta, c.config.Spec
		},
		func(ctx context.Context, r *admit.Review[gatewayConfig]) decision.Answer {
			return judgeConfigChange(ctx, r, api)
		})
}

func judgeConfigChange(ctx context.Context, r *admit.Review[gatewayConfig], api GatewayAPI) decision.Answer {
	settings := r.Policy.Config.Rules.LoadBalancerTLS
	d, err := r.Decide(ctx, &r.Object.ObjectMeta, config.RuleLoadBalancerTLS)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	ruling := decision.Ruling{Rule: config.RuleLoadBalancerTLS, Decision: d.For(weaker(config.ModeWarn, settings.Mode))}
	if ruling.Decision.Mode == config.ModeOff {
		return r.Respond(ctx, ruling)
	}
	gateways, err := api.Gateways(ctx)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	changed := overlayAPI{GatewayAPI: api, class: r.Object.class, config: r.Object.config}
	var weakened []string
	for _, gw := range gateways {
		if !r.Object.concerns(ctx, api, gw) {
			continue
		}
		before, err := gatewayFindings(ctx, r.Snapshot, api, gw, settings)
		if err != nil {
			return r.Undecided(ctx, err)
		}
		after, err := gatewayFindings(ctx, r.Snapshot, changed, gw, settings)
		if err != nil {
			return r.Undecided(ctx, err)
		}
		if added := after.Difference(before); added.Len() > 0 {
			weakened = append(weakened, fmt.Sprintf("%s/%s (%s)", gw.Namespace, gw.Name, strings.Join(sets.List(added), "; ")))
		}
	}
	if len(weakened) > 0 {
		slices.Sort(weakened)
		ruling.Errs = field.ErrorList{field.Forbidden(nil, fmt.Sprintf("leaves %d Gateway(s) plaintext or weak: %s",
			len(weakened), summarize(weakened, "", "")))}
	}
	return r.Respond(ctx, ruling)
}

// concerns reports a Gateway the reviewed class or configuration applies to.
func (c *gatewayConfig) concerns(ctx context.Context, api GatewayAPI, gw *Gateway) bool {
	if c.class != nil {
		return gw.Spec.GatewayClassName == c.Name
	}
	if infra := gw.Spec.Infrastructure; infra != nil && infra.ParametersRef != nil &&
		gw.Namespace == c.Namespace && infra.ParametersRef.Name == c.Name {
		return true
	}
	class, err := api.GatewayClass(ctx, gw.Spec.GatewayClassName)
	if err != nil || class == nil || class.Spec.ParametersRef == nil || class.Spec.ParametersRef.Namespace == nil {
		return false
	}
	return *class.Spec.ParametersRef.Namespace == c.Namespace && class.Spec.ParametersRef.Name == c.Name
}

// gatewayFindings are the details of what the rule finds on gw's own
// listeners when api is the cluster.
func gatewayFindings(ctx context.Context, ns namespaceLabels, api GatewayAPI, gw *Gateway, settings config.LoadBalancerTLSSettings) (sets.Set[string], error) {
	out := sets.New[string]()
	m, owner, notBuilt, err := gatewayJudge{api: api}.model(ctx, ns, gw, nil, nil)
	if err != nil || owner == OwnerNone || notBuilt != "" {
		return out, err
	}
	b, err := m.Build(settings)
	if err != nil {
		return out, err
	}
	for _, e := range CheckGateway(gw.Namespace+"/"+gw.Name, owner, b, GatewaySubject{Kind: GatewayKind.GVK.Kind}, settings).Errs {
		out.Insert(e.Detail)
	}
	return out, nil
}

// overlayAPI is api with a changed GatewayClass or LoadBalancerConfiguration.
type overlayAPI struct {
	GatewayAPI
	class  *GatewayClass
	config *LoadBalancerConfiguration
}

func (o overlayAPI) GatewayClass(ctx context.Context, name string) (*GatewayClass, error) {
	if o.class != nil && o.class.Name == name {
		return o.class, nil
	}
	return o.GatewayAPI.GatewayClass(ctx, name)
}

func (o overlayAPI) LoadBalancerConfiguration(ctx context.Context, key string) (*LoadBalancerConfiguration, error) {
	if o.config != nil && o.config.Namespace+"/"+o.config.Name == key {
		return o.config, nil
	}
	return o.GatewayAPI.LoadBalancerConfiguration(ctx, key)
}
