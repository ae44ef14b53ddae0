package lbtls

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/decision"

	"github.com/eksguard/eksguard/internal/logkeys"
)

// IngressClass is the class of ing: the kubernetes.io/ingress.class
// annotation, else spec.ingressClassName (the API server refuses both at
// once, and fills in the default class before webhooks run).
func IngressClass(ing *networkingv1.Ingress) string {
	if class, ok := ing.Annotations[AnnotationIngressClass]; ok {
		return class
	}
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ""
}

// IsALB reports whether the LBC builds an ALB for ing.
func IsALB(ing *networkingv1.Ingress, settings config.LoadBalancerTLSSettings) bool {
	return slices.Contains(settings.ALBIngressClasses, IngressClass(ing))
}

// GroupName is ing's explicit ALB group; "" means a group of its own.
func GroupName(ing *networkingv1.Ingress) string {
	return ing.Annotations[AnnotationGroupName]
}

func ingressKey(ing *networkingv1.Ingress) string {
	return ing.Namespace + "/" + ing.Name
}

// memberPath is where an error about one group member points. The Ingress
// under review is members[0]: errors about it point at its own annotation;
// errors about other members point at the group name and name the member.
func memberPath(members []*networkingv1.Ingress, i int, annotation string) (*field.Path, string) {
	if i == 0 {
		return annotationsPath.Key(annotation), ""
	}
	return annotationsPath.Key(AnnotationGroupName), "member " + ingressKey(members[i]) + ": "
}

// IngressGroupInternal reports whether the group's ALB is internal. Like
// the LBC it looks only at the members that set a scheme: none means
// internal (the LBC default), two different ones are a conflict.
func IngressGroupInternal(members []*networkingv1.Ingress) (bool, field.ErrorList) {
	var errs field.ErrorList
	schemes := map[string]string{}
	for i, ing := range members {
		raw, ok := ing.Annotations[AnnotationALBScheme]
		if !ok {
			continue
		}
		if raw != schemeInternal && raw != schemeInternetFacing {
			path, who := memberPath(members, i, AnnotationALBScheme)
			errs = append(errs, field.Invalid(path, raw, fmt.Sprintf("%smust be %q or %q", who, schemeInternal, schemeInternetFacing)))
			continue
		}
		if _, seen := schemes[raw]; !seen {
			schemes[raw] = ingressKey(ing)
		}
	}
	if len(errs) > 0 {
		return false, errs
	}
	if len(schemes) > 1 {
		path := annotationsPath.Key(AnnotationALBScheme)
		if _, own := members[0].Annotations[AnnotationALBScheme]; !own {
			path = annotationsPath.Key(AnnotationGroupName)
		}
		return false, field.ErrorList{field.Invalid(path, members[0].Annotations[AnnotationALBScheme],
			fmt.Sprintf("conflicting schemes in the group: internal (%s), internet-facing (%s)",
				schemes[schemeInternal], schemes[schemeInternetFacing]))}
	}
	_, internetFacing := schemes[schemeInternetFacing]
	return !internetFacing, nil
}

// portProtocol is one entry of listen-ports.
type portProtocol struct {
	port     int32
	protocol string
}

// parseListenPorts reads listen-ports as the LBC does (a JSON list of
// {"PROTOCOL": port} objects, HTTP or HTTPS, ports 1-65535), with one
// stricter point: a port listed under both protocols, which the LBC settles
// by map order, is an error. On error it returns the detail to report.
func parseListenPorts(raw string) ([]portProtocol, string) {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	var entries []map[string]any
	if err := dec.Decode(&entries); err != nil || dec.More() {
		return nil, "must be a JSON list like " + listenPortsExample
	}
	if len(entries) == 0 {
		return nil, "must list at least one port, like " + listenPortsExample
	}
	var out []portProtocol
	seen := map[int32]string{}
	for _, entry := range entries {
		protocols := make([]string, 0, len(entry))
		for protocol := range entry {
			protocols = append(protocols, protocol)
		}
		slices.Sort(protocols)
		for _, protocol := range protocols {
			if protocol != ingressProtocolHTTP && protocol != ingressProtocolHTTPS {
				return nil, fmt.Sprintf("protocol %q must be HTTP or HTTPS", protocol)
			}
			port, ok := listenPort(entry[protocol])
			if !ok {
				value, _ := json.Marshal(entry[protocol])
				return nil, fmt.Sprintf("port of %s must be a number in 1-%d, not %s", protocol, maxListenPort, value)
			}
			if previous, dup := seen[port]; dup {
				if previous != protocol {
					return nil, fmt.Sprintf("port %d is listed as both HTTP and HTTPS", port)
				}
				continue
			}
			seen[port] = protocol
			out = append(out, portProtocol{port: port, protocol: protocol})
		}
	}
	return out, ""
}

func listenPort(v any) (int32, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	port, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil || port < 1 || port > maxListenPort {
		return 0, false
	}
	return int32(port), true
}

// memberListenConfig is what one Ingress contributes to its group's ALB.
type memberListenConfig struct {
	ports []portProtocol
	// defaulted: no listen-ports, so the LBC chose the port.
	defaulted bool
	certs     []string
	policy    string
	// hosts are looked up in ACM when the member has an HTTPS port and no
	// certificate-arn.
	hosts []string
}

// memberListeners follows the LBC: without listen-ports an Ingress gets
// HTTPS:443 when certificate-arn is set, else HTTP:80. Certificates found by
// ACM discovery (spec.tls and rule hosts) do not switch that default: the LBC
// decides it from certificate-arn alone and discovers only for Ingresses that
// already have an HTTPS port.
func memberListeners(ing *networkingv1.Ingress) (memberListenConfig, string) {
	ann := ing.Annotations
	cfg := memberListenConfig{certs: splitList(ann[AnnotationCertificateARN]), policy: ann[AnnotationSSLPolicy]}
	if raw, ok := ann[AnnotationListenPorts]; ok {
		ports, problem := parseListenPorts(raw)
		if problem != "" {
			return cfg, problem
		}
		cfg.ports = ports
	} else if len(cfg.certs) > 0 {
		cfg.ports, cfg.defaulted = []portProtocol{{port: defaultIngressHTTPSPort, protocol: ingressProtocolHTTPS}}, true
	} else {
		cfg.ports, cfg.defaulted = []portProtocol{{port: defaultIngressHTTPPort, protocol: ingressProtocolHTTP}}, true
	}
	hasHTTPS := slices.ContainsFunc(cfg.ports, func(p portProtocol) bool { return p.protocol == ingressProtocolHTTPS })
	if hasHTTPS && len(cfg.certs) == 0 {
		cfg.hosts = discoveryHosts(ing)
	}
	return cfg, ""
}

func discoveryHosts(ing *networkingv1.Ingress) []string {
	hosts := sets.New[string]()
	for _, r := range ing.Spec.Rules {
		if r.Host != "" {
			hosts.Insert(r.Host)
		}
	}
	for _, t := range ing.Spec.TLS {
		hosts.Insert(t.Hosts...)
	}
	return sets.List(hosts)
}

// IngressGroupListeners computes the listeners of the one ALB that members
// form. members[0] is the Ingress under review (its stored version already
// replaced by the request's object); the others are the rest of its group.
// listen-ports and certificates merge per port; a port must have one
// protocol and at most one named ssl-policy; ssl-redirect must name the same
// port in every member that sets it, and that port must be an HTTPS listener.
func IngressGroupListeners(members []*networkingv1.Ingress, settings config.LoadBalancerTLSSettings) ([]Listener, field.ErrorList) {
	var errs field.ErrorList
	configs := make([]memberListenConfig, len(members))
	for i, ing := range members {
		cfg, problem := memberListeners(ing)
		if problem != "" {
			path, who := memberPath(members, i, AnnotationListenPorts)
			errs = append(errs, field.Invalid(path, ing.Annotations[AnnotationListenPorts], who+problem))
		}
		configs[i] = cfg
	}
	if len(errs) > 0 {
		return nil, errs
	}

	byPort := map[int32]*Listener{}
	policyOwner := map[int32]int{}
	for i, cfg := range configs {
		for _, pp := range cfg.ports {
			l, exists := byPort[pp.port]
			if !exists {
				l = &Listener{Port: pp.port, Protocol: pp.protocol, TLS: pp.protocol == ingressProtocolHTTPS, PortIndex: -1}
				byPort[pp.port] = l
			} else if l.Protocol != pp.protocol {
				path, _ := memberPath(members, i, AnnotationListenPorts)
				errs = append(errs, field.Invalid(path, members[i].Annotations[AnnotationListenPorts],
					fmt.Sprintf("port %d is %s in %s but %s in %s: the LBC rejects the group",
						pp.port, l.Protocol, l.Ingresses[0], pp.protocol, ingressKey(members[i]))))
				continue
			}
			l.Ingresses = append(l.Ingresses, ingressKey(members[i]))
			if !l.TLS {
				continue
			}
			l.Certificates = union(l.Certificates, cfg.certs)
			l.DiscoveryHosts = union(l.DiscoveryHosts, cfg.hosts)
			if cfg.policy == "" {
				continue
			}
			if first, named := policyOwner[pp.port]; named && l.SSLPolicy != cfg.policy {
				path, _ := memberPath(members, i, AnnotationSSLPolicy)
				errs = append(errs, field.Invalid(path, cfg.policy,
					fmt.Sprintf("port %d has ssl-policy %s in %s but %s in %s: the LBC rejects the group",
						pp.port, l.SSLPolicy, ingressKey(members[first]), cfg.policy, ingressKey(members[i]))))
				continue
			}
			policyOwner[pp.port], l.SSLPolicy = i, cfg.policy
		}
	}

	listeners := make([]Listener, 0, len(byPort))
	for _, l := range byPort {
		if l.TLS && l.SSLPolicy == "" {
			l.SSLPolicy, l.DefaultSSLPolicy = settings.ControllerDefaultSSLPolicy, true
		}
		listeners = append(listeners, *l)
	}
	slices.SortFunc(listeners, func(a, b Listener) int { return cmp.Compare(a.Port, b.Port) })

	redirect, redirectErrs := groupSSLRedirect(members, listeners)
	errs = append(errs, redirectErrs...)
	if redirect != 0 {
		for i := range listeners {
			if listeners[i].Protocol == ingressProtocolHTTP {
				listeners[i].Redirect, listeners[i].RedirectPort = true, redirect
			}
		}
	}
	return listeners, errs
}

// groupSSLRedirect is the HTTPS port that every HTTP listener of the group
// redirects to, or 0 when no member sets ssl-redirect.
func groupSSLRedirect(members []*networkingv1.Ingress, listeners []Listener) (int32, field.ErrorList) {
	var errs field.ErrorList
	setBy := map[int32]string{}
	var ports []int32
	for i, ing := range members {
		raw, ok := ing.Annotations[AnnotationSSLRedirect]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(raw, 10, 32)
		if err != nil || n < 1 || n > maxListenPort {
			path, who := memberPath(members, i, AnnotationSSLRedirect)
			errs = append(errs, field.Invalid(path, raw, who+`must be the number of an HTTPS listen port, e.g. "443"`))
			continue
		}
		port := int32(n)
		if _, seen := setBy[port]; !seen {
			setBy[port] = ingressKey(ing)
			ports = append(ports, port)
		}
	}
	if len(errs) > 0 || len(ports) == 0 {
		return 0, errs
	}
	path := annotationsPath.Key(AnnotationSSLRedirect)
	if _, own := members[0].Annotations[AnnotationSSLRedirect]; !own {
		path = annotationsPath.Key(AnnotationGroupName)
	}
	if len(ports) > 1 {
		var parts []string
		for _, p := range ports {
			parts = append(parts, fmt.Sprintf("%d (%s)", p, setBy[p]))
		}
		return 0, field.ErrorList{field.Invalid(path, members[0].Annotations[AnnotationSSLRedirect],
			"ssl-redirect must be the same in the whole group, not "+strings.Join(parts, ", "))}
	}
	port := ports[0]
	i := slices.IndexFunc(listeners, func(l Listener) bool { return l.Port == port })
	if i < 0 || listeners[i].Protocol != ingressProtocolHTTPS {
		return 0, field.ErrorList{field.Invalid(path, strconv.Itoa(int(port)),
			fmt.Sprintf("ssl-redirect port %d (%s) is not an HTTPS listener of the ALB", port, setBy[port]))}
	}
	return port, nil
}

func union(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	return sets.List(sets.New(a...).Insert(b...))
}

// IngressGroupVerdict judges the group's listeners: plaintext HTTP listeners
// and disallowed TLS policies on HTTPS listeners.
func IngressGroupVerdict(members []*networkingv1.Ingress, listeners []Listener, settings config.LoadBalancerTLSSettings) field.ErrorList {
	var errs field.ErrorList
	self := ingressKey(members[0])
	selfConfig, _ := memberListeners(members[0])
	var httpsPort int32
	for _, l := range listeners {
		if l.TLS {
			httpsPort = l.Port
			break
		}
	}
	type policyUse struct {
		listeners []string
		isDefault bool
		own       bool
	}
	policies := map[string]*policyUse{}
	var policyOrder []string
	for _, l := range listeners {
		own := slices.Contains(l.Ingresses, self)
		if l.Plaintext() {
			errs = append(errs, plaintextIngressError(members[0], own, selfConfig.defaulted, l, httpsPort))
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
	for _, policy := range policyOrder {
		use := policies[policy]
		path := annotationsPath.Key(AnnotationSSLPolicy)
		if !use.own {
			path = annotationsPath.Key(AnnotationGroupName)
		}
		if err := tlsPolicyError(path, policy, use.isDefault, strings.Join(use.listeners, ", "), settings); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// plaintextIngressError explains a plaintext HTTP listener: the LBC's default
// listener (where spec.tls alone is a common trap), an HTTP listen port
// without ssl-redirect, or a listener another group member declares.
func plaintextIngressError(self *networkingv1.Ingress, own, defaulted bool, l Listener, httpsPort int32) *field.Error {
	fix := "add an HTTPS listen port and set ssl-redirect to it"
	if httpsPort != 0 {
		fix = fmt.Sprintf("set ssl-redirect: %q", strconv.Itoa(int(httpsPort)))
	}
	switch {
	case !own:
		return field.Forbidden(annotationsPath.Key(AnnotationGroupName),
			fmt.Sprintf("%s of %s in this group is plaintext: %s", l, strings.Join(l.Ingresses, ", "), fix))
	case defaulted && len(self.Spec.TLS) > 0:
		return field.Forbidden(annotationsPath.Key(AnnotationCertificateARN),
			"default listener HTTP:80 is plaintext: spec.tls alone does not make it HTTPS; set certificate-arn")
	case defaulted:
		return field.Forbidden(annotationsPath.Key(AnnotationCertificateARN),
			"default listener HTTP:80 is plaintext: set certificate-arn or an HTTPS listen port")
	}
	return field.Forbidden(annotationsPath.Key(AnnotationListenPorts), fmt.Sprintf("%s is plaintext: %s", l, fix))
}

// JudgeIngressGroup is the whole rule for an ALB group: malformed or
// conflicting annotations are the finding; otherwise an internal ALB is
// skipped when settings ask for it, and the listeners are judged.
func JudgeIngressGroup(members []*networkingv1.Ingress, settings config.LoadBalancerTLSSettings) (errs field.ErrorList, skippedInternal bool) {
	internal, errs := IngressGroupInternal(members)
	if len(errs) > 0 {
		return errs, false
	}
	if internal && settings.SkipInternal {
		return nil, true
	}
	listeners, errs := IngressGroupListeners(members, settings)
	if len(errs) > 0 {
		return errs, false
	}
	return IngressGroupVerdict(members, listeners, settings), false
}

// IngressTLSCoverage is the requireTLS rule for Ingresses of other classes:
// spec.tls must exist and name every rule host (exactly, or by a "*." wildcard
// covering one label). Rules without a host are served with the spec.tls
// certificates, so they need no entry of their own.
func IngressTLSCoverage(ing *networkingv1.Ingress) field.ErrorList {
	if len(ing.Spec.TLS) == 0 {
		return field.ErrorList{field.Required(field.NewPath("spec", "tls"),
			fmt.Sprintf("Ingresses of class %q must terminate TLS: add spec.tls", IngressClass(ing)))}
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

// IngressGroupNameField indexes Ingresses by their ALB group name, so that
// the validator finds the other members of a group in the cache.
const IngressGroupNameField = "lbtls.ingressGroupName"

// IndexIngressGroupName is the field index function of IngressGroupNameField.
func IndexIngressGroupName(obj client.Object) []string {
	if name := obj.GetAnnotations()[AnnotationGroupName]; name != "" {
		return []string{name}
	}
	return nil
}

// IngressValidator validates Ingresses on CREATE and UPDATE.
type IngressValidator struct {
	Policies decision.Policies
	// Reader lists the other members of an ALB group (the manager's cache,
	// indexed by IngressGroupNameField).
	Reader client.Reader
}

var _ admission.Validator[*networkingv1.Ingress] = &IngressValidator{}

// ValidateCreate judges a new Ingress with its group.
func (v *IngressValidator) ValidateCreate(ctx context.Context, ing *networkingv1.Ingress) (admission.Warnings, error) {
	return v.validate(ctx, ing)
}

// ValidateUpdate judges the Ingress as updated, with its group, unless the
// update changes nothing the rule reads or the Ingress is being deleted.
func (v *IngressValidator) ValidateUpdate(ctx context.Context, oldIng, ing *networkingv1.Ingress) (admission.Warnings, error) {
	if unchanged(&oldIng.ObjectMeta, &ing.ObjectMeta, oldIng.Spec, ing.Spec) {
		return nil, nil
	}
	return v.validate(ctx, ing)
}

// ValidateDelete allows every deletion.
func (v *IngressValidator) ValidateDelete(context.Context, *networkingv1.Ingress) (admission.Warnings, error) {
	return nil, nil
}

func (v *IngressValidator) validate(ctx context.Context, ing *networkingv1.Ingress) (admission.Warnings, error) {
	pol := v.Policies.Source.Current()
	settings := pol.Config.Rules.LoadBalancerTLS
	alb := IsALB(ing, settings)
	if !alb && settings.OtherIngressClasses != config.OtherIngressRequireTLS {
		return nil, nil
	}
	decisions, err := v.Policies.DecideWithPolicy(ctx, pol, ing, config.RuleLoadBalancerTLS, settings.Mode)
	if err != nil {
		return decision.UndecidedValidator(ctx, pol, kindIngress, config.RuleLoadBalancerTLS, "load-balancer TLS", err, settings.Mode)
	}
	finding := decision.Finding{Rule: config.RuleLoadBalancerTLS, Decision: decisions[0]}
	if finding.Decision.Mode != config.ModeOff {
		if !alb {
			finding.Errs = IngressTLSCoverage(ing)
		} else {
			members, err := v.groupMembers(ctx, ing, settings)
			if err != nil {
				return decision.UndecidedValidator(ctx, pol, kindIngress, config.RuleLoadBalancerTLS, "load-balancer TLS", err, finding.Decision.Mode)
			}
			var skipped bool
			finding.Errs, skipped = JudgeIngressGroup(members, settings)
			if skipped {
				logf.FromContext(ctx).V(1).Info("skipping internal ALB", logkeys.IngressGroup, GroupName(ing))
			}
		}
	}
	return decision.ValidatorResult(ctx, kindIngress, finding)
}

// groupMembers returns ing followed by the other ALB Ingresses of its group
// (any namespace: the LBC's group names are cluster-wide), sorted by
// namespace/name; Ingresses being deleted have left the group.
func (v *IngressValidator) groupMembers(ctx context.Context, ing *networkingv1.Ingress, settings config.LoadBalancerTLSSettings) ([]*networkingv1.Ingress, error) {
	members := []*networkingv1.Ingress{ing}
	group := GroupName(ing)
	if group == "" {
		return members, nil
	}
	var list networkingv1.IngressList
	if err := v.Reader.List(ctx, &list, client.MatchingFields{IngressGroupNameField: group}); err != nil {
		return nil, fmt.Errorf("listing the Ingresses of ALB group %q: %w", group, err)
	}
	self := ingressKey(ing)
	for i := range list.Items {
		m := &list.Items[i]
		if ingressKey(m) == self || m.DeletionTimestamp != nil || !IsALB(m, settings) {
			continue
		}
		members = append(members, m)
	}
	slices.SortFunc(members[1:], func(a, b *networkingv1.Ingress) int { return strings.Compare(ingressKey(a), ingressKey(b)) })
	return members, nil
}
