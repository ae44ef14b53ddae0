package lbtls

import (
	"fmt"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/config"
)

// Listener protocols as AWS names them.
const (
	ProtocolHTTP    = "HTTP"
	ProtocolHTTPS   = "HTTPS"
	ProtocolTCP     = "TCP"
	ProtocolTLS     = "TLS"
	ProtocolUDP     = "UDP"
	ProtocolTCPUDP  = "TCP_UDP"
	ProtocolQUIC    = "QUIC"
	ProtocolTCPQUIC = "TCP_QUIC"
	ProtocolSSL     = "SSL"
	ProtocolSCTP    = "SCTP"
)

// Listener is one listener the controller would create on the load balancer.
type Listener struct {
	Port int32
	// Protocol is the listener protocol: HTTP or HTTPS (ALB); TCP, TLS, UDP,
	// TCP_UDP, QUIC, TCP_QUIC, or SCTP as the LBC passes it on (NLB); TCP,
	// SSL, HTTP, HTTPS (CLB).
	Protocol string
	// TLS reports that the load balancer terminates TLS on this listener.
	TLS bool
	// Redirect reports an HTTP listener whose only action is a redirect to
	// the HTTPS listener on RedirectPort.
	Redirect     bool
	RedirectPort int32
	// BackendProtocol is the protocol from the load balancer to the targets
	// (Services only: an ALB's backend protocol is set per target group).
	BackendProtocol string
	// SSLPolicy is the negotiation policy of a TLS listener; DefaultSSLPolicy
	// reports that none was named, so the controller default applies.
	SSLPolicy        string
	DefaultSSLPolicy bool
	// Certificates are the explicit certificate ARNs of a TLS listener.
	Certificates []string
	// DiscoveryHosts are the hosts the LBC looks up in ACM for an HTTPS
	// listener that has no explicit certificate.
	DiscoveryHosts []string
	// PortIndex and PortName identify the Service port the listener comes
	// from (the first one for a merged TCP_UDP port); PortIndex is -1 on ALBs.
	PortIndex int
	PortName  string
	// Ingresses are the members of the ALB group (namespace/name) that
	// declare this listener.
	Ingresses []string
}

// Plaintext reports whether clients reach the listener without TLS. QUIC
// carries TLS 1.3 itself, so a QUIC listener is not plaintext even though the
// load balancer does not terminate it; a TCP_QUIC listener still accepts
// plain TCP.
func (l Listener) Plaintext() bool {
	return !l.TLS && !l.Redirect && l.Protocol != ProtocolQUIC
}

// String is the listener as messages name it, e.g. "HTTPS:443".
func (l Listener) String() string {
	return l.Protocol + ":" + strconv.Itoa(int(l.Port))
}

// tlsPolicyError checks the negotiation policy of TLS listeners on a load
// balancer of type lbType against that type's allow-list. sslPolicy is the
// effective policy, isDefault reports that it is the controller's default
// because none was named, and subject (may be empty) says which listeners
// use it.
func tlsPolicyError(path *field.Path, owner Owner, lbType config.LoadBalancerType, sslPolicy string, isDefault bool, subject string,
	settings config.LoadBalancerTLSSettings) *field.Error {
	allowed := settings.AllowedSSLPoliciesFor(lbType)
	if slices.Contains(allowed, sslPolicy) {
		return nil
	}
	if subject != "" {
		subject += ": "
	}
	if len(allowed) == 0 {
		return field.Forbidden(path, subject+"no TLS policy is allowed (eksguard allowedSSLPolicies is empty)")
	}
	if isDefault && owner == OwnerAutoMode {
		// Auto Mode documents no way to name a policy (containers-roadmap#2715).
		lbc := "loadBalancerClass " + LBCLoadBalancerClass
		if lbType == config.LoadBalancerALB {
			lbc = "an IngressClass of controller " + IngressClassControllerALB
		}
		return field.Forbidden(path, fmt.Sprintf("%sEKS Auto Mode's default policy %s is not allowed, and Auto Mode documents no way to set one: "+
			"use the AWS Load Balancer Controller (%s) and set e.g. %s (or set autoMode.defaultSSLPolicy if yours differs)",
			subject, sslPolicy, lbc, allowed[0]))
	}
	if isDefault && (owner == OwnerGatewayALB || owner == OwnerGatewayNLB) {
		return field.Required(path, fmt.Sprintf("%sdefault policy %s is not allowed: set sslPolicy, e.g. %s, "+
			"in a LoadBalancerConfiguration listenerConfigurations entry for it", subject, sslPolicy, allowed[0]))
	}
	if isDefault {
		return field.Required(path, fmt.Sprintf("%sdefault policy %s is not allowed: set one, e.g. %s",
			subject, sslPolicy, allowed[0]))
	}
	if lbType == config.LoadBalancerCLB && slices.Contains(settings.AllowedSSLPoliciesFor(config.LoadBalancerNLB), sslPolicy) {
		// ensureSSLNegotiationPolicy (cloud-provider-aws) creates a policy
		// referencing it after the listeners exist; AWS refuses the name,
		// so the listeners keep the Classic default.
		return field.Invalid(path, sslPolicy, fmt.Sprintf("%spolicy %q does not exist on a Classic Load Balancer: the provider fails to apply it "+
			"and the listeners keep %s; use %s, or an NLB", subject, sslPolicy, config.AWSDefaultSSLPolicy, allowed[0]))
	}
	return field.Invalid(path, sslPolicy, fmt.Sprintf("%spolicy %q is not allowed: use e.g. %s",
		subject, sslPolicy, allowed[0]))
}
