package lbtls

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/config"
)

// GatewaySubject is the object under review whose part of a Gateway's
// build is judged: the Gateway itself, one of its ListenerSets, or a route.
type GatewaySubject struct {
	// Kind is Gateway, ListenerSet or the route's kind.
	Kind string
	// Key is its namespace/name.
	Key string
	// ParentRef is, for a route, the index of its first parentRef to the
	// Gateway (or one of its ListenerSets): where its listener findings point.
	ParentRef int
}

func (s GatewaySubject) route() bool {
	return s.Kind != GatewayKind.GVK.Kind && s.Kind != kindListenerSet
}

// entryOf is the subject's listener on the port, if it has one.
func (s GatewaySubject) entryOf(p *GatewayPort) (listenerEntry, bool) {
	for _, e := range p.Entries {
		if (s.Kind == GatewayKind.GVK.Kind && e.set == "") || (s.Kind == kindListenerSet && e.set == s.Key) {
			return e, true
		}
	}
	return listenerEntry{}, false
}

// attached reports the subject route attached on the port.
func (s GatewaySubject) attached(p *GatewayPort) bool {
	for _, r := range p.Routes {
		if r.Kind == s.Kind && r.Namespace+"/"+r.Name == s.Key {
			return true
		}
	}
	return false
}

// GatewayVerdict is the rule's verdict for one subject on one Gateway.
type GatewayVerdict struct {
	// Errs are findings; Warnings are told but never deny: listeners the
	// LBC does not build yet (no route), and a Gateway it cannot build.
	Errs, Warnings  field.ErrorList
	SkippedInternal bool
}

// CheckGateway judges the subject's part of the Gateway gwKey's build: for
// a Gateway or a ListenerSet, the ELB listeners of the ports its listeners
// are on; for a route, those of the ports it is attached to, its own
// forwarding rules on a plaintext HTTP listener above all.
func CheckGateway(gwKey string, owner Owner, b GatewayBuild, s GatewaySubject, settings config.LoadBalancerTLSSettings) GatewayVerdict {
	var v GatewayVerdict
	if b.NotBuilt != "" {
		v.Warnings = field.ErrorList{field.Invalid(field.NewPath("spec"), "", fmt.Sprintf("the LBC builds nothing for Gateway %s: %s", gwKey, b.NotBuilt))}
		return v
	}
	if b.Internal && settings.SkipInternal {
		v.SkippedInternal = true
		return v
	}
	lbType := config.LoadBalancerALB
	if owner == OwnerGatewayNLB {
		lbType = config.LoadBalancerNLB
	}
	for _, p := range b.Ports {
		var path *field.Path
		subject := p.String()
		if s.route() {
			if !s.attached(p) || !p.Built {
				continue
			}
			path = field.NewPath("spec", "parentRefs").Index(s.ParentRef)
			subject += " of Gateway " + gwKey
		} else {
			e, ok := s.entryOf(p)
			if !ok {
				continue
			}
			path = field.NewPath("spec", "listeners").Index(e.index)
		}
		if !p.Built {
			v.Warnings = append(v.Warnings, unbuiltWarning(path, owner, lbType, p, settings)...)
			continue
		}
		switch {
		case p.Protocol == ProtocolHTTP && s.route():
			for _, i := range p.forwardingRules[s.Kind+" "+s.Key] {
				v.Errs = append(v.Errs, field.Forbidden(field.NewPath("spec", "rules").Index(i), fmt.Sprintf(
					"forwards over plaintext %s: redirect to https (RequestRedirect scheme: https), or attach to an HTTPS listener", subject)))
			}
		case p.Protocol == ProtocolHTTP && !p.Redirect:
			v.Errs = append(v.Errs, field.Forbidden(path, httpPlaintextDetail(p)))
		case p.Plaintext() && s.route():
			v.Errs = append(v.Errs, field.Forbidden(path, fmt.Sprintf("attaches to plaintext %s: %s", subject, l4Fix(p.Listener))))
		case p.Plaintext():
			v.Errs = append(v.Errs, field.Forbidden(path, fmt.Sprintf("%s is plaintext: %s", p.Listener, l4Fix(p.Listener))))
		case p.TLS:
			if err := tlsPolicyError(path, owner, lbType, p.SSLPolicy, p.DefaultSSLPolicy, subject, settings); err != nil {
				v.Errs = append(v.Errs, err)
			}
		}
	}
	return v
}

// httpPlaintextDetail names what makes an ALB Gateway's HTTP listener
// plaintext: its rules that forward, or redirect to http.
func httpPlaintextDetail(p *GatewayPort) string {
	what := append(append([]string(nil), p.Forwarding...), p.RedirectingToHTTP...)
	return fmt.Sprintf("%s is plaintext: %s; make every rule redirect to https (RequestRedirect scheme: https), or serve them on HTTPS",
		p.Listener, summarize(what, "forwards", "forward"))
}

// summarize names up to three items, says how many more, and adds the
// verb (one for a single item, many otherwise) when there is one.
func summarize(items []string, one, many string) string {
	verb := many
	if len(items) == 1 {
		verb = one
	}
	list := strings.Join(items, ", ")
	if len(items) > 3 {
		list = fmt.Sprintf("%s and %d more", strings.Join(items[:3], ", "), len(items)-3)
	}
	if verb == "" {
		return list
	}
	return list + " " + verb
}

// l4Fix says how an NLB listener stops being plaintext.
func l4Fix(l Listener) string {
	if l.Protocol == ProtocolTCP {
		return "use protocol TLS with tls.mode Terminate (Passthrough is TCP on the NLB)"
	}
	return "an NLB cannot terminate TLS on " + l.Protocol
}

// unbuiltWarning forecasts a listener the LBC builds once a route attaches.
func unbuiltWarning(path *field.Path, owner Owner, lbType config.LoadBalancerType, p *GatewayPort, settings config.LoadBalancerTLSSettings) field.ErrorList {
	switch {
	case p.Protocol == ProtocolHTTP:
		// Short: a warning is cut at decision.MaxWarningLength.
		return field.ErrorList{field.Forbidden(path, fmt.Sprintf("%s has no route yet: plaintext unless its routes only redirect to https", p.Listener))}
	case p.Plaintext():
		return field.ErrorList{field.Forbidden(path, fmt.Sprintf("%s has no route yet: plaintext once one attaches", p.Listener))}
	case p.TLS:
		if err := tlsPolicyError(path, owner, lbType, p.SSLPolicy, p.DefaultSSLPolicy, p.String()+" (no route yet)", settings); err != nil {
			return field.ErrorList{err}
		}
	}
	return nil
}
