package lbtls

// ACK elbv2 Listeners: ELB listeners made directly through AWS Controllers
// for Kubernetes (aws-controllers-k8s/elbv2-controller, an EKS managed
// capability), with no Service, Ingress or Gateway involved. The fields are
// those of its CRDs (apis/v1alpha1/listener.go, load_balancer.go, read at
// v1.6.1): the controller passes them to the ELBv2 API as they are.

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/config"
)

// ACK's elbv2 kinds eksguard reads.
var (
	ACKListenerGVK     = schema.GroupVersionKind{Group: "elbv2.services.k8s.aws", Version: "v1alpha1", Kind: "Listener"}
	ACKLoadBalancerGVK = schema.GroupVersionKind{Group: "elbv2.services.k8s.aws", Version: "v1alpha1", Kind: "LoadBalancer"}
)

// OwnerACK: the ACK elbv2 controller makes the listener as its object says.
const OwnerACK Owner = "ACK elbv2 controller"

// ACKListener is the part of an ACK Listener the rule reads.
type ACKListener struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              ACKListenerSpec `json:"spec"`
}

// ACKListenerSpec is the part of the Listener's spec the rule reads.
type ACKListenerSpec struct {
	Protocol       *string     `json:"protocol,omitempty"`
	Port           *int64      `json:"port,omitempty"`
	SSLPolicy      *string     `json:"sslPolicy,omitempty"`
	Certificates   []ackCert   `json:"certificates,omitempty"`
	DefaultActions []ackAction `json:"defaultActions,omitempty"`
	// Exactly one of LoadBalancerARN and LoadBalancerRef names the load
	// balancer (the controller refuses both or neither).
	LoadBalancerARN *string `json:"loadBalancerARN,omitempty"`
	LoadBalancerRef *ackRef `json:"loadBalancerRef,omitempty"`
}

type ackCert struct {
	CertificateARN *string `json:"certificateARN,omitempty"`
}

type ackAction struct {
	Type           *string            `json:"type,omitempty"`
	RedirectConfig *ackRedirectConfig `json:"redirectConfig,omitempty"`
}

// ELBv2 action types (the API's ActionTypeEnum).
const (
	ackActionForward  = "forward"
	ackActionRedirect = "redirect"
)

// plainActions says what a list of actions on an HTTP listener serves in
// plaintext: "forwards" when one forwards to targets (authenticate actions
// come before a forward), "redirects to HTTP" when one redirects without
// switching to HTTPS, "" when it only redirects to HTTPS or answers a fixed
// response, which serve nothing of the targets.
func plainActions(actions []ackAction) string {
	for _, a := range actions {
		if a.Type == nil {
			continue
		}
		switch *a.Type {
		case ackActionForward:
			return "forwards"
		case ackActionRedirect:
			if a.RedirectConfig == nil || a.RedirectConfig.Protocol == nil || !strings.EqualFold(*a.RedirectConfig.Protocol, ProtocolHTTPS) {
				return "redirects to HTTP"
			}
		}
	}
	return ""
}

type ackRedirectConfig struct {
	Protocol *string `json:"protocol,omitempty"`
	Port     *string `json:"port,omitempty"`
}

type ackRef struct {
	From *struct {
		Name      *string `json:"name,omitempty"`
		Namespace *string `json:"namespace,omitempty"`
	} `json:"from,omitempty"`
}

// LoadBalancerKey is the namespace/name of the LoadBalancer object the
// listener references, "" when it names its load balancer by ARN. A
// reference without a namespace is to the listener's own namespace
// (ResolveReferencesForListener; another namespace needs the controller's
// --enable-cross-namespace, on by default).
func (l *ACKListener) LoadBalancerKey() string { return refKey(l.Spec.LoadBalancerRef, l.Namespace) }

// ACKLoadBalancer is what the rule reads of an ACK LoadBalancer.
type ACKLoadBalancer struct {
	// Scheme is spec.scheme; "" is the ELBv2 default, internet-facing.
	Scheme string `json:"scheme,omitempty"`
	// Type is spec.type; "" is the ELBv2 default, application.
	Type string `json:"type,omitempty"`
}

// ackLoadBalancerFields are the spec fields of ACKLoadBalancer.
var ackLoadBalancerFields = []string{"scheme", "type"}

// protocolGENEVE is a Gateway Load Balancer's listener protocol: it
// forwards packets to appliances and carries no client TLS to terminate.
const protocolGENEVE = "GENEVE"

// ACKListenerOf is the listener the ELBv2 API creates from l: its protocol
// (compared upper case, as AWS names them), and for HTTPS and TLS its
// policy, the API's default ELBSecurityPolicy-2016-08 when sslPolicy is
// unset or empty. An HTTP listener whose every default action redirects to
// HTTPS is a redirect. ok is false when l has no protocol AWS would accept
// here (none, or GENEVE, which carries no client traffic to terminate).
func ACKListenerOf(l *ACKListener) (out Listener, ok bool) {
	if l.Spec.Protocol == nil || *l.Spec.Protocol == "" {
		return Listener{}, false
	}
	protocol := strings.ToUpper(*l.Spec.Protocol)
	if protocol == protocolGENEVE {
		return Listener{}, false
	}
	out = Listener{Protocol: protocol, BackendProtocol: protocol, PortIndex: -1}
	if l.Spec.Port != nil {
		out.Port = int32(*l.Spec.Port)
	}
	switch protocol {
	case ProtocolHTTPS, ProtocolTLS:
		out.TLS = true
		out.SSLPolicy, out.DefaultSSLPolicy = config.AWSDefaultSSLPolicy, true
		if p := l.Spec.SSLPolicy; p != nil && *p != "" {
			out.SSLPolicy, out.DefaultSSLPolicy = *p, false
		}
		for _, c := range l.Spec.Certificates {
			if c.CertificateARN != nil {
				out.Certificates = append(out.Certificates, *c.CertificateARN)
			}
		}
	case ProtocolHTTP:
		// Not plaintext unless something forwards over it (or redirects
		// to plain HTTP): its default actions, or its Rules (CheckACKListener).
		out.Redirect = plainActions(l.Spec.DefaultActions) == ""
	}
	return out, true
}

var (
	ackProtocolPath  = field.NewPath("spec", "protocol")
	ackSSLPolicyPath = field.NewPath("spec", "sslPolicy")
)

// CheckACKListener is the rule for one ACK Listener on lb (nil when the
// listener names its load balancer by ARN, or the LoadBalancer object is
// not known: it is then taken for internet-facing, the ELBv2 default, so
// that skipInternal never skips on a guess), with the Rules attached to it:
// an HTTP listener is plaintext when its default actions or one of its
// Rules forward (or redirect to plain HTTP).
func CheckACKListener(l *ACKListener, lb *ACKLoadBalancer, rules []*ACKRule, settings config.LoadBalancerTLSSettings) Violations {
	return check(settings,
		func() (bool, field.ErrorList) { return lb != nil && lb.Scheme == schemeInternal, nil },
		func() ([]Listener, field.ErrorList) {
			listener, ok := ACKListenerOf(l)
			if !ok {
				return nil, nil
			}
			return []Listener{listener}, nil
		},
		func(ls []Listener) field.ErrorList {
			var errs field.ErrorList
			for _, listener := range ls {
				if err := ackListenerError(listener, rules, settings); err != nil {
					errs = append(errs, err)
				}
			}
			return errs
		})
}

// ackForwardingRules names the rules whose actions serve in plaintext.
func ackForwardingRules(rules []*ACKRule) []string {
	var out []string
	for _, r := range rules {
		if what := plainActions(r.Spec.Actions); what != "" {
			out = append(out, fmt.Sprintf("Rule %s/%s %s", r.Namespace, r.Name, what))
		}
	}
	slices.Sort(out)
	return out
}

// ackListenerError judges one listener: plaintext, or a TLS policy outside
// the allow-list of its load balancer type (HTTPS listeners are an ALB's,
// TLS listeners an NLB's).
func ackListenerError(l Listener, rules []*ACKRule, settings config.LoadBalancerTLSSettings) *field.Error {
	switch {
	case l.Plaintext() && l.Protocol == ProtocolHTTP:
		return field.Forbidden(ackProtocolPath, fmt.Sprintf("%s is plaintext: make it HTTPS with a certificate, "+
			"or make its default action a redirect to HTTPS", l))
	case l.Protocol == ProtocolHTTP:
		if forwarding := ackForwardingRules(rules); len(forwarding) > 0 {
			return field.Forbidden(ackProtocolPath, fmt.Sprintf("%s is plaintext: %s; make it HTTPS with a certificate, "+
				"or make its rules redirect to HTTPS", l, summarize(forwarding, "", "")))
		}
		return nil
	case l.Plaintext() && (l.Protocol == ProtocolUDP || l.Protocol == ProtocolTCPUDP || l.Protocol == ProtocolTCPQUIC):
		return field.Forbidden(ackProtocolPath, fmt.Sprintf("%s is plaintext: an NLB cannot terminate TLS on %s", l, l.Protocol))
	case l.Plaintext():
		return field.Forbidden(ackProtocolPath, fmt.Sprintf("%s is plaintext: make it TLS with a certificate", l))
	case !l.TLS:
		return nil
	}
	lbType := config.LoadBalancerNLB
	if l.Protocol == ProtocolHTTPS {
		lbType = config.LoadBalancerALB
	}
	return tlsPolicyError(ackSSLPolicyPath, OwnerACK, lbType, l.SSLPolicy, l.DefaultSSLPolicy, l.String(), settings)
}

// ACKRuleGVK is ACK's listener rule kind.
var ACKRuleGVK = schema.GroupVersionKind{Group: "elbv2.services.k8s.aws", Version: "v1alpha1", Kind: "Rule"}

// ACKRule is the part of an ACK Rule the rule reads (apis/v1alpha1/rule.go).
type ACKRule struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Actions []ackAction `json:"actions,omitempty"`
		// Exactly one of ListenerARN and ListenerRef names the listener.
		ListenerARN *string `json:"listenerARN,omitempty"`
		ListenerRef *ackRef `json:"listenerRef,omitempty"`
	} `json:"spec"`
}

// ListenerKey is the namespace/name of the Listener object the rule
// references, "" when it names it by ARN.
func (r *ACKRule) ListenerKey() string { return refKey(r.Spec.ListenerRef, r.Namespace) }

// refKey is the namespace/name an ACK reference names, "" for none.
func refKey(ref *ackRef, namespace string) string {
	if ref == nil || ref.From == nil || ref.From.Name == nil {
		return ""
	}
	if ref.From.Namespace != nil && *ref.From.Namespace != "" {
		namespace = *ref.From.Namespace
	}
	return namespace + "/" + *ref.From.Name
}

// CheckACKRule is the rule for one ACK Rule on listener l (nil when
// unknown: named by ARN, or not there yet), with lb the listener's load
// balancer: a Rule whose actions forward (or redirect to plain HTTP) on an
// HTTP listener serves in plaintext.
func CheckACKRule(r *ACKRule, l *ACKListener, lb *ACKLoadBalancer, settings config.LoadBalancerTLSSettings) Violations {
	if l == nil {
		return Violations{}
	}
	return check(settings,
		func() (bool, field.ErrorList) { return lb != nil && lb.Scheme == schemeInternal, nil },
		func() ([]Listener, field.ErrorList) {
			listener, ok := ACKListenerOf(l)
			if !ok || listener.Protocol != ProtocolHTTP {
				return nil, nil
			}
			return []Listener{listener}, nil
		},
		func(ls []Listener) field.ErrorList {
			var errs field.ErrorList
			for _, listener := range ls {
				if what := plainActions(r.Spec.Actions); what != "" {
					errs = append(errs, field.Forbidden(field.NewPath("spec", "actions"), fmt.Sprintf(
						"%s over plaintext %s of Listener %s/%s: redirect to HTTPS, or attach the rule to an HTTPS listener",
						what, listener, l.Namespace, l.Name)))
				}
			}
			return errs
		})
}
