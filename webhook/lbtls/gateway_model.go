package lbtls

// What the LBC builds from a Gateway: its listeners and those of the
// ListenerSets it allows, the routes attached to each, one ELB listener per
// port that has a route, and the LoadBalancerConfiguration that gives TLS
// listeners their policy and certificates. Function names in comments are
// the LBC's (pkg/gateway/routeutils, pkg/gateway/model, at v3.5.0-8).

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/eksguard/eksguard/config"
)

// The owners of Gateways the LBC builds.
const (
	OwnerGatewayALB Owner = "AWS Load Balancer Controller (Gateway API, ALB)"
	OwnerGatewayNLB Owner = "AWS Load Balancer Controller (Gateway API, NLB)"
)

// GatewayOwnerOf is the owner of a GatewayClass's Gateways, by its
// controllerName only (reconcileHelper in gateway_controller.go); OwnerNone
// for another controller's.
func GatewayOwnerOf(class *GatewayClass) Owner {
	if class == nil {
		return OwnerNone
	}
	switch class.Spec.ControllerName {
	case GatewayControllerALB:
		return OwnerGatewayALB
	case GatewayControllerNLB:
		return OwnerGatewayNLB
	}
	return OwnerNone
}

// Gateway listener and ELB protocols.
const (
	tlsModePassthrough = "Passthrough"
	kindListenerSet    = "ListenerSet"
)

// gatewayProtocols are the listener protocols each controller supports
// (validateListenerList), and gatewayRouteKinds the route kinds.
var (
	gatewayProtocols = map[Owner]sets.Set[string]{
		OwnerGatewayALB: sets.New(ProtocolHTTP, ProtocolHTTPS),
		OwnerGatewayNLB: sets.New(ProtocolTCP, ProtocolUDP, ProtocolTLS),
	}
	gatewayRouteKinds = map[Owner]sets.Set[string]{
		OwnerGatewayALB: sets.New(HTTPRouteKind.GVK.Kind, GRPCRouteKind.GVK.Kind),
		OwnerGatewayNLB: sets.New(TCPRouteKind.GVK.Kind, TLSRouteKind.GVK.Kind, UDPRouteKind.GVK.Kind),
	}
	// defaultRouteKinds are the kinds a listener without allowedRoutes.kinds
	// takes (DefaultProtocolToRouteKindMap).
	defaultRouteKinds = map[string]sets.Set[string]{
		ProtocolTCP:   sets.New(TCPRouteKind.GVK.Kind),
		ProtocolUDP:   sets.New(UDPRouteKind.GVK.Kind),
		ProtocolTLS:   sets.New(TLSRouteKind.GVK.Kind, TCPRouteKind.GVK.Kind),
		ProtocolHTTP:  sets.New(HTTPRouteKind.GVK.Kind),
		ProtocolHTTPS: sets.New(HTTPRouteKind.GVK.Kind, GRPCRouteKind.GVK.Kind),
	}
	// hostnameKinds are the route kinds whose hostnames must meet the
	// listener's (hostnameCheck).
	hostnameKinds = sets.New(HTTPRouteKind.GVK.Kind, GRPCRouteKind.GVK.Kind, TLSRouteKind.GVK.Kind)
)

// GatewayModel is what the LBC reads to build one Gateway.
type GatewayModel struct {
	Gateway *Gateway
	Owner   Owner
	// Config is the LoadBalancerConfiguration in force (MergeConfigs), nil for none.
	Config *LoadBalancerConfiguration
	// ListenerSets and Routes are the candidates: those naming the Gateway
	// (or, for routes, its ListenerSets); the model decides which attach.
	ListenerSets []*ListenerSet
	Routes       []*Route
	// NamespaceLabels reads a namespace's labels, for Selector.
	NamespaceLabels func(namespace string) (labels.Set, error)
}

// listenerEntry is one Gateway or ListenerSet listener.
type listenerEntry struct {
	GatewayListener
	// set is the ListenerSet (namespace/name) it is from; "" for the Gateway.
	set string
	// namespace is its parent's, for allowedRoutes Same.
	namespace string
	// index is its position in the parent's spec.listeners.
	index int
	valid bool
}

// elbProtocol is the ELB protocol of a listener: TLS Passthrough is TCP
// (mapGatewayListenerConfigsByPort).
func (e listenerEntry) elbProtocol() string {
	if e.Protocol == ProtocolTLS && e.TLS != nil && e.TLS.Mode != nil && *e.TLS.Mode == tlsModePassthrough {
		return ProtocolTCP
	}
	return e.Protocol
}

// GatewayPort is the ELB listener of one port.
type GatewayPort struct {
	Listener
	// Entries are the valid listeners on the port, in validation order.
	Entries []listenerEntry
	// Routes are the routes attached on the port, with the hostnames they
	// are compatible with.
	Routes []*Route
	// Built: a route is attached (and, on an NLB, its backends are used).
	Built bool
	// Forwarding names the HTTP rules that forward ("HTTPRoute ns/name
	// rule 1"), and RedirectingToHTTP those that redirect to plain HTTP.
	Forwarding, RedirectingToHTTP []string
	// forwardingRules are Forwarding's rules by route key, for route admissions.
	forwardingRules map[string][]int
}

// GatewayBuild is the model's outcome.
type GatewayBuild struct {
	// Ports are the ports of valid listeners, by number.
	Ports []*GatewayPort
	// NotBuilt says why the LBC builds nothing (a model error: nothing is
	// created or changed on AWS).
	NotBuilt string
	// Internal: the load balancer's scheme is internal.
	Internal bool
}

// Build computes what the LBC builds (LoadRoutesForGateway, buildListeners).
func (m GatewayModel) Build(settings config.LoadBalancerTLSSettings) (GatewayBuild, error) {
	var out GatewayBuild
	gw := m.Gateway
	out.Internal = true // buildLoadBalancerScheme: --default-load-balancer-scheme internal
	if m.Config != nil && m.Config.Spec.Scheme != nil {
		out.Internal = *m.Config.Spec.Scheme == schemeInternal
	}
	entries, err := m.entries()
	if err != nil {
		return out, err
	}
	// Gateways have a few listeners: ports are found by a scan.
	portOf := func(port int32) *GatewayPort {
		for _, p := range out.Ports {
			if p.Port == port {
				return p
			}
		}
		return nil
	}
	for _, e := range entries {
		if !e.valid {
			continue
		}
		p := portOf(e.Port)
		if p == nil {
			p = &GatewayPort{Listener: Listener{Port: e.Port, PortIndex: -1}}
			out.Ports = append(out.Ports, p)
		}
		p.Entries = append(p.Entries, e)
	}
	hostnames := make([][]string, len(out.Ports))
	for _, r := range m.Routes {
		if !gatewayRouteKinds[m.Owner].Has(r.Kind) {
			continue
		}
		for _, ref := range r.Spec.ParentRefs {
			for _, e := range entries {
				if !e.valid || !refTargets(r, ref, gw, e) {
					continue
				}
				ok, compatible, err := m.attaches(r, e)
				if err != nil {
					return out, err
				}
				if !ok {
					continue
				}
				i := slices.IndexFunc(out.Ports, func(p *GatewayPort) bool { return p.Port == e.Port })
				hostnames[i] = append(hostnames[i], compatible...)
				if p := out.Ports[i]; !slices.Contains(p.Routes, r) {
					p.Routes = append(p.Routes, r)
				}
			}
		}
	}
	for i, p := range out.Ports {
		if problem := m.buildPort(p, hostnames[i], settings); problem != "" && out.NotBuilt == "" {
			out.NotBuilt = problem
		}
	}
	slices.SortFunc(out.Ports, func(a, b *GatewayPort) int { return cmp.Compare(a.Port, b.Port) })
	return out, nil
}

// entries are the Gateway's listeners and then those of the ListenerSets it
// accepts (oldest first, then by namespace/name: arrangeListenerSetsForValidation),
// each marked valid as validateListeners does: a protocol and route kinds
// the controller supports, a port in range, and no conflict with an earlier
// listener on its port (another protocol, TCP with UDP aside, or the same
// hostname).
func (m GatewayModel) entries() ([]listenerEntry, error) {
	gw := m.Gateway
	var entries []listenerEntry
	for i, l := range gw.Spec.Listeners {
		entries = append(entries, listenerEntry{GatewayListener: l, namespace: gw.Namespace, index: i})
	}
	var sets []*ListenerSet
	if len(m.ListenerSets) > 0 {
		sets = slices.Clone(m.ListenerSets)
		slices.SortFunc(sets, func(a, b *ListenerSet) int {
			if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
				return c
			}
			return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
		})
	}
	for _, ls := range sets {
		ok, err := m.acceptsListenerSet(ls)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		for i, l := range ls.Spec.Listeners {
			entries = append(entries, listenerEntry{GatewayListener: l, set: ls.Namespace + "/" + ls.Name, namespace: ls.Namespace, index: i})
		}
	}
	for i := range entries {
		e := &entries[i]
		if !gatewayProtocols[m.Owner].Has(e.Protocol) || e.Port < 1 || e.Port > maxListenPort || !m.supportsKinds(*e) {
			continue
		}
		conflict := false
		for _, earlier := range entries[:i] {
			if !earlier.valid || earlier.Port != e.Port {
				continue
			}
			// ProtocolConflict (the first listener wins), HostnameConflict.
			conflict = conflict || (earlier.Protocol != e.Protocol && !isTCPUDPPair(earlier.Protocol, e.Protocol)) ||
				(e.Hostname != nil && *e.Hostname != "" && earlier.Hostname != nil && *earlier.Hostname == *e.Hostname)
		}
		e.valid = !conflict
	}
	return entries, nil
}

func isTCPUDPPair(a, b string) bool {
	return (a == ProtocolTCP && b == ProtocolUDP) || (a == ProtocolUDP && b == ProtocolTCP)
}

// supportsKinds: every route kind a listener lists is one the controller
// attaches (InvalidRouteKinds otherwise).
func (m GatewayModel) supportsKinds(e listenerEntry) bool {
	if e.AllowedRoutes == nil {
		return true
	}
	for _, k := range e.AllowedRoutes.Kinds {
		if !gatewayRouteKinds[m.Owner].Has(k.Kind) {
			return false
		}
	}
	return true
}

// acceptsListenerSet: the ListenerSet names the Gateway, and the Gateway's
// allowedListeners (None unless set) admits its namespace
// (listenerSetGatewayHandshake).
func (m GatewayModel) acceptsListenerSet(ls *ListenerSet) (bool, error) {
	gw := m.Gateway
	if ls.GatewayKey() != gw.Namespace+"/"+gw.Name {
		return false, nil
	}
	var from *RouteNamespaces
	if gw.Spec.AllowedListeners != nil {
		from = gw.Spec.AllowedListeners.Namespaces
	}
	return m.allowsNamespace(from, "None", gw.Namespace, ls.Namespace)
}

// allowsNamespace follows doesResourceAllowNamespace: From (defaulting to
// def) Same, All, or Selector over the namespace's labels; anything else,
// and a Selector without a selector, denies.
func (m GatewayModel) allowsNamespace(ns *RouteNamespaces, def, parentNamespace, namespace string) (bool, error) {
	from := def
	if ns != nil && ns.From != nil {
		from = *ns.From
	}
	switch from {
	case "Same":
		return parentNamespace == namespace, nil
	case "All":
		return true, nil
	case "Selector":
		if ns.Selector == nil {
			return false, nil
		}
		selector, err := metav1.LabelSelectorAsSelector(ns.Selector)
		if err != nil {
			return false, nil
		}
		set, err := m.NamespaceLabels(namespace)
		if err != nil {
			return false, err
		}
		return selector.Matches(set), nil
	}
	return false, nil
}

// refTargets: a route's parentRef names the listener: the Gateway (every
// one of its own listeners, or the one of sectionName) or the ListenerSet
// the listener is from, and port, when set, is the listener's
// (doesResourceAttachToGateway, resolveParentRef).
func refTargets(r *Route, ref ParentReference, gw *Gateway, e listenerEntry) bool {
	key := r.parentKey(ref)
	switch {
	case e.set == "" && key == GatewayKind.GVK.Kind+"/"+gw.Namespace+"/"+gw.Name:
	case e.set != "" && key == kindListenerSet+"/"+e.set:
	default:
		return false
	}
	if ref.SectionName != nil && *ref.SectionName != "" && *ref.SectionName != e.Name {
		return false
	}
	return ref.Port == nil || *ref.Port == e.Port
}

// attaches: the listener allows the route's namespace (Same by default)
// and kind (by name; defaults by protocol), and their hostnames meet
// (attemptListenerRouteAttachment). compatible are the hostnames they share.
func (m GatewayModel) attaches(r *Route, e listenerEntry) (ok bool, compatible []string, err error) {
	var from *RouteNamespaces
	kinds := defaultRouteKinds[e.Protocol]
	if a := e.AllowedRoutes; a != nil {
		from = a.Namespaces
		if len(a.Kinds) > 0 {
			kinds = sets.New[string]()
			for _, k := range a.Kinds {
				kinds.Insert(k.Kind)
			}
		}
	}
	if ok, err := m.allowsNamespace(from, "Same", e.namespace, r.Namespace); !ok || err != nil {
		return false, nil, err
	}
	if !kinds.Has(r.Kind) {
		return false, nil, nil
	}
	var listenerHost string
	if e.Hostname != nil {
		listenerHost = *e.Hostname
	}
	if !hostnameKinds.Has(r.Kind) {
		return true, nil, nil
	}
	switch {
	case len(r.Spec.Hostnames) == 0 && listenerHost == "":
		return true, nil, nil
	case len(r.Spec.Hostnames) == 0:
		return true, []string{listenerHost}, nil
	case listenerHost == "":
		return true, r.Spec.Hostnames, nil
	}
	for _, h := range r.Spec.Hostnames {
		if c := compatibleHostname(listenerHost, h); c != "" {
			compatible = append(compatible, c)
		}
	}
	return len(compatible) > 0, compatible, nil
}

// compatibleHostname is the more specific of a listener and a route
// hostname that match, "" when they do not (a "*." wildcard matches one or
// more labels).
func compatibleHostname(listener, route string) string {
	switch {
	case listener == route:
		return route
	case wildcardMatches(listener, route):
		return route
	case wildcardMatches(route, listener):
		return listener
	}
	return ""
}

func wildcardMatches(pattern, host string) bool {
	suffix, ok := strings.CutPrefix(pattern, "*")
	return ok && strings.HasPrefix(suffix, ".") && strings.HasSuffix(host, suffix) && len(host) > len(suffix) &&
		(!strings.HasPrefix(host, "*") || len(host) > len(pattern))
}

// buildPort fills in the port's ELB listener, as buildListener does, and
// returns a problem that fails the Gateway's whole build.
func (m GatewayModel) buildPort(p *GatewayPort, hostnames []string, settings config.LoadBalancerTLSSettings) string {
	protocol := ""
	p.Built = len(p.Routes) > 0
	for _, e := range p.Entries {
		switch ep := e.elbProtocol(); {
		case protocol == "" || protocol == ep:
			protocol = ep
		case isTCPUDPPair(protocol, ep):
			protocol = ProtocolTCPUDP
		default:
			p.Protocol = protocol
			return fmt.Sprintf("port %d has listeners of protocols %s and %s: the LBC fails to build the Gateway (mergeProtocols)", p.Port, protocol, ep)
		}
	}
	p.Protocol, p.BackendProtocol = protocol, protocol
	entry := m.configEntry(protocol, p.Port)
	if entry != nil && entry.QuicEnabled != nil && *entry.QuicEnabled {
		switch protocol {
		case ProtocolUDP:
			p.Protocol = ProtocolQUIC
		case ProtocolTCPUDP:
			p.Protocol = ProtocolTCPQUIC
		default:
			return fmt.Sprintf("quicEnabled on %s:%d: the LBC fails to build the Gateway (QUIC protocol upgrade not supported)", protocol, p.Port)
		}
	}
	switch p.Protocol {
	case ProtocolHTTPS, ProtocolTLS:
		p.TLS = true
		p.SSLPolicy, p.DefaultSSLPolicy = settings.ControllerDefaultSSLPolicy, true
		if entry != nil && entry.SSLPolicy != nil {
			p.SSLPolicy, p.DefaultSSLPolicy = *entry.SSLPolicy, false
		}
		if entry != nil && entry.DefaultCertificate != nil {
			p.Certificates = append(p.Certificates, *entry.DefaultCertificate)
		}
		if entry != nil {
			p.Certificates = append(p.Certificates, entry.Certificates...)
		}
		if len(p.Certificates) == 0 {
			hosts := sets.New(hostnames...)
			for _, e := range p.Entries {
				if e.Hostname != nil && *e.Hostname != "" {
					hosts.Insert(*e.Hostname)
				}
			}
			p.DiscoveryHosts = sets.List(hosts)
			if p.Built && len(p.DiscoveryHosts) == 0 {
				return fmt.Sprintf("%s has no certificate in a LoadBalancerConfiguration and no hostname to discover one by: "+
					"the LBC fails to build the Gateway (buildInferredTLSCertARNs)", p.Listener)
			}
		}
	case ProtocolHTTP:
		if problem := m.httpRules(p); problem != "" {
			return problem
		}
	case ProtocolTCP, ProtocolUDP, ProtocolTCPUDP, ProtocolTCPQUIC, ProtocolQUIC:
		p.Built = p.Built && l4Built(p.Routes)
	}
	return ""
}

// configEntry is the Config entry of an ELB listener: its protocolPort,
// lower-cased, is the effective protocol and the port
// (mapLoadBalancerListenerConfigsByPort).
func (m GatewayModel) configEntry(protocol string, port int32) *ListenerConfiguration {
	if m.Config == nil {
		return nil
	}
	key := strings.ToLower(protocol) + ":" + strconv.Itoa(int(port))
	for i := range m.Config.Spec.ListenerConfigurations {
		if strings.ToLower(m.Config.Spec.ListenerConfigurations[i].ProtocolPort) == key {
			return &m.Config.Spec.ListenerConfigurations[i]
		}
	}
	return nil
}

// httpRules sorts an HTTP port's rules: a RequestRedirect filter makes a
// redirect (it overwrites forward), backends with a weight make a forward,
// and neither a fixed 500 (BuildRuleRoutingAction). Filters the LBC cannot
// build fail the Gateway's build.
func (m GatewayModel) httpRules(p *GatewayPort) string {
	redirectsOnly := true
	for _, r := range p.Routes {
		var key string
		for i, rule := range r.Spec.Rules {
			if key == "" {
				key = r.Kind + " " + r.Namespace + "/" + r.Name
			}
			redirect := ""
			for _, f := range rule.Filters {
				switch {
				case f.Type == "RequestRedirect" && r.Kind == HTTPRouteKind.GVK.Kind:
					redirect = "http"
					if f.RequestRedirect != nil && f.RequestRedirect.Scheme != nil {
						redirect = strings.ToLower(*f.RequestRedirect.Scheme)
					}
				case f.Type == "ExtensionRef", f.Type == "URLRewrite" && r.Kind == HTTPRouteKind.GVK.Kind:
				default:
					return fmt.Sprintf("%s rule %d has filter %s: the LBC fails to build the Gateway", key, i+1, f.Type)
				}
			}
			switch {
			case redirect == "https":
			case redirect != "":
				redirectsOnly = false
				p.RedirectingToHTTP = append(p.RedirectingToHTTP, fmt.Sprintf("%s rule %d", key, i+1))
			case hasWeight(rule):
				redirectsOnly = false
				p.Forwarding = append(p.Forwarding, fmt.Sprintf("%s rule %d", key, i+1))
				if p.forwardingRules == nil {
					p.forwardingRules = map[string][]int{}
				}
				p.forwardingRules[key] = append(p.forwardingRules[key], i)
			}
		}
	}
	p.Redirect = p.Built && redirectsOnly
	if p.Redirect {
		p.RedirectPort = defaultIngressHTTPSPort
	}
	return ""
}

func hasWeight(rule RouteRule) bool {
	return slices.ContainsFunc(rule.BackendRefs, func(b BackendRef) bool { return b.Weight == nil || *b.Weight != 0 })
}

// l4Built: an NLB listener takes its backends from one route, the oldest
// (then by namespace/name), and is skipped when it has no backend with a
// weight (pickOneL4Route, buildL4TargetGroupTuples). Whether the backends
// resolve is not known at admission: a weighted backend counts as built.
func l4Built(routes []*Route) bool {
	if len(routes) == 0 {
		return false
	}
	picked := slices.MinFunc(routes, func(a, b *Route) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return slices.ContainsFunc(picked.Spec.Rules, hasWeight)
}

// MergeConfigs is the LoadBalancerConfiguration in force from the
// GatewayClass's and the Gateway's (lb_config_merger.go Merge): the class's
// has priority unless its mergingMode is prefer-gateway; each scalar comes
// from the side with priority when it sets it; listener entries are taken
// whole per protocolPort from the side with priority, then the other's for
// the rest.
func MergeConfigs(class, gateway *LoadBalancerConfiguration) *LoadBalancerConfiguration {
	switch {
	case class == nil:
		return gateway
	case gateway == nil:
		return class
	}
	high, low := class, gateway
	if class.Spec.MergingMode != nil && *class.Spec.MergingMode == "prefer-gateway" {
		high, low = gateway, class
	}
	out := &LoadBalancerConfiguration{}
	out.Name, out.Namespace = high.Name, high.Namespace
	out.Spec.Scheme = cmp.Or(high.Spec.Scheme, low.Spec.Scheme)
	seen := sets.New[string]()
	for _, e := range high.Spec.ListenerConfigurations {
		seen.Insert(e.ProtocolPort)
		out.Spec.ListenerConfigurations = append(out.Spec.ListenerConfigurations, e)
	}
	for _, e := range low.Spec.ListenerConfigurations {
		if !seen.Has(e.ProtocolPort) {
			out.Spec.ListenerConfigurations = append(out.Spec.ListenerConfigurations, e)
		}
	}
	return out
}
