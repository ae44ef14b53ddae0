package lbtls

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/eksguard/eksguard/config"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// portProtocol is one port of listen-ports; entry is the 1-based entry
// that set it (0 for the LBC's default port).
type portProtocol struct {
	port     int32
	protocol string
	entry    int
}

// parseListenPorts reads listen-ports as computeIngressListenPorts does: a
// JSON list of {"PROTOCOL": port} objects, HTTP or HTTPS, ports 1-65535,
// applied in list order, so that a port a later entry lists again takes
// that entry's protocol. The one case the LBC settles by Go map order, a
// port under both protocols in one entry, is an error. overrides says, per
// port, which entry overrode which. On error it returns the detail.
func parseListenPorts(raw string) (ports []portProtocol, overrides map[int32]string, problem string) {
	listenPortsMemo.RLock()
	p, ok := listenPortsMemo.m[raw]
	listenPortsMemo.RUnlock()
	if !ok {
		p.ports, p.overrides, p.problem = parseListenPortsOnce(raw)
		listenPortsMemo.Lock()
		if len(listenPortsMemo.m) >= listenPortsMemoSize {
			clear(listenPortsMemo.m)
		}
		listenPortsMemo.m[raw] = p
		listenPortsMemo.Unlock()
	}
	return p.ports, p.overrides, p.problem
}

// listenPortsMemo keeps parseListenPorts' results by annotation value: every
// admission of a group member parses the other members' listen-ports, which
// rarely change, and a value always parses the same. The results are shared
// and must not be modified. Bounded: emptied when full.
var listenPortsMemo = struct {
	sync.RWMutex
	m map[string]parsedListenPorts
}{m: map[string]parsedListenPorts{}}

const listenPortsMemoSize = 4096

type parsedListenPorts struct {
	ports     []portProtocol
	overrides map[int32]string
	problem   string
}

func parseListenPortsOnce(raw string) (ports []portProtocol, overrides map[int32]string, problem string) {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	var entries []map[string]any
	if err := dec.Decode(&entries); err != nil || dec.More() {
		return nil, nil, "must be a JSON list like " + listenPortsExample
	}
	if len(entries) == 0 {
		return nil, nil, "must list at least one port, like " + listenPortsExample
	}
	byPort := map[int32]int{}
	for i, entry := range entries {
		protocols := make([]string, 0, len(entry))
		for protocol := range entry {
			protocols = append(protocols, protocol)
		}
		slices.Sort(protocols)
		inEntry := map[int32]string{}
		for _, protocol := range protocols {
			if protocol != ingressProtocolHTTP && protocol != ingressProtocolHTTPS {
				return nil, nil, fmt.Sprintf("entry %d: protocol %q must be HTTP or HTTPS", i+1, protocol)
			}
			port, ok := listenPort(entry[protocol])
			if !ok {
				value, _ := json.Marshal(entry[protocol])
				return nil, nil, fmt.Sprintf("entry %d: port of %s must be a number in 1-%d, not %s", i+1, protocol, maxListenPort, value)
			}
			if _, dup := inEntry[port]; dup {
				return nil, nil, fmt.Sprintf("entry %d lists port %d as both HTTP and HTTPS: the LBC picks one at random", i+1, port)
			}
			inEntry[port] = protocol
			pp := portProtocol{port: port, protocol: protocol, entry: i + 1}
			if j, seen := byPort[port]; seen {
				if prev := ports[j]; prev.protocol != protocol {
					if overrides == nil {
						overrides = map[int32]string{}
					}
					overrides[port] = fmt.Sprintf("entry %d of listen-ports makes port %d %s, overriding %s from entry %d",
						pp.entry, port, protocol, prev.protocol, prev.entry)
				}
				ports[j] = pp
				continue
			}
			byPort[port] = len(ports)
			ports = append(ports, pp)
		}
	}
	return ports, overrides, ""
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
	// overrides explain ports a later listen-ports entry changed.
	overrides map[int32]string
	// defaulted: no listen-ports, so the LBC chose the port.
	defaulted bool
	certs     []string
	sslPolicy setting
	// hosts are looked up in ACM when the member has an HTTPS port and no
	// explicit certificate.
	hosts []string
}

// memberListeners follows computeIngressListenPortConfigByPort: without
// listen-ports an Ingress gets HTTPS:443 when it has explicit certificates
// (its IngressClassParams' certificateArn, else certificate-arn), else
// HTTP:80. Certificates found by ACM discovery (spec.tls and rule hosts) do
// not switch that default: the LBC discovers only for Ingresses that already
// have an HTTPS port.
//
// With lbcCertificateManagement, an LBC member annotated create-acm-cert and
// without explicit certificates or a certificate-arn annotation gets the
// certificate the LBC requests for its hosts (buildACMCertificates in
// model_build_certificates.go, which refuses an Ingress without a host).
func memberListeners(m Member, settings config.LoadBalancerTLSSettings) (memberListenConfig, string) {
	certs, _ := m.certificates()
	cfg := memberListenConfig{certs: certs, sslPolicy: m.sslPolicy(settings)}
	if len(certs) == 0 && m.Owner == OwnerLBC && settings.LBCCertificateManagement && m.Annotations[AnnotationCertificateARN] == "" {
		if create, err := strconv.ParseBool(m.Annotations[AnnotationCreateACMCert]); err == nil && create {
			hosts := discoveryHosts(m.Ingress)
			if len(hosts) == 0 {
				return cfg, "create-acm-cert is on but the Ingress has no host in spec.rules[].host or spec.tls[].hosts: the LBC cannot request a certificate"
			}
			cfg.certs = []string{"ACM certificate the LBC requests for " + strings.Join(hosts, ", ")}
		}
	}
	if raw, ok := m.Annotations[AnnotationListenPorts]; ok {
		ports, overrides, problem := parseListenPorts(raw)
		if problem != "" {
			return cfg, problem
		}
		cfg.ports, cfg.overrides = ports, overrides
	} else if len(cfg.certs) > 0 {
		cfg.ports, cfg.defaulted = []portProtocol{{port: defaultIngressHTTPSPort, protocol: ingressProtocolHTTPS}}, true
	} else {
		cfg.ports, cfg.defaulted = []portProtocol{{port: defaultIngressHTTPPort, protocol: ingressProtocolHTTP}}, true
	}
	hasHTTPS := slices.ContainsFunc(cfg.ports, func(p portProtocol) bool { return p.protocol == ingressProtocolHTTPS })
	if hasHTTPS && len(cfg.certs) == 0 {
		cfg.hosts = discoveryHosts(m.Ingress)
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
// protocol and at most one named SSL policy; the SSL redirect must name the
// same port in every member that sets it, and that port must be an HTTPS
// listener (buildSSLRedirectConfig).
func IngressGroupListeners(members []Member, settings config.LoadBalancerTLSSettings) ([]Listener, field.ErrorList) {
	var errs field.ErrorList
	configs := make([]memberListenConfig, len(members))
	for i, m := range members {
		cfg, problem := memberListeners(m, settings)
		if problem != "" {
			annotation := AnnotationListenPorts
			if _, ok := m.Annotations[annotation]; !ok && m.Annotations[AnnotationCreateACMCert] != "" {
				annotation = AnnotationCreateACMCert
			}
			path, who := memberPath(members, i, annotation, setting{})
			errs = append(errs, field.Invalid(path, m.Annotations[annotation], who+problem))
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
				path, _ := memberPath(members, i, AnnotationListenPorts, setting{})
				errs = append(errs, field.Invalid(path, members[i].Annotations[AnnotationListenPorts],
					fmt.Sprintf("port %d is %s in %s but %s in %s: the LBC rejects the group",
						pp.port, l.Protocol, l.Ingresses[0], pp.protocol, ingressKey(members[i].Ingress))))
				continue
			}
			l.Ingresses = append(l.Ingresses, ingressKey(members[i].Ingress))
			if !l.TLS {
				continue
			}
			l.Certificates = union(l.Certificates, cfg.certs)
			l.DiscoveryHosts = union(l.DiscoveryHosts, cfg.hosts)
			if !cfg.sslPolicy.set {
				continue
			}
			if first, named := policyOwner[pp.port]; named && l.SSLPolicy != cfg.sslPolicy.value {
				path, who := memberPath(members, i, AnnotationSSLPolicy, cfg.sslPolicy)
				if cfg.sslPolicy.paramsField == "" {
					who = "" // the message names both members
				}
				errs = append(errs, field.Invalid(path, cfg.sslPolicy.value,
					fmt.Sprintf("%sport %d has ssl-policy %s in %s but %s in %s: the LBC rejects the group (mergeListenPortConfigs)",
						who, pp.port, policyName(l.SSLPolicy), ingressKey(members[first].Ingress), policyName(cfg.sslPolicy.value), ingressKey(members[i].Ingress))))
				continue
			}
			policyOwner[pp.port], l.SSLPolicy = i, cfg.sslPolicy.value
		}
	}

	listeners := make([]Listener, 0, len(byPort))
	for _, l := range byPort {
		// A lone empty ssl-policy reaches AWS as "" (the LBC defaults only
		// a missing one); it is judged as the default.
		if l.TLS && l.SSLPolicy == "" {
			l.SSLPolicy, l.DefaultSSLPolicy = defaultSSLPolicy(members[0].Owner, settings), true
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
// redirects to, or 0 when no member sets one. It follows
// buildSSLRedirectConfig, including its one silent case: an
// IngressClassParams sslRedirectPort that is not a number makes the LBC set
// up no redirect for the whole group, which leaves its HTTP listeners
// plaintext (and the plaintext finding says why).
func groupSSLRedirect(members []Member, listeners []Listener) (int32, field.ErrorList) {
	var errs field.ErrorList
	setBy := map[int32]string{}
	var ports []int32
	for i, m := range members {
		s := m.sslRedirect()
		if !s.set {
			continue
		}
		n, err := strconv.ParseInt(s.value, 10, 32)
		if err != nil && s.paramsField != "" {
			return 0, nil // see ignoredRedirect
		}
		if err != nil || n < 1 || n > maxListenPort {
			path, who := memberPath(members, i, AnnotationSSLRedirect, s)
			errs = append(errs, field.Invalid(path, s.value, who+`must be the number of an HTTPS listen port, e.g. "443"`))
			continue
		}
		port := int32(n)
		if _, seen := setBy[port]; !seen {
			setBy[port] = ingressKey(m.Ingress)
			ports = append(ports, port)
		}
	}
	if len(errs) > 0 || len(ports) == 0 {
		return 0, errs
	}
	own := members[0].sslRedirect()
	path := ownPath(AnnotationSSLRedirect, own)
	if !own.set {
		path = groupPath(members[0])
	}
	if len(ports) > 1 {
		var parts []string
		for _, p := range ports {
			parts = append(parts, fmt.Sprintf("%d (%s)", p, setBy[p]))
		}
		return 0, field.ErrorList{field.Invalid(path, own.value,
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

// ignoredRedirect explains a group without a redirect because an
// IngressClassParams sslRedirectPort is not a number (groupSSLRedirect).
func ignoredRedirect(members []Member) string {
	for _, m := range members {
		if s := m.sslRedirect(); s.paramsField != "" {
			if _, err := strconv.ParseInt(s.value, 10, 32); err != nil {
				return fmt.Sprintf("IngressClassParams %s sslRedirectPort %q is not a number, so the LBC sets up no redirect for the group", m.Params.Name, s.value)
			}
		}
	}
	return ""
}

func union(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	return sets.List(sets.New(a...).Insert(b...))
}

// defaultSSLPolicy is the policy owner gives a TLS listener that names none.
func defaultSSLPolicy(owner Owner, settings config.LoadBalancerTLSSettings) string {
	if owner == OwnerAutoMode {
		return settings.AutoMode.DefaultSSLPolicy
	}
	return settings.ControllerDefaultSSLPolicy
}

// policyName is a policy as messages show it: an empty one as "".
func policyName(p string) string {
	if p == "" {
		return `""`
	}
	return p
}
