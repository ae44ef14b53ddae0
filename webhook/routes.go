package webhook

import (
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lazylog"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
	"github.com/eksguard/eksguard/webhook/resource"
	"github.com/eksguard/eksguard/webhook/seccomp"
)

// Route is one admission webhook eksguard serves. Routes is the single
// source of truth for what eksguard serves: the server registers it, the
// offline engine of check and audit runs it, the test bed's webhook
// configurations are built from it, and tests hold the chart's rendered
// configurations and the README's path table to it.
type Route struct {
	// Name is the webhook's name in its configuration.
	Name string
	Path string
	// Mutating routes go in the MutatingWebhookConfiguration; they always
	// fail open (a pod admitted without a mutation is only unmutated).
	Mutating bool
	// Rule is the eksguard rule whose mode sets the failure policy.
	Rule config.RuleName
	// WarnOnly routes never deny, whatever the mode: they fail open too.
	WarnOnly bool
	// Setting, when set, is the mode that decides the route's answers
	// (and so its failure policy) instead of the rule's mode.
	Setting    func(config.RuleSettings) config.Mode
	Kinds      []resource.Kind
	Operations []admissionregistrationv1.OperationType
	// MatchConditions cut the calls the API server makes.
	MatchConditions []admissionregistrationv1.MatchCondition
	// handler builds the route's admission handler.
	handler func(Handlers) admission.Handler
}

// Handlers are what the routes' handlers need.
type Handlers struct {
	Decider decision.Decider
	// Coverage is the NetworkPolicy coverage checker.
	Coverage *netpol.Checker
	// Ingresses reads the members of an ALB group (lbtls).
	Ingresses client.Reader
	// IngressClasses reads IngressClasses and IngressClassParams (lbtls).
	IngressClasses lbtls.Classes
}

// Webhook builds the route's admission webhook over h. Its request logger
// carries controller-runtime's fields, encoded only when a line is written.
func (r *Route) Webhook(h Handlers) *admission.Webhook {
	return &admission.Webhook{Handler: r.handler(h), LogConstructor: requestLogger}
}

func requestLogger(base logr.Logger, req *admission.Request) logr.Logger {
	return admission.DefaultLogConstructor(lazylog.Wrap(base), req)
}

// FailurePolicy is the failure policy the route's webhook entry should have
// under p: closed (enforcing, the operator's choice for enforcing rules,
// Fail by default) only when the route may deny, that is when its mode
// enforces and no dry run is on; open otherwise, so that a warn-only rule
// never blocks while eksguard is unreachable. Mutating and warn-only routes
// always fail open.
func (r *Route) FailurePolicy(p *config.Policy, enforcing admissionregistrationv1.FailurePolicyType) admissionregistrationv1.FailurePolicyType {
	if r.Mutating || r.WarnOnly || p.Config.DryRun || r.mode(p.Config.Rules) != config.ModeEnforce {
		return admissionregistrationv1.Ignore
	}
	return enforcing
}

// mode is the mode that decides the route's answers.
func (r *Route) mode(s config.RuleSettings) config.Mode {
	if r.Setting != nil {
		return r.Setting(s)
	}
	switch r.Rule {
	case config.RuleSeccomp:
		return s.Seccomp.Mode
	case config.RuleNetworkPolicy:
		return s.NetworkPolicy.Mode
	default:
		return s.LoadBalancerTLS.Mode
	}
}

// Rules are the route's webhook rules.
func (r *Route) Rules() []admissionregistrationv1.RuleWithOperations {
	return resource.Rules(r.Kinds, r.Operations...)
}

// Admits reports whether the route sees a CREATE of gvk.
func (r *Route) Admits(gvk schema.GroupVersionKind) bool {
	for _, op := range r.Operations {
		if op != admissionregistrationv1.Create {
			continue
		}
		for _, k := range r.Kinds {
			if k.GVK == gvk {
				return true
			}
		}
	}
	return false
}

var (
	podKind     = resource.Kind{GVK: corev1.SchemeGroupVersion.WithKind("Pod"), Resource: "pods", Namespaced: true}
	serviceKind = resource.Kind{GVK: corev1.SchemeGroupVersion.WithKind("Service"), Resource: "services", Namespaced: true}
	ingressKind = resource.Kind{GVK: networkingv1.SchemeGroupVersion.WithKind("Ingress"), Resource: "ingresses", Namespaced: true}
	// ephemeralContainersKind is the subresource through which kubectl debug adds containers.
	ephemeralContainersKind = resource.Kind{GVK: corev1.SchemeGroupVersion.WithKind("Pod"), Resource: "pods/ephemeralcontainers", Namespaced: true}

	createUpdate = []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
)

// Routes are every webhook eksguard serves, mutating first (the API server
// calls mutating webhooks before validating ones).
var Routes = []*Route{
	{
		Name: "seccomp.pods.eksguard.io", Path: seccomp.Path, Mutating: true, Rule: config.RuleSeccomp,
		Kinds: []resource.Kind{podKind}, Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		handler: func(h Handlers) admission.Handler { return seccomp.NewHandler(h.Decider) },
	},
	{
		Name: "networkpolicy.pods.eksguard.io", Path: netpol.PodPath, Rule: config.RuleNetworkPolicy,
		Kinds: []resource.Kind{podKind}, Operations: createUpdate,
		// Pod updates matter only when the labels change; the handler checks the same.
		MatchConditions: []admissionregistrationv1.MatchCondition{{
			Name:       "create-or-relabel",
			Expression: "request.operation != 'UPDATE' || object.metadata.?labels.orValue({}) != oldObject.metadata.?labels.orValue({})",
		}},
		handler: func(h Handlers) admission.Handler { return netpol.NewPodHandler(h.Coverage) },
	},
	{
		Name: "networkpolicy.workloads.eksguard.io", Path: netpol.WorkloadPath, Rule: config.RuleNetworkPolicy,
		Kinds: netpol.WorkloadKinds(), Operations: createUpdate,
		handler: func(h Handlers) admission.Handler { return netpol.NewWorkloadHandler(h.Coverage) },
	},
	{
		Name: "networkpolicy.networkpolicies.eksguard.io", Path: netpol.PolicyChangePath, Rule: config.RuleNetworkPolicy, WarnOnly: true,
		Kinds:      netpol.ResourceKinds(),
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update, admissionregistrationv1.Delete},
		handler:    func(h Handlers) admission.Handler { return netpol.NewPolicyChangeHandler(h.Coverage) },
	},
	{
		Name: "seccomp.ephemeralcontainers.eksguard.io", Path: seccomp.EphemeralContainersPath, Rule: config.RuleSeccomp,
		// The Unconfined setting decides its answers, and its failure policy.
		Setting: func(s config.RuleSettings) config.Mode { return s.Seccomp.Unconfined },
		Kinds:   []resource.Kind{ephemeralContainersKind}, Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
		handler: func(h Handlers) admission.Handler { return seccomp.NewEphemeralContainersHandler(h.Decider) },
	},
	{
		Name: "loadbalancertls.services.eksguard.io", Path: lbtls.ServicePath, Rule: config.RuleLoadBalancerTLS,
		Kinds: []resource.Kind{serviceKind}, Operations: createUpdate,
		// Only Services that can get an AWS load balancer: a ClusterIP
		// Service never waits on eksguard.
		MatchConditions: []admissionregistrationv1.MatchCondition{{
			Name: "load-balancer-services",
			Expression: "object.spec.type == 'LoadBalancer' || object.metadata.?annotations[?'" + lbtls.AnnotationLoadBalancerType +
				"'].orValue('') in ['external', 'nlb-ip']",
		}},
		handler: func(h Handlers) admission.Handler { return lbtls.NewServiceHandler(h.Decider) },
	},
	{
		Name: "loadbalancertls.ingresses.eksguard.io", Path: lbtls.IngressPath, Rule: config.RuleLoadBalancerTLS,
		Kinds: []resource.Kind{ingressKind}, Operations: createUpdate,
		handler: func(h Handlers) admission.Handler {
			return lbtls.NewIngressHandler(h.Decider, h.Ingresses, h.IngressClasses)
		},
	},
}

// PathTable is the README's table of webhook paths, rendered from Routes.
func PathTable() string {
	var b strings.Builder
	b.WriteString("| Path | Kind | Objects |\n| --- | --- | --- |\n")
	for _, r := range Routes {
		kind := "validating"
		switch {
		case r.Mutating:
			kind = "mutating"
		case r.WarnOnly:
			kind = "validating (warnings only)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Path, kind, r.objects())
	}
	return b.String()
}

// objects names the route's kinds and operations.
func (r *Route) objects() string {
	var kinds, ops []string
	seen := map[string]int{}
	for _, k := range r.Kinds {
		seen[k.GVK.Kind]++
	}
	for _, k := range r.Kinds {
		name := k.GVK.Kind
		if seen[name] > 1 {
			name += "." + k.GVK.Group // kinds that share a name
		}
		if _, sub, ok := strings.Cut(k.Resource, "/"); ok {
			name += " (" + sub + ")"
		}
		kinds = append(kinds, name)
	}
	for _, op := range r.Operations {
		ops = append(ops, string(op))
	}
	return strings.Join(kinds, ", ") + " " + strings.Join(ops, ", ")
}
