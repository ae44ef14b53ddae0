package lbtls

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/eksguard/eksguard/config"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

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
	sslPolicy string
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
	cfg := memberListenConfig{certs: splitList(ann[AnnotationCertificateARN]), sslPolicy: ann[AnnotationSSLPolicy]}
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
			if cfg.sslPolicy == "" {
				continue
			}
			if first, named := policyOwner[pp.port]; named && l.SSLPolicy != cfg.sslPolicy {
				path, _ := memberPath(members, i, AnnotationSSLPolicy)
				errs = append(errs, field.Invalid(path, cfg.sslPolicy,
					fmt.Sprintf("port %d has ssl-policy %s in %s but %s in %s: the LBC rejects the group",
						pp.port, l.SSLPolicy, ingressKey(members[first]), cfg.sslPolicy, ingressKey(members[i]))))
				continue
			}
			policyOwner[pp.port], l.SSLPolicy = i, cfg.sslPolicy
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
