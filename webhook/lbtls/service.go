package lbtls

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/decision"

	"github.com/eksguard/eksguard/internal/logkeys"
)

// ServiceOwner is the controller that builds a Service's load balancer.
type ServiceOwner string

const (
	// OwnerNone: the Service gets no AWS load balancer.
	OwnerNone ServiceOwner = ""
	// OwnerOtherClass: spec.loadBalancerClass names another controller.
	OwnerOtherClass ServiceOwner = "another load balancer class"
	// OwnerLBC: the AWS Load Balancer Controller builds an NLB.
	OwnerLBC ServiceOwner = "AWS Load Balancer Controller"
	// OwnerInTreeNLB: the in-tree provider builds an NLB (type "nlb").
	OwnerInTreeNLB ServiceOwner = "in-tree NLB"
	// OwnerInTreeCLB: the in-tree provider builds a Classic Load Balancer.
	OwnerInTreeCLB ServiceOwner = "in-tree CLB"
)

// OwnerOf decides which controller builds svc's load balancer. The LBC takes
// Services of its class and, without a class, those annotated type
// "external" or "nlb-ip" whatever their spec.type (unless its
// ServiceTypeLoadBalancerOnly gate is on). It also wants a target-type with
// "external"; such a Service is judged as the LBC's anyway, since it is one
// annotation away from getting an NLB. The in-tree provider takes the
// remaining type LoadBalancer Services.
func OwnerOf(svc *corev1.Service) ServiceOwner {
	if class := svc.Spec.LoadBalancerClass; class != nil {
		if *class == LBCLoadBalancerClass {
			return OwnerLBC
		}
		return OwnerOtherClass
	}
	lbType := svc.Annotations[AnnotationLoadBalancerType]
	if lbType == loadBalancerTypeExternal || lbType == loadBalancerTypeNLBIP {
		return OwnerLBC
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return OwnerNone
	}
	if lbType == loadBalancerTypeInTreeNLB {
		return OwnerInTreeNLB
	}
	return OwnerInTreeCLB
}

var annotationsPath = field.NewPath("metadata", "annotations")

// ServiceInternal reports whether svc's load balancer is internal. Under the
// LBC the scheme annotation wins, then the legacy internal annotation (a
// bool), and without either the NLB is internal. The in-tree provider reads
// only the internal annotation: any value but "" or "false" means internal.
func ServiceInternal(svc *corev1.Service) (bool, field.ErrorList) {
	ann := svc.Annotations
	switch OwnerOf(svc) {
	case OwnerLBC:
		if raw, ok := ann[AnnotationScheme]; ok {
			switch raw {
			case schemeInternal:
				return true, nil
			case schemeInternetFacing:
				return false, nil
			}
			return false, field.ErrorList{field.Invalid(annotationsPath.Key(AnnotationScheme), raw,
				fmt.Sprintf("must be %q or %q", schemeInternal, schemeInternetFacing))}
		}
		if raw, ok := ann[AnnotationInternal]; ok {
			internal, err := strconv.ParseBool(raw)
			if err != nil {
				return false, field.ErrorList{field.Invalid(annotationsPath.Key(AnnotationInternal), raw, `must be "true" or "false"`)}
			}
			return internal, nil
		}
		return true, nil
	case OwnerInTreeNLB, OwnerInTreeCLB:
		raw := ann[AnnotationInternal]
		return raw != "" && raw != inTreeInternalFalse, nil
	}
	return false, nil
}

// ServiceListeners computes the listeners that svc's owner would create.
// Errors are annotations or ports the owner would reject.
func ServiceListeners(svc *corev1.Service, settings config.LoadBalancerTLSSettings) ([]Listener, field.ErrorList) {
	svc = withDefaultProtocols(svc)
	switch OwnerOf(svc) {
	case OwnerLBC:
		return lbcServiceListeners(svc, settings)
	case OwnerInTreeNLB:
		return inTreeNLBListeners(svc, settings)
	case OwnerInTreeCLB:
		return inTreeCLBListeners(svc, settings)
	}
	return nil, nil
}

// withDefaultProtocols fills in the API server's default port protocol (TCP),
// copying svc only when a port lacks one, so that Services that did not come
// through the API server (the CLI reads files) are judged alike.
func withDefaultProtocols(svc *corev1.Service) *corev1.Service {
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Protocol == "" }) {
		return svc
	}
	svc = svc.DeepCopy()
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Protocol == "" {
			svc.Spec.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	return svc
}

// servicePolicy is the negotiation policy of the Service's TLS listeners. An
// empty annotation counts as none: the controller default applies.
func servicePolicy(svc *corev1.Service, settings config.LoadBalancerTLSSettings) (policy string, isDefault bool) {
	if p := svc.Annotations[AnnotationSSLNegotiation]; p != "" {
		return p, false
	}
	return settings.ControllerDefaultSSLPolicy, true
}

func portsPath(i int) *field.Path { return field.NewPath("spec", "ports").Index(i) }

// lbcServiceListeners follows the LBC: a port gets TLS when certificates are
// set, it is neither UDP nor a merged TCP_UDP port, and ssl-ports is empty or
// names it (by name or number; "*" is an ordinary entry that matches nothing).
func lbcServiceListeners(svc *corev1.Service, settings config.LoadBalancerTLSSettings) ([]Listener, field.ErrorList) {
	ann := svc.Annotations
	certs := splitList(ann[AnnotationSSLCert])
	tlsPorts := sets.New(splitList(ann[AnnotationSSLPorts])...)
	quicPorts := sets.New(splitList(ann[AnnotationQUICEnabledPorts])...)
	backendTLS := ann[AnnotationBackendProtocol] == backendProtocolSSL
	policy, isDefault := servicePolicy(svc, settings)

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
			l.SSLPolicy, l.DefaultSSLPolicy = policy, isDefault
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
	policy, isDefault := servicePolicy(svc, settings)
	var errs field.ErrorList
	listeners := make([]Listener, 0, len(svc.Spec.Ports))
	for i, port := range svc.Spec.Ports {
		if port.Protocol != corev1.ProtocolTCP && port.Protocol != corev1.ProtocolUDP {
			errs = append(errs, field.Invalid(portsPath(i).Child("protocol"), port.Protocol,
				"the in-tree NLB supports only TCP and UDP ports"))
			continue
		}
		protocol := string(port.Protocol)
		l := Listener{Port: port.Port, Protocol: protocol, BackendProtocol: protocol, PortIndex: i, PortName: port.Name}
		if port.Protocol != corev1.ProtocolUDP && cert != "" && sslPorts.covers(port.Name, port.Port) {
			l.Protocol, l.TLS, l.Certificates = ProtocolTLS, true, []string{cert}
			l.SSLPolicy, l.DefaultSSLPolicy = policy, isDefault
			if ann[AnnotationBackendProtocol] == backendProtocolSSL {
				l.BackendProtocol = ProtocolTLS
			}
		}
		listeners = append(listeners, l)
	}
	return listeners, errs
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

// inTreeCLBListeners follows the in-tree provider for Classic Load
// Balancers: TCP ports only; a covered port with a certificate gets an SSL or
// HTTPS listener by backend-protocol; otherwise backend-protocol "http" makes
// an HTTP listener and anything else a TCP one.
func inTreeCLBListeners(svc *corev1.Service, settings config.LoadBalancerTLSSettings) ([]Listener, field.ErrorList) {
	ann := svc.Annotations
	cert := ann[AnnotationSSLCert]
	backend := ann[AnnotationBackendProtocol]
	sslPorts := parseInTreeSSLPorts(ann[AnnotationSSLPorts])
	policy, isDefault := servicePolicy(svc, settings)
	var errs field.ErrorList
	listeners := make([]Listener, 0, len(svc.Spec.Ports))
	for i, port := range svc.Spec.Ports {
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
			l.SSLPolicy, l.DefaultSSLPolicy = policy, isDefault
		} else if backend == backendProtocolHTTP {
			l.Protocol, l.BackendProtocol = ProtocolHTTP, ProtocolHTTP
		}
		listeners = append(listeners, l)
	}
	return listeners, errs
}

// ServiceVerdict judges svc's listeners: every plaintext listener is an error
// on its port; with RequireBackendTLS, TLS listeners must also reach the pods
// over TLS; the TLS policy must be allowed when any listener uses TLS.
func ServiceVerdict(svc *corev1.Service, listeners []Listener, settings config.LoadBalancerTLSSettings) field.ErrorList {
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
		policy, isDefault := servicePolicy(svc, settings)
		if err := tlsPolicyError(annotationsPath.Key(AnnotationSSLNegotiation), policy, isDefault, "", settings); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// plaintextPortDetail says why a Service port gets a plaintext listener and
// what to change, including the two ssl-ports traps: the LBC's "*" and the
// in-tree provider's untrimmed entries.
func plaintextPortDetail(svc *corev1.Service, owner ServiceOwner, l Listener) string {
	label := fmt.Sprintf("port %d", l.Port)
	if l.PortName != "" {
		label += " (" + l.PortName + ")"
	}
	what := fmt.Sprintf("%s: plaintext %s listener; ", label, l.Protocol)
	ann := svc.Annotations
	switch {
	case l.Protocol == ProtocolUDP || l.Protocol == ProtocolTCPUDP || l.Protocol == ProtocolTCPQUIC:
		return what + "an NLB cannot terminate TLS on " + l.Protocol
	case strings.TrimSpace(ann[AnnotationSSLCert]) == "":
		return what + "set " + short(AnnotationSSLCert)
	case owner == OwnerLBC && sets.New(splitList(ann[AnnotationSSLPorts])...).Has(inTreeAllSSLPorts):
		return what + `LBC ssl-ports "*" matches no port: list the ports`
	case owner != OwnerLBC && hasUntrimmedEntry(ann[AnnotationSSLPorts], l):
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

// JudgeService is the whole rule for one Service: a malformed scheme or
// listener annotation is the finding; otherwise internal load balancers are
// skipped when settings ask for it, and the listeners are judged.
func JudgeService(svc *corev1.Service, settings config.LoadBalancerTLSSettings) (errs field.ErrorList, skippedInternal bool) {
	internal, errs := ServiceInternal(svc)
	if len(errs) > 0 {
		return errs, false
	}
	if internal && settings.SkipInternal {
		return nil, true
	}
	listeners, errs := ServiceListeners(svc, settings)
	if len(errs) > 0 {
		return errs, false
	}
	return ServiceVerdict(svc, listeners, settings), false
}

const (
	kindService = "Service"
	kindIngress = "Ingress"
)

// ServiceValidator validates Services on CREATE and UPDATE.
type ServiceValidator struct {
	Policies decision.Policies
}

var _ admission.Validator[*corev1.Service] = &ServiceValidator{}

// unchanged reports an update that the rule need not judge: the object is
// being deleted, or neither its annotations nor its spec changed (a
// controller adding or removing its finalizer, a relabel). Denying those
// would stop the LBC from finalizing the load balancers of objects that
// predate eksguard.
func unchanged(oldMeta, newMeta *metav1.ObjectMeta, oldSpec, newSpec any) bool {
	return newMeta.DeletionTimestamp != nil ||
		(maps.Equal(oldMeta.Annotations, newMeta.Annotations) && equality.Semantic.DeepEqual(oldSpec, newSpec))
}

// ValidateCreate judges a new Service.
func (v *ServiceValidator) ValidateCreate(ctx context.Context, svc *corev1.Service) (admission.Warnings, error) {
	return v.validate(ctx, svc)
}

// ValidateUpdate judges the Service as updated, unless the update changes
// nothing the rule reads or the Service is being deleted (see unchanged).
func (v *ServiceValidator) ValidateUpdate(ctx context.Context, oldSvc, svc *corev1.Service) (admission.Warnings, error) {
	if unchanged(&oldSvc.ObjectMeta, &svc.ObjectMeta, oldSvc.Spec, svc.Spec) {
		return nil, nil
	}
	return v.validate(ctx, svc)
}

// ValidateDelete allows every deletion.
func (v *ServiceValidator) ValidateDelete(context.Context, *corev1.Service) (admission.Warnings, error) {
	return nil, nil
}

func (v *ServiceValidator) validate(ctx context.Context, svc *corev1.Service) (admission.Warnings, error) {
	log := logf.FromContext(ctx)
	owner := OwnerOf(svc)
	switch owner {
	case OwnerNone:
		return nil, nil
	case OwnerOtherClass:
		log.V(1).Info("skipping Service of another load balancer class", logkeys.LoadBalancerClass, *svc.Spec.LoadBalancerClass)
		return nil, nil
	}
	pol := v.Policies.Source.Current()
	settings := pol.Config.Rules.LoadBalancerTLS
	decisions, err := v.Policies.DecideWithPolicy(ctx, pol, svc, config.RuleLoadBalancerTLS, settings.Mode)
	if err != nil {
		return decision.UndecidedValidator(ctx, pol, kindService, config.RuleLoadBalancerTLS, "load-balancer TLS", err, settings.Mode)
	}
	finding := decision.Finding{Rule: config.RuleLoadBalancerTLS, Decision: decisions[0]}
	if finding.Decision.Mode != config.ModeOff {
		var skipped bool
		finding.Errs, skipped = JudgeService(svc, settings)
		if skipped {
			log.V(1).Info("skipping internal load balancer", logkeys.Owner, owner)
		}
	}
	return decision.ValidatorResult(ctx, kindService, finding)
}
