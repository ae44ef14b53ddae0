package webhook

import (
	"fmt"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/lazylog"
	"github.com/eksguard/eksguard/webhook/admit"
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
// configurations and the README's path table to it. Its Spec (rule, kinds,
// operations, the modes that can make it deny) is declared once, by the
// rule package beside the handler: the handler, the failure policy below
// and Undecided all read that one value.
type Route struct {
	// Name is the webhook's name in its configuration.
	Name string
	Path string
	// Mutating routes go in the MutatingWebhookConfiguration; they always
	// fail open (a pod admitted without a mutation is only unmutated).
	Mutating bool
	// Spec is the rule package's declaration of what the route judges.
	*admit.Spec
	// MatchConditions cut the calls the API server makes.
	MatchConditions []admissionregistrationv1.MatchCondition
	// handler builds the route's admission handler, which reads Spec.
	handler func(Handlers) admit.Answerer
}

// Handlers are what the routes' handlers need.
type Handlers struct {
	Decider decision.Decider
	// Coverage is the NetworkPolicy coverage checker.
	Coverage *netpol.Checker
	// Ingresses reads the members of an ALB group (lbtls) from the cache;
	// LiveIngresses from the API server, to confirm a denial (nil: never).
	Ingresses, LiveIngresses client.Reader
	// IngressClasses reads IngressClasses and IngressClassParams (lbtls).
	IngressClasses lbtls.Classes
	// ACK reads ACK's elbv2 objects (lbtls).
	ACK lbtls.ACKObjects
	// Gateways reads the Gateway API objects (lbtls).
	Gateways lbtls.GatewayAPI
}

// Handler builds the route's handler over h.
func (r *Route) Handler(h Handlers) admit.Answerer { return r.handler(h) }

// Webhook builds the route's admission webhook over h. Its request logger
// carries controller-runtime's fields, encoded only when a line is written.
func (r *Route) Webhook(h Handlers) *admission.Webhook {
	return &admission.Webhook{Handler: r.Handler(h), LogConstructor: requestLogger}
}

func requestLogger(base logr.Logger, req *admission.Request) logr.Logger {
	return admission.DefaultLogConstructor(lazylog.Wrap(base), req)
}

// FailurePolicy is the failure policy the route's webhook entry should have
// under p: closed (enforcing, the operator's choice for enforcing rules,
// Fail by default) only when the route may deny (Spec.MayDeny: one of its
// modes enforces and no dry run is on); open otherwise, so that a warn-only
// rule never blocks while eksguard is unreachable. Mutating routes always
// fail open.
func (r *Route) FailurePolicy(p *config.Policy, enforcing admissionregistrationv1.FailurePolicyType) admissionregistrationv1.FailurePolicyType {
	if r.Mutating || !r.MayDeny(p) {
		return admissionregistrationv1.Ignore
	}
	return enforcing
}

// Rules are the route's webhook rules.
func (r *Route) Rules() []admissionregistrationv1.RuleWithOperations {
	return resource.Rules(r.Kinds, r.Operations...)
}

// Which pods the seccomp entries are called for: the mutation only those it
// can patch (seccomp.PatchableConditions), and the final check finds
// something only without a pod-level profile or where one is Unconfined
// (seccomp.Check). Pods that already have a profile (one the admission
// policy or another webhook set first) never leave the API server, and an
// eksguard outage cannot block them under enforce.
var (
	seccompToJudge = admissionregistrationv1.MatchCondition{
		Name: "seccomp-missing-or-unconfined",
		Expression: "object.spec.?securityContext.?seccompProfile.?type.orValue('Unconfined') == 'Unconfined' || " +
			"object.spec.containers.exists(c, c.?securityContext.?seccompProfile.?type.orValue('') == 'Unconfined') || " +
			"object.spec.?initContainers.orValue([]).exists(c, c.?securityContext.?seccompProfile.?type.orValue('') == 'Unconfined') || " +
			"object.spec.?ephemeralContainers.orValue([]).exists(c, c.?securityContext.?seccompProfile.?type.orValue('') == 'Unconfined')",
	}
)

// SeccompPods mutates pods without a seccomp profile.
var SeccompPods = &Route{
	Name: "seccomp.pods.eksguard.io", Path: "/mutate-v1-pod-seccomp", Mutating: true,
	Spec:            seccomp.Pods,
	MatchConditions: seccomp.PatchableConditions,
	handler:         func(h Handlers) admit.Answerer { return seccomp.NewHandler(h.Decider) },
}

// SeccompFinalPods judges the seccomp profiles of the pod as admitted.
var SeccompFinalPods = &Route{
	Name: "seccomp.final-pods.eksguard.io", Path: "/validate-v1-pod-seccomp",
	Spec:            seccomp.FinalPods,
	MatchConditions: []admissionregistrationv1.MatchCondition{seccompToJudge},
	handler:         func(h Handlers) admit.Answerer { return seccomp.NewFinalHandler(h.Decider) },
}

// NetworkPolicyPods denies pods no policy isolates.
var NetworkPolicyPods = &Route{
	Name: "networkpolicy.pods.eksguard.io", Path: "/validate-v1-pod-networkpolicy",
	Spec: netpol.Pods,
	// Pod updates matter only when the labels change, through pods/status
	// too (the kubelet's status writes never reach eksguard); the handler
	// checks the same.
	MatchConditions: []admissionregistrationv1.MatchCondition{{
		Name:       "create-or-relabel",
		Expression: "request.operation != 'UPDATE' || object.metadata.?labels.orValue({}) != oldObject.metadata.?labels.orValue({})",
	}},
	handler: func(h Handlers) admit.Answerer { return netpol.NewPodHandler(h.Coverage) },
}

// NetworkPolicyWorkloads denies workloads whose pod template no policy isolates.
var NetworkPolicyWorkloads = &Route{
	Name: "networkpolicy.workloads.eksguard.io", Path: "/validate-workload-networkpolicy",
	Spec:    netpol.Workloads,
	handler: func(h Handlers) admit.Answerer { return netpol.NewWorkloadHandler(h.Coverage) },
}

// NetworkPolicyChanges warns about policy changes that uncover running pods.
var NetworkPolicyChanges = &Route{
	// Warnings only (no Modes): a policy change must never be blocked.
	Name: "networkpolicy.networkpolicies.eksguard.io", Path: "/validate-policy-change",
	Spec:    netpol.PolicyChanges,
	handler: func(h Handlers) admit.Answerer { return netpol.NewPolicyChangeHandler(h.Coverage) },
}

// SeccompEphemeralContainers judges ephemeral containers added to running pods.
var SeccompEphemeralContainers = &Route{
	// The Unconfined setting decides its answers, and its failure policy.
	Name: "seccomp.ephemeralcontainers.eksguard.io", Path: "/validate-v1-pod-ephemeralcontainers-seccomp",
	Spec: seccomp.EphemeralContainers,
	handler: func(h Handlers) admit.Answerer {
		return seccomp.NewEphemeralContainersHandler(h.Decider)
	},
}

// LoadBalancerTLSServices denies Services that would get a plaintext or weak-TLS listener.
var LoadBalancerTLSServices = &Route{
	Name: "loadbalancertls.services.eksguard.io", Path: "/validate-v1-service-lbtls",
	Spec: lbtls.Services,
	// Only Services that can get an AWS load balancer: a ClusterIP
	// Service never waits on eksguard.
	MatchConditions: []admissionregistrationv1.MatchCondition{{
		Name: "load-balancer-services",
		Expression: "object.spec.type == 'LoadBalancer' || object.metadata.?annotations[?'" + lbtls.AnnotationLoadBalancerType +
			"'].orValue('') in ['external', 'nlb-ip']",
	}, statusAnnotationsChanged},
	handler: func(h Handlers) admit.Answerer { return lbtls.NewServiceHandler(h.Decider) },
}

// LoadBalancerTLSIngresses denies ALB Ingresses that would get a plaintext or weak-TLS listener.
var LoadBalancerTLSIngresses = &Route{
	Name: "loadbalancertls.ingresses.eksguard.io", Path: "/validate-networking-v1-ingress-lbtls",
	Spec: lbtls.Ingresses,
	// The LBC's status writes (the load balancer's address) stay out.
	MatchConditions: []admissionregistrationv1.MatchCondition{statusAnnotationsChanged},
	handler: func(h Handlers) admit.Answerer {
		return lbtls.NewIngressHandler(h.Decider, h.Ingresses, h.LiveIngresses, h.IngressClasses)
	},
}

// LoadBalancerTLSACKListeners denies ELB listeners made through ACK that
// would be plaintext or weak TLS.
var LoadBalancerTLSACKListeners = &Route{
	Name: "loadbalancertls.acklisteners.eksguard.io", Path: "/validate-ack-elbv2-listener-lbtls",
	Spec: lbtls.ACKListeners,
	handler: func(h Handlers) admit.Answerer {
		return lbtls.NewACKListenerHandler(h.Decider, h.ACK)
	},
}

// LoadBalancerTLSACKRules denies ACK listener Rules that would forward over
// a plaintext listener.
var LoadBalancerTLSACKRules = &Route{
	Name: "loadbalancertls.ackrules.eksguard.io", Path: "/validate-ack-elbv2-rule-lbtls",
	Spec:    lbtls.ACKRules,
	handler: func(h Handlers) admit.Answerer { return lbtls.NewACKRuleHandler(h.Decider, h.ACK) },
}

// LoadBalancerTLSGateways denies Gateways of the AWS Load Balancer
// Controller's classes that would get a plaintext or weak-TLS listener.
var LoadBalancerTLSGateways = &Route{
	Name: "loadbalancertls.gateways.eksguard.io", Path: "/validate-gateway-lbtls",
	Spec:    lbtls.Gateways,
	handler: func(h Handlers) admit.Answerer { return lbtls.NewGatewayHandler(h.Decider, h.Gateways) },
}

// LoadBalancerTLSListenerSets judges the listeners ListenerSets add to
// such Gateways.
var LoadBalancerTLSListenerSets = &Route{
	Name: "loadbalancertls.listenersets.eksguard.io", Path: "/validate-listenerset-lbtls",
	Spec:    lbtls.ListenerSets,
	handler: func(h Handlers) admit.Answerer { return lbtls.NewListenerSetHandler(h.Decider, h.Gateways) },
}

// LoadBalancerTLSGatewayRoutes denies routes that would forward over a
// plaintext listener of such Gateways, or bring a weak-TLS one into use.
var LoadBalancerTLSGatewayRoutes = &Route{
	Name: "loadbalancertls.gatewayroutes.eksguard.io", Path: "/validate-gateway-route-lbtls",
	Spec:    lbtls.GatewayRoutes,
	handler: func(h Handlers) admit.Answerer { return lbtls.NewGatewayRouteHandler(h.Decider, h.Gateways) },
}

// LoadBalancerTLSGatewayConfigChanges warns about GatewayClass and
// LoadBalancerConfiguration changes that leave running Gateways plaintext
// or weak.
var LoadBalancerTLSGatewayConfigChanges = &Route{
	// Warnings only (no Modes): a configuration change must never be blocked.
	Name: "loadbalancertls.gatewayconfigs.eksguard.io", Path: "/validate-gateway-config-change",
	Spec:    lbtls.GatewayConfigChanges,
	handler: func(h Handlers) admit.Answerer { return lbtls.NewGatewayConfigChangeHandler(h.Decider, h.Gateways) },
}

// Routes are every webhook eksguard serves, mutating first (the API server
// calls mutating webhooks before validating ones).
var Routes = []*Route{
	SeccompPods, SeccompFinalPods, NetworkPolicyPods, NetworkPolicyWorkloads, NetworkPolicyChanges,
	SeccompEphemeralContainers, LoadBalancerTLSServices, LoadBalancerTLSIngresses, LoadBalancerTLSACKListeners, LoadBalancerTLSACKRules,
	LoadBalancerTLSGateways, LoadBalancerTLSListenerSets, LoadBalancerTLSGatewayRoutes, LoadBalancerTLSGatewayConfigChanges,
}

// CreatedResources maps each kind a route admits on CREATE to its
// resource, as admission requests name it: what the offline engine can judge.
func CreatedResources() map[schema.GroupVersionKind]string {
	out := map[schema.GroupVersionKind]string{}
	for _, r := range Routes {
		for _, k := range r.Kinds {
			if r.Admits(k.GVK) && !k.Subresource() {
				out[k.GVK] = k.Resource
			}
		}
	}
	return out
}

// statusAnnotationsChanged lets a status subresource UPDATE through to the
// webhook only when it changes annotations: the controllers' own status
// writes never leave the API server.
var statusAnnotationsChanged = admissionregistrationv1.MatchCondition{
	Name:       "status-changes-annotations",
	Expression: "request.?subResource.orValue('') != 'status' || object.metadata.?annotations.orValue({}) != oldObject.metadata.?annotations.orValue({})",
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
		case r.WarnOnly():
			kind = "validating (warnings only)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Path, kind, r.objects())
	}
	return b.String()
}

// objects names the route's kinds and operations.
func (r *Route) objects() string {
	var kinds, ops []string
	groups := map[string]map[string]bool{}
	for _, k := range r.Kinds {
		if groups[k.GVK.Kind] == nil {
			groups[k.GVK.Kind] = map[string]bool{}
		}
		groups[k.GVK.Kind][k.GVK.Group] = true
	}
	for _, k := range r.Kinds {
		name := k.GVK.Kind
		if len(groups[name]) > 1 {
			name += "." + k.GVK.Group // kinds that share a name
		}
		if _, sub, ok := strings.Cut(k.Resource, "/"); ok {
			name += " (" + sub + ")"
		}
		if !slices.Contains(kinds, name) { // one kind at several versions
			kinds = append(kinds, name)
		}
	}
	for _, op := range r.Operations {
		ops = append(ops, string(op))
	}
	return strings.Join(kinds, ", ") + " " + strings.Join(ops, ", ")
}
