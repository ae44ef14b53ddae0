package lbtls

// ACK elbv2 Listeners: ELB listeners made directly through AWS Controllers
// for Kubernetes (aws-controllers-k8s/elbv2-controller, an EKS managed
// capability), with no Service, Ingress or Gateway involved. The fields are
// those of its CRDs (apis/v1alpha1/listener.go, load_balancer.go, read at
// v1.6.1): the controller passes them to the ELBv2 API as they are.

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/admit"
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
	admit.Meta `json:"metadata"`
	Spec       ACKListenerSpec `json:"spec"`
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
func (l *ACKListener) LoadBalancerKey() string {
	ref := l.Spec.LoadBalancerRef
	if ref == nil || ref.From == nil || ref.From.Name == nil {
		return ""
	}
	namespace := l.Namespace
	if ref.From.Namespace != nil && *ref.From.Namespace != "" {
		namespace = *ref.From.Namespace
	}
	return namespace + "/" + *ref.From.Name
}

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
		out.Redirect, out.RedirectPort = redirectsToHTTPS(l.Spec.DefaultActions)
	}
	return out, true
}

// redirectsToHTTPS reports default actions that all redirect to HTTPS, and
// the port of the first (443 when it names none or keeps the request's).
func redirectsToHTTPS(actions []ackAction) (bool, int32) {
	if len(actions) == 0 {
		return false, 0
	}
	var port int32
	for i, a := range actions {
		if a.Type == nil || *a.Type != "redirect" || a.RedirectConfig == nil || a.RedirectConfig.Protocol == nil ||
			!strings.EqualFold(*a.RedirectConfig.Protocol, ProtocolHTTPS) {
			return false, 0
		}
		if i == 0 {
			port = defaultIngressHTTPSPort
			if a.RedirectConfig.Port != nil {
				if n, err := strconv.ParseInt(*a.RedirectConfig.Port, 10, 32); err == nil {
					port = int32(n)
				}
			}
		}
	}
	return true, port
}

var (
	ackProtocolPath  = field.NewPath("spec", "protocol")
	ackSSLPolicyPath = field.NewPath("spec", "sslPolicy")
)

// CheckACKListener is the rule for one ACK Listener on lb (nil when the
// listener names its load balancer by ARN, or the LoadBalancer object is
// not known: it is then taken for internet-facing, the ELBv2 default, so
// that skipInternal never skips on a guess).
func CheckACKListener(l *ACKListener, lb *ACKLoadBalancer, settings config.LoadBalancerTLSSettings) Violations {
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
				if err := ackListenerError(listener, settings); err != nil {
					errs = append(errs, err)
				}
			}
			return errs
		})
}

// ackListenerError judges one listener: plaintext, or a TLS policy outside
// the allow-list of its load balancer type (HTTPS listeners are an ALB's,
// TLS listeners an NLB's).
func ackListenerError(l Listener, settings config.LoadBalancerTLSSettings) *field.Error {
	switch {
	case l.Plaintext() && l.Protocol == ProtocolHTTP:
		return field.Forbidden(ackProtocolPath, fmt.Sprintf("%s is plaintext: make it HTTPS with a certificate, "+
			"or make its default action a redirect to HTTPS", l))
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
