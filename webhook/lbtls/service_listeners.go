package lbtls

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/eksguard/eksguard/config"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ServiceListeners computes the listeners that svc's owner would create.
// Errors are annotations or ports the owner would reject.
func ServiceListeners(svc *corev1.Service, settings config.LoadBalancerTLSSettings) ([]Listener, field.ErrorList) {
	svc = withDefaultProtocols(svc)
	switch OwnerOf(svc) {
	case OwnerLBC, OwnerAutoMode:
		return lbcServiceListeners(svc, settings)
	case OwnerInTreeNLB:
		return inTreeNLBListeners(svc, settings)
	case OwnerInTreeCLB:
		return inTreeCLBListeners(svc, settings)
	}
	return nil, nil
}

// withDefaultProtocols is svc with the API server's defaults, copying svc
// only when it lacks one, so that Services that did not come through the API
// server are judged alike.
func withDefaultProtocols(svc *corev1.Service) *corev1.Service {
	if svc.Spec.Type != "" && !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Protocol == "" }) {
		return svc
	}
	svc = svc.DeepCopy()
	ApplyServerDefaults(svc)
	return svc
}

// ApplyServerDefaults sets, in place, the defaults the API server gives the
// Service fields this rule reads (SetDefaults_Service in k8s.io/kubernetes
// pkg/apis/core/v1): type ClusterIP, and protocol TCP on every port. check
// applies them to its input the same way.
func ApplyServerDefaults(svc *corev1.Service) {
	if svc.Spec.Type == "" {
		svc.Spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Protocol == "" {
			svc.Spec.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
}

// serviceSSLPolicy is the negotiation policy of the Service's TLS listeners. An
// empty annotation counts as none: the LBC applies its --default-ssl-policy;
// the in-tree provider sets no policy, so AWS applies its own default; Auto
// Mode applies its own, and reads the annotation only when settings say it
// does (autoMode.sslPolicyAnnotations).
func serviceSSLPolicy(svc *corev1.Service, owner Owner, settings config.LoadBalancerTLSSettings) (sslPolicy string, isDefault bool) {
	p := svc.Annotations[AnnotationSSLNegotiation]
	switch {
	case owner == OwnerAutoMode && (p == "" || !settings.AutoMode.SSLPolicyAnnotations):
		return settings.AutoMode.DefaultSSLPolicy, true
	case p != "":
		return p, false
	case owner == OwnerLBC:
		return settings.ControllerDefaultSSLPolicy, true
	}
	return config.AWSDefaultSSLPolicy, true
}

func portsPath(i int) *field.Path { return field.NewPath("spec", "ports").Index(i) }

// lbcServiceListeners follows the LBC: a port gets TLS when certificates are
// set, it is neither UDP nor a merged TCP_UDP port, and ssl-ports is empty or
// names it (by name or number). An ssl-ports entry that names no port ("*"
// is an ordinary entry) makes the LBC refuse the whole Service.
//
// Auto Mode is read the same way with two differences, both where its guide
// is silent: an ssl-ports entry that names no port is not taken for a
// refusal (its listeners are judged instead), and quic-enabled-ports, which
// its guide does not list, is not honoured (a UDP port stays UDP).
func lbcServiceListeners(svc *corev1.Service, settings config.LoadBalancerTLSSettings) ([]Listener, field.ErrorList) {
	ann := svc.Annotations
	owner := OwnerOf(svc)
	certs := splitList(ann[AnnotationSSLCert])
	if owner == OwnerLBC {
		if err := unusedSSLPorts(svc); err != nil {
			return nil, field.ErrorList{err}
		}
	}
	tlsPorts := sets.New(splitList(ann[AnnotationSSLPorts])...)
	var quicPorts sets.Set[string]
	if owner == OwnerLBC {
		quicPorts = sets.New(splitList(ann[AnnotationQUICEnabledPorts])...)
	}
	backendTLS := ann[AnnotationBackendProtocol] == backendProtocolSSL
	sslPolicy, isDefault := serviceSSLPolicy(svc, owner, settings)

	groups, errs := lbcPortGroups(svc)
	listeners := make([]Listener, 0, len(groups))
	for _, group := range groups {
		port := svc.Spec.Ports[group[0]]
		protocol := string(port.Protocol)
		if len(group) > 1 {
			protocol = ProtocolTCPUDP
		}
		number := strconv.Itoa(int(port.Port))
		l := Listener{Port: port.Port, Protocol: protocol, BackendProtocol: protocol, PortIndex: group[0], PortName: port.Name}
		if protocol != ProtocolUDP && protocol != ProtocolTCPUDP && len(certs) > 0 &&
			(tlsPorts.Len() == 0 || tlsPorts.Has(port.Name) || tlsPorts.Has(number)) {
			l.Protocol, l.TLS, l.Certificates = ProtocolTLS, true, certs
			l.SSLPolicy, l.DefaultSSLPolicy = sslPolicy, isDefault
			if backendTLS {
				l.BackendProtocol = ProtocolTLS
			}
		}
		if quicPorts.Has(port.Name) || quicPorts.Has(number) {
			switch l.Protocol {
			case ProtocolUDP:
				l.Protocol, l.BackendProtocol = ProtocolQUIC, ProtocolQUIC
			case ProtocolTCPUDP:
				l.Protocol, l.BackendProtocol = ProtocolTCPQUIC, ProtocolTCPQUIC
			default:
				errs = append(errs, field.Invalid(annotationsPath.Key(AnnotationQUICEnabledPorts), ann[AnnotationQUICEnabledPorts],
					fmt.Sprintf("port %d is %s: QUIC applies only to UDP or TCP_UDP ports", port.Port, l.Protocol)))
				continue
			}
		}
		listeners = append(listeners, l)
	}
	return listeners, errs
}

// unusedSSLPorts follows validateTLSPortsSet (the LBC's
// pkg/service/model_build_listener.go): every ssl-ports entry must name a
// Service port, by name or number, or the LBC fails to build the load
// balancer ("Unused port in ssl-ports annotation") and changes nothing.
func unusedSSLPorts(svc *corev1.Service) *field.Error {
	raw := svc.Annotations[AnnotationSSLPorts]
	var unused []string
	for _, entry := range splitList(raw) {
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool {
			return p.Name == entry || strconv.Itoa(int(p.Port)) == entry
		}) {
			unused = append(unused, strconv.Quote(entry))
		}
	}
	if len(unused) == 0 {
		return nil
	}
	fix := "list Service port names or numbers"
	if slices.Contains(unused, strconv.Quote(inTreeAllSSLPorts)) {
		fix = `"*" is no wildcard for the LBC: leave ssl-ports out for TLS on every TCP port, or ` + fix
	}
	return field.Invalid(annotationsPath.Key(AnnotationSSLPorts), raw, fmt.Sprintf(
		"%s names no port of the Service: the LBC refuses to build or update the load balancer (\"Unused port in ssl-ports annotation\"); %s",
		strings.Join(unused, ", "), fix))
}

// lbcPortGroups lists the Service ports that become one listener each, as
// indexes into spec.ports. With the TCP_UDP listener enabled on the Service,
// a TCP and a UDP port of the same number merge into one listener.
func lbcPortGroups(svc *corev1.Service) ([][]int, field.ErrorList) {
	ports := svc.Spec.Ports
	groups := make([][]int, 0, len(ports))
	merge, err := strconv.ParseBool(svc.Annotations[AnnotationTCPUDPListener])
	if err != nil || !merge {
		for i := range ports {
			groups = append(groups, []int{i})
		}
		return groups, nil
	}
	byNumber := make(map[int32]int, len(ports))
	for i, p := range ports {
		if g, ok := byNumber[p.Port]; ok {
			groups[g] = append(groups[g], i)
			continue
		}
		byNumber[p.Port] = len(groups)
		groups = append(groups, []int{i})
	}
	var errs field.ErrorList
	valid := groups[:0]
	for _, g := range groups {
		if len(g) > 1 && !isTCPAndUDP(ports, g) {
			errs = append(errs, field.Invalid(portsPath(g[1]).Child("protocol"), ports[g[1]].Protocol,
				fmt.Sprintf("the LBC merges port %d only from one TCP and one UDP port", ports[g[0]].Port)))
			continue
		}
		valid = append(valid, g)
	}
	return valid, errs
}

func isTCPAndUDP(ports []corev1.ServicePort, group []int) bool {
	if len(group) != 2 {
		return false
	}
	a, b := ports[group[0]].Protocol, ports[group[1]].Protocol
	return (a == corev1.ProtocolTCP && b == corev1.ProtocolUDP) || (a == corev1.ProtocolUDP && b == corev1.ProtocolTCP)
}

// inTreeSSLPorts is the in-tree provider's reading of ssl-ports: "" or "*"
// mean every port; otherwise entries split on "," without trimming, numbers
// by strconv.Atoi and everything else as port names.
type inTreeSSLPorts struct {
	all     bool
	names   sets.Set[string]
	numbers sets.Set[int]
}

func parseInTreeSSLPorts(raw string) inTreeSSLPorts {
	if raw == "" || raw == inTreeAllSSLPorts {
		return inTreeSSLPorts{all: true}
	}
	p := inTreeSSLPorts{names: sets.New[string](), numbers: sets.New[int]()}
	for _, item := range strings.Split(raw, ",") {
		if n, err := strconv.Atoi(item); err == nil {
			p.numbers.Insert(n)
		} else {
			p.names.Insert(item)
		}
	}
	return p
}

func (p inTreeSSLPorts) covers(name string, number int32) bool {
	return p.all || p.names.Has(name) || p.numbers.Has(int(number))
}

// inTreeNLBListeners follows the in-tree provider for type "nlb": TCP and UDP
// ports only; TLS for non-UDP ports when a certificate is set and ssl-ports
// covers the port.
func inTreeNLBListeners(svc *corev1.Service, settings config.LoadBalancerTLSSettings) ([]Listener, field.ErrorList) {
	ann := svc.Annotations
	cert := ann[AnnotationSSLCert]
	sslPorts := parseInTreeSSLPorts(ann[AnnotationSSLPorts])
	sslPolicy, isDefault := serviceSSLPolicy(svc, OwnerOf(svc), settings)
	var errs field.ErrorList
	listeners := make([]Listener, 0, len(svc.Spec.Ports))
	for i, port := range svc.Spec.Ports {
		if withoutNodePort(svc, port) {
			continue
		}
		if port.Protocol != corev1.ProtocolTCP && port.Protocol != corev1.ProtocolUDP {
			errs = append(errs, field.Invalid(portsPath(i).Child("protocol"), port.Protocol,
				"the in-tree NLB supports only TCP and UDP ports"))
			continue
		}
		protocol := string(port.Protocol)
		l := Listener{Port: port.Port, Protocol: protocol, BackendProtocol: protocol, PortIndex: i, PortName: port.Name}
		if port.Protocol != corev1.ProtocolUDP && cert != "" && sslPorts.covers(port.Name, port.Port) {
			l.Protocol, l.TLS, l.Certificates = ProtocolTLS, true, []string{cert}
			l.SSLPolicy, l.DefaultSSLPolicy = sslPolicy, isDefault
			if ann[AnnotationBackendProtocol] == backendProtocolSSL {
				l.BackendProtocol = ProtocolTLS
			}
		}
		listeners = append(listeners, l)
	}
	return listeners, errs
}

// inTreeCLBListeners follows the in-tree provider for Classic Load
// Balancers: TCP ports only; a covered port with a certificate gets an SSL or
// HTTPS listener by backend-protocol; otherwise backend-protocol "http" makes
// an HTTP listener and anything else a TCP one.
func inTreeCLBListeners(svc *corev1.Service, settings config.LoadBalancerTLSSettings) ([]Listener, field.ErrorList) {
	ann := svc.Annotations
	cert := ann[AnnotationSSLCert]
	backend := ann[AnnotationBackendProtocol]
	sslPorts := parseInTreeSSLPorts(ann[AnnotationSSLPorts])
	sslPolicy, isDefault := serviceSSLPolicy(svc, OwnerOf(svc), settings)
	var errs field.ErrorList
	listeners := make([]Listener, 0, len(svc.Spec.Ports))
	for i, port := range svc.Spec.Ports {
		if withoutNodePort(svc, port) {
			continue
		}
		if port.Protocol != corev1.ProtocolTCP {
			errs = append(errs, field.Invalid(portsPath(i).Child("protocol"), port.Protocol,
				"the in-tree Classic Load Balancer supports only TCP ports"))
			continue
		}
		l := Listener{Port: port.Port, Protocol: ProtocolTCP, BackendProtocol: ProtocolTCP, PortIndex: i, PortName: port.Name}
		if cert != "" && sslPorts.covers(strings.ToLower(port.Name), port.Port) {
			protocols, ok := clbTLSProtocols[backend]
			if !ok {
				return nil, append(errs, field.Invalid(annotationsPath.Key(AnnotationBackendProtocol), backend,
					"must be one of http, https, ssl, tcp"))
			}
			l.Protocol, l.BackendProtocol, l.TLS, l.Certificates = protocols[0], protocols[1], true, []string{cert}
			l.SSLPolicy, l.DefaultSSLPolicy = sslPolicy, isDefault
		} else if backend == backendProtocolHTTP {
			l.Protocol, l.BackendProtocol = ProtocolHTTP, ProtocolHTTP
		}
		listeners = append(listeners, l)
	}
	return listeners, errs
}

// withoutNodePort reports a port the in-tree provider skips: EnsureLoadBalancer
// (cloud-provider-aws pkg/providers/v1/aws.go) ignores ports without a node
// port ("Ignoring port without NodePort defined"), for NLBs and CLBs alike.
// The API server allocates node ports before validating webhooks run unless
// spec.allocateLoadBalancerNodePorts is false, so only then can one be 0.
func withoutNodePort(svc *corev1.Service, port corev1.ServicePort) bool {
	allocate := svc.Spec.AllocateLoadBalancerNodePorts
	return port.NodePort == 0 && allocate != nil && !*allocate
}

// clbTLSProtocols maps the in-tree backend-protocol of a TLS port to its
// listener and instance protocols.
var clbTLSProtocols = map[string][2]string{
	"":                   {ProtocolSSL, ProtocolTCP},
	backendProtocolHTTPS: {ProtocolHTTPS, ProtocolHTTPS},
	backendProtocolHTTP:  {ProtocolHTTPS, ProtocolHTTP},
	backendProtocolSSL:   {ProtocolSSL, ProtocolSSL},
	backendProtocolTCP:   {ProtocolSSL, ProtocolTCP},
}
