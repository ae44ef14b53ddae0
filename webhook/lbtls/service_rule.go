package lbtls

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/eksguard/eksguard/config"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CheckServiceListeners judges svc's listeners: every plaintext listener is an error
// on its port; with RequireBackendTLS, TLS listeners must also reach the pods
// over TLS; the TLS policy must be allowed when any listener uses TLS.
func CheckServiceListeners(svc *corev1.Service, listeners []Listener, settings config.LoadBalancerTLSSettings) field.ErrorList {
	var errs field.ErrorList
	owner := OwnerOf(svc)
	var tls, plainBackend []string
	for _, l := range listeners {
		if l.Plaintext() {
			errs = append(errs, field.Forbidden(portsPath(l.PortIndex), plaintextPortDetail(svc, owner, l)))
			continue
		}
		if !l.TLS {
			continue
		}
		tls = append(tls, l.String())
		if l.BackendProtocol != ProtocolTLS && l.BackendProtocol != ProtocolSSL && l.BackendProtocol != ProtocolHTTPS {
			plainBackend = append(plainBackend, l.String())
		}
	}
	if settings.RequireBackendTLS && len(plainBackend) > 0 {
		want := backendProtocolSSL
		if owner == OwnerInTreeCLB {
			want = backendProtocolSSL + " or " + backendProtocolHTTPS
		}
		errs = append(errs, field.Forbidden(annotationsPath.Key(AnnotationBackendProtocol),
			fmt.Sprintf("%s reach the pods in plaintext: set %s to %s",
				strings.Join(plainBackend, ", "), short(AnnotationBackendProtocol), want)))
	}
	if len(tls) > 0 {
		sslPolicy, isDefault := serviceSSLPolicy(svc, owner, settings)
		if err := tlsPolicyError(annotationsPath.Key(AnnotationSSLNegotiation), owner, owner.LoadBalancerType(), sslPolicy, isDefault, "", settings); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// plaintextPortDetail says why a Service port gets a plaintext listener and
// what to change, including the in-tree provider's untrimmed ssl-ports
// entries (the LBC's entries that name no port are refused before this).
func plaintextPortDetail(svc *corev1.Service, owner Owner, l Listener) string {
	label := fmt.Sprintf("port %d", l.Port)
	if l.PortName != "" {
		label += " (" + l.PortName + ")"
	}
	what := fmt.Sprintf("%s: plaintext %s listener; ", label, l.Protocol)
	ann := svc.Annotations
	switch {
	case l.Protocol == ProtocolUDP || l.Protocol == ProtocolTCPUDP || l.Protocol == ProtocolTCPQUIC:
		return what + "an NLB cannot terminate TLS on " + l.Protocol
	case owner.lbcSemantics() && len(splitList(ann[AnnotationSSLCert])) == 0:
		// The LBC reads the parsed list (a value of only separators is none).
		return what + "set " + short(AnnotationSSLCert)
	case !owner.lbcSemantics() && ann[AnnotationSSLCert] == "":
		return what + "set " + short(AnnotationSSLCert)
	case !owner.lbcSemantics() && hasUntrimmedEntry(ann[AnnotationSSLPorts], l):
		return what + "in-tree ssl-ports entries must not contain spaces"
	}
	return what + "add it to " + short(AnnotationSSLPorts)
}

// hasUntrimmedEntry reports an in-tree ssl-ports entry that would name the
// port if the provider trimmed spaces, which it does not.
func hasUntrimmedEntry(raw string, l Listener) bool {
	for _, item := range strings.Split(raw, ",") {
		trimmed := strings.TrimSpace(item)
		if trimmed != item && (trimmed == l.PortName || trimmed == strconv.Itoa(int(l.Port))) {
			return true
		}
	}
	return false
}

// CheckService is the whole rule for one Service: a malformed scheme or
// listener annotation is the finding; otherwise internal load balancers are
// skipped when settings ask for it, and the listeners are judged.
func CheckService(svc *corev1.Service, settings config.LoadBalancerTLSSettings) Violations {
	return check(settings,
		func() (bool, field.ErrorList) { return ServiceInternal(svc, settings) },
		func() ([]Listener, field.ErrorList) { return ServiceListeners(svc, settings) },
		func(ls []Listener) field.ErrorList { return CheckServiceListeners(svc, ls, settings) })
}
