package lbtls

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/eksguard/eksguard/config"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CheckIngressGroupListeners judges the group's listeners: plaintext HTTP listeners
// and disallowed TLS policies on HTTPS listeners.
func CheckIngressGroupListeners(members []Member, listeners []Listener, settings config.LoadBalancerTLSSettings) field.ErrorList {
	var errs field.ErrorList
	self := members[0]
	selfKey := ingressKey(self.Ingress)
	selfConfig, _ := memberListeners(self, settings)
	var httpsPort int32
	for _, l := range listeners {
		if l.TLS {
			httpsPort = l.Port
			break
		}
	}
	why := ignoredRedirect(members)
	type policyUse struct {
		listeners []string
		isDefault bool
		own       bool
	}
	policies := map[string]*policyUse{}
	var policyOrder []string
	for _, l := range listeners {
		own := slices.Contains(l.Ingresses, selfKey)
		if l.Plaintext() {
			errs = append(errs, plaintextIngressError(self, selfConfig, own, l, httpsPort, why))
			continue
		}
		if !l.TLS {
			continue
		}
		use, ok := policies[l.SSLPolicy]
		if !ok {
			use = &policyUse{isDefault: l.DefaultSSLPolicy}
			policies[l.SSLPolicy] = use
			policyOrder = append(policyOrder, l.SSLPolicy)
		}
		use.listeners = append(use.listeners, l.String())
		use.own = use.own || own
	}
	for _, sslPolicy := range policyOrder {
		use := policies[sslPolicy]
		path := ownPath(AnnotationSSLPolicy, selfConfig.sslPolicy)
		subject := strings.Join(use.listeners, ", ")
		switch {
		case !use.own:
			path = groupPath(self)
		case selfConfig.sslPolicy.paramsField != "":
			subject = fmt.Sprintf("%s (IngressClassParams %s spec.sslPolicy)", subject, self.Params.Name)
		}
		if err := tlsPolicyError(path, self.Owner, config.LoadBalancerALB, sslPolicy, use.isDefault, subject, settings); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// plaintextIngressError explains a plaintext HTTP listener: the LBC's default
// listener (where spec.tls alone is a common trap), an HTTP listen port
// without an SSL redirect (or one a later listen-ports entry made HTTP), or
// a listener another group member declares. why, when set, says why the
// group has no redirect.
func plaintextIngressError(self Member, cfg memberListenConfig, own bool, l Listener, httpsPort int32, why string) *field.Error {
	fix := "add an HTTPS listen port and set ssl-redirect to it"
	if httpsPort != 0 {
		fix = fmt.Sprintf("set ssl-redirect: %q", strconv.Itoa(int(httpsPort)))
	}
	if why != "" {
		fix = why
	}
	_, certs := self.certificates()
	switch {
	case !own:
		return field.Forbidden(groupPath(self),
			fmt.Sprintf("%s of %s in this group is plaintext: %s", l, strings.Join(l.Ingresses, ", "), fix))
	case cfg.defaulted && len(self.Spec.TLS) > 0 && !certs.set:
		return field.Forbidden(annotationsPath.Key(AnnotationCertificateARN),
			"default listener HTTP:80 is plaintext: spec.tls alone does not make it HTTPS; set certificate-arn")
	case cfg.defaulted:
		return field.Forbidden(annotationsPath.Key(AnnotationCertificateARN),
			"default listener HTTP:80 is plaintext: set certificate-arn or an HTTPS listen port")
	}
	detail := fmt.Sprintf("%s is plaintext: %s", l, fix)
	if note, ok := cfg.overrides[l.Port]; ok {
		detail = fmt.Sprintf("%s is plaintext (%s): %s", l, note, fix)
	}
	return field.Forbidden(annotationsPath.Key(AnnotationListenPorts), detail)
}

// CheckIngressGroup is the whole rule for an ALB group: malformed or
// conflicting settings are the finding; otherwise an internal ALB is
// skipped when settings ask for it, and the listeners are judged.
func CheckIngressGroup(members []Member, settings config.LoadBalancerTLSSettings) Violations {
	return check(settings,
		func() (bool, field.ErrorList) { return IngressGroupInternal(members) },
		func() ([]Listener, field.ErrorList) { return IngressGroupListeners(members, settings) },
		func(ls []Listener) field.ErrorList { return CheckIngressGroupListeners(members, ls, settings) })
}

// IngressTLSCoverage is the requireTLS rule for Ingresses of other classes:
// spec.tls must exist and name every rule host (exactly, or by a "*." wildcard
// covering one label). Rules without a host are served with the spec.tls
// certificates, so they need no entry of their own.
func IngressTLSCoverage(ing *networkingv1.Ingress, class string) field.ErrorList {
	if len(ing.Spec.TLS) == 0 {
		return field.ErrorList{field.Required(field.NewPath("spec", "tls"),
			fmt.Sprintf("Ingresses of class %q must terminate TLS: add spec.tls", class))}
	}
	tlsHosts := sets.New[string]()
	for _, t := range ing.Spec.TLS {
		tlsHosts.Insert(t.Hosts...)
	}
	var errs field.ErrorList
	for i, r := range ing.Spec.Rules {
		if r.Host == "" || tlsHosts.Has(r.Host) || coveredByWildcard(tlsHosts, r.Host) {
			continue
		}
		errs = append(errs, field.Forbidden(field.NewPath("spec", "rules").Index(i).Child("host"),
			fmt.Sprintf("host %q is served without TLS: add it to spec.tls[].hosts", r.Host)))
	}
	return errs
}

func coveredByWildcard(tlsHosts sets.Set[string], host string) bool {
	_, parent, ok := strings.Cut(host, ".")
	return ok && tlsHosts.Has("*."+parent)
}
