package lbtls

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

// autoModeService is a Service of EKS Auto Mode's class.
func autoModeService(ann map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	svc := service(corev1.ServiceTypeLoadBalancer, ann, ports...)
	svc.Spec.LoadBalancerClass = ptr.To(AutoModeLoadBalancerClass)
	return svc
}

const autoModeDefaultErr = negotiationField + ": EKS Auto Mode's default policy ELBSecurityPolicy-2016-08 is not allowed, " +
	"and Auto Mode documents no way to set one: use the AWS Load Balancer Controller (loadBalancerClass service.k8s.aws/nlb) and set e.g. " +
	strongPolicy + " (or set autoMode.defaultSSLPolicy if yours differs)"

// TestAutoModeService: a Service of class eks.amazonaws.com/nlb is an NLB
// whose listeners follow the annotations auto-configure-nlb.html documents
// (ssl-cert, ssl-ports by name or number, scheme), with the settings that
// stand for what the guide leaves unsaid.
func TestAutoModeService(t *testing.T) {
	https := port("https", 443, corev1.ProtocolTCP)
	http := port("http", 80, corev1.ProtocolTCP)
	dns := port("dns", 53, corev1.ProtocolUDP)
	tests := []struct {
		name          string
		settings      func(*config.LoadBalancerTLSSettings)
		svc           *corev1.Service
		wantListeners []Listener
		wantErrs      []string
		wantSkipped   bool
	}{
		{
			name:          "auto-configure-nlb.html Sample Service: a plain TCP listener",
			svc:           autoModeService(nil, http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantErrs:      []string{"spec.ports[0]: port 80 (http): plaintext TCP listener; set aws-load-balancer-ssl-cert"},
		},
		{
			name:          "ssl-cert makes TLS; Auto Mode's default policy (autoMode.defaultSSLPolicy) is not allowed",
			svc:           autoModeService(map[string]string{AnnotationSSLCert: certARN}, https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, weakPolicy, true, certARN)},
			wantErrs:      []string{autoModeDefaultErr},
		},
		{
			name:          "an allowed autoMode.defaultSSLPolicy admits the TLS listener",
			settings:      func(s *config.LoadBalancerTLSSettings) { s.AutoMode.DefaultSSLPolicy = strongPolicy },
			svc:           autoModeService(map[string]string{AnnotationSSLCert: certARN}, https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, true, certARN)},
		},
		{
			name:          "ssl-negotiation-policy is not documented for Auto Mode: the default stands",
			svc:           autoModeService(map[string]string{AnnotationSSLCert: certARN, AnnotationSSLNegotiation: strongPolicy}, https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, weakPolicy, true, certARN)},
			wantErrs:      []string{autoModeDefaultErr},
		},
		{
			name:          "autoMode.sslPolicyAnnotations: the annotation is honoured",
			settings:      func(s *config.LoadBalancerTLSSettings) { s.AutoMode.SSLPolicyAnnotations = true },
			svc:           autoModeService(map[string]string{AnnotationSSLCert: certARN, AnnotationSSLNegotiation: strongPolicy}, https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, false, certARN)},
		},
		{
			name: "ssl-ports by name (the guide's \"443, 8443\" form is trimmed): the other port stays plaintext",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.AutoMode.DefaultSSLPolicy = strongPolicy
			},
			svc: autoModeService(map[string]string{AnnotationSSLCert: certARN, AnnotationSSLPorts: " https, 8443"}, http, https),
			wantListeners: []Listener{
				plain(0, "http", 80, ProtocolTCP),
				terminated(1, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, true, certARN),
			},
			// Auto Mode's reaction to an entry naming no port is unknown:
			// the listeners are judged instead of a refusal.
			wantErrs: []string{"spec.ports[0]: port 80 (http): plaintext TCP listener; add it to aws-load-balancer-ssl-ports"},
		},
		{
			name:          "UDP is never TLS, and quic-enabled-ports is not documented for Auto Mode",
			settings:      func(s *config.LoadBalancerTLSSettings) { s.AutoMode.DefaultSSLPolicy = strongPolicy },
			svc:           autoModeService(map[string]string{AnnotationSSLCert: certARN, AnnotationQUICEnabledPorts: "dns"}, dns),
			wantListeners: []Listener{plain(0, "dns", 53, ProtocolUDP)},
			wantErrs:      []string{"spec.ports[0]: port 53 (dns): plaintext UDP listener; an NLB cannot terminate TLS on UDP"},
		},
		{
			name:        "scheme internal is honoured with skipInternal",
			settings:    func(s *config.LoadBalancerTLSSettings) { s.SkipInternal = true },
			svc:         autoModeService(map[string]string{AnnotationScheme: "internal"}, http),
			wantSkipped: true,
		},
		{
			name:          "the internal annotation is unsupported (migrate-auto.html): autoMode.defaultScheme decides",
			settings:      func(s *config.LoadBalancerTLSSettings) { s.SkipInternal = true },
			svc:           autoModeService(map[string]string{AnnotationInternal: "true"}, http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantErrs:      []string{"spec.ports[0]: port 80 (http): plaintext TCP listener; set aws-load-balancer-ssl-cert"},
		},
		{
			name: "autoMode.defaultScheme internal: a Service naming none is skipped",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.SkipInternal, s.AutoMode.DefaultScheme = true, config.SchemeInternal
			},
			svc:         autoModeService(nil, http),
			wantSkipped: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := defaultSettings()
			if tt.settings != nil {
				tt.settings(&settings)
			}
			if owner := OwnerOf(tt.svc); owner != OwnerAutoMode {
				t.Fatalf("OwnerOf = %q", owner)
			}
			if !tt.wantSkipped {
				listeners, _ := ServiceListeners(tt.svc, settings)
				assertListeners(t, listeners, tt.wantListeners)
			}
			result := CheckService(tt.svc, settings)
			ruletest.AssertDetails(t, "CheckService", result.Errs, tt.wantErrs)
			if result.SkippedInternal != tt.wantSkipped {
				t.Errorf("skipped internal = %v, want %v", result.SkippedInternal, tt.wantSkipped)
			}
		})
	}
}

// TestWithDefaultClass: lbcServiceMutator (the LBC's MutateCreate) and
// autoMode.serviceDefaulting give a classless type LoadBalancer Service
// their class; classed and other Services are left alone.
func TestWithDefaultClass(t *testing.T) {
	classless := service(corev1.ServiceTypeLoadBalancer, nil, port("http", 80, corev1.ProtocolTCP))
	classed := autoModeService(nil)
	classed.Spec.LoadBalancerClass = ptr.To("example.com/lb")
	nodePort := service(corev1.ServiceTypeNodePort, nil)
	for _, tt := range []struct {
		name     string
		settings func(*config.LoadBalancerTLSSettings)
		svc      *corev1.Service
		want     Owner
	}{
		{"neither: the in-tree provider's CLB", nil, classless, OwnerInTreeCLB},
		{"MutateCreate: the LBC's class", func(s *config.LoadBalancerTLSSettings) { s.LBCServiceMutator = true }, classless, OwnerLBC},
		{"auto-configure-nlb.html: Auto Mode's class is the cluster default",
			func(s *config.LoadBalancerTLSSettings) { s.AutoMode.ServiceDefaulting = true }, classless, OwnerAutoMode},
		{"a class is kept", func(s *config.LoadBalancerTLSSettings) { s.AutoMode.ServiceDefaulting = true }, classed, OwnerOtherClass},
		{"not a LoadBalancer", func(s *config.LoadBalancerTLSSettings) { s.AutoMode.ServiceDefaulting = true }, nodePort, OwnerNone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			settings := defaultSettings()
			if tt.settings != nil {
				tt.settings(&settings)
			}
			before := tt.svc.DeepCopy()
			if got := OwnerOf(WithDefaultClass(tt.svc, settings)); got != tt.want {
				t.Errorf("owner = %q, want %q", got, tt.want)
			}
			if tt.svc.Spec.LoadBalancerClass != before.Spec.LoadBalancerClass && *tt.svc.Spec.LoadBalancerClass != *before.Spec.LoadBalancerClass {
				t.Error("WithDefaultClass changed its argument")
			}
		})
	}
}

// autoModeIngress is an Ingress of an IngressClass of controller
// eks.amazonaws.com/alb.
func autoModeIngress(namespace, name string, ann map[string]string, hosts ...string) *networkingv1.Ingress {
	ing := albIngress(namespace, name, ann, hosts...)
	ing.Spec.IngressClassName = ptr.To("auto")
	return ing
}

// TestAutoModeIngressGroup: an Auto Mode ALB is judged like the LBC's, with
// its IngressClassParams (certificateARNs, scheme, group.name), without the
// annotations auto-configure-alb.html lists as unsupported (group.name), and
// with autoMode.defaultSSLPolicy for HTTPS listeners.
func TestAutoModeIngressGroup(t *testing.T) {
	certs := []string{certARN}
	autoParams := func(p ClassParams) *ClassParams { p.Owner, p.Name = OwnerAutoMode, "auto"; return &p }
	const defaultErr = sslPolicyField + ": HTTPS:443: EKS Auto Mode's default policy " +
		"ELBSecurityPolicy-2016-08 is not allowed, and Auto Mode documents no way to set one: use the AWS Load Balancer Controller " +
		"(an IngressClass of controller ingress.k8s.aws/alb) and set e.g. " + strongPolicy + " (or set autoMode.defaultSSLPolicy if yours differs)"
	tests := []struct {
		name          string
		settings      func(*config.LoadBalancerTLSSettings)
		members       []*networkingv1.Ingress
		params        *ClassParams // of every member
		wantListeners []Listener
		wantErrs      []string
	}{
		{
			name:          "auto-elb-example.html: the guide's own ALB is plain HTTP:80",
			members:       []*networkingv1.Ingress{autoModeIngress("game-2048", "ingress-2048", map[string]string{AnnotationALBScheme: "internet-facing"})},
			wantListeners: []Listener{httpListener(80, 0, "game-2048/ingress-2048")},
			wantErrs:      []string{certificateField + ": default listener HTTP:80 is plaintext: set certificate-arn or an HTTPS listen port"},
		},
		{
			name:          "IngressClassParams certificateARNs make HTTPS:443, under Auto Mode's default policy",
			members:       []*networkingv1.Ingress{autoModeIngress("shop", "web", nil)},
			params:        autoParams(ClassParams{CertificateARNs: certs}),
			wantListeners: []Listener{httpsListener(443, weakPolicy, true, certs, nil, "shop/web")},
			wantErrs:      []string{defaultErr},
		},
		{
			name:          "ssl-policy is not documented for Auto Mode: the default stands",
			members:       []*networkingv1.Ingress{autoModeIngress("shop", "web", map[string]string{AnnotationSSLPolicy: strongPolicy})},
			params:        autoParams(ClassParams{CertificateARNs: certs}),
			wantListeners: []Listener{httpsListener(443, weakPolicy, true, certs, nil, "shop/web")},
			wantErrs:      []string{defaultErr},
		},
		{
			name:          "autoMode.sslPolicyAnnotations: ssl-policy is honoured",
			settings:      func(s *config.LoadBalancerTLSSettings) { s.AutoMode.SSLPolicyAnnotations = true },
			members:       []*networkingv1.Ingress{autoModeIngress("shop", "web", map[string]string{AnnotationSSLPolicy: strongPolicy})},
			params:        autoParams(ClassParams{CertificateARNs: certs}),
			wantListeners: []Listener{httpsListener(443, strongPolicy, false, certs, nil, "shop/web")},
		},
		{
			name:     "an allowed autoMode.defaultSSLPolicy and ssl-redirect admit HTTP and HTTPS",
			settings: func(s *config.LoadBalancerTLSSettings) { s.AutoMode.DefaultSSLPolicy = strongPolicy },
			members: []*networkingv1.Ingress{autoModeIngress("shop", "web", map[string]string{
				AnnotationListenPorts: bothPorts, AnnotationSSLRedirect: "443", AnnotationCertificateARN: certARN})},
			wantListeners: []Listener{httpListener(80, 443, "shop/web"), httpsListener(443, strongPolicy, true, certs, nil, "shop/web")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := defaultSettings()
			if tt.settings != nil {
				tt.settings(&settings)
			}
			members := Members(tt.members...)
			for i := range members {
				members[i].Owner, members[i].Params = OwnerAutoMode, tt.params
			}
			listeners, _ := IngressGroupListeners(members, settings)
			assertListeners(t, listeners, tt.wantListeners)
			ruletest.AssertDetails(t, "CheckIngressGroup", CheckIngressGroup(members, settings).Errs, tt.wantErrs)
		})
	}
}

// TestAutoModeGroupName: Auto Mode reads groups from IngressClassParams only
// ("Specify groups in IngressClass only", auto-configure-alb.html).
func TestAutoModeGroupName(t *testing.T) {
	ing := autoModeIngress("shop", "web", map[string]string{AnnotationGroupName: "annotated"})
	if got := (Member{Ingress: ing, Owner: OwnerAutoMode}).GroupName(); got != "" {
		t.Errorf("Auto Mode member with a group.name annotation: group %q, want none", got)
	}
	if got := (Member{Ingress: ing, Owner: OwnerAutoMode, Params: &ClassParams{Owner: OwnerAutoMode, Group: "shop"}}).GroupName(); got != "shop" {
		t.Errorf("Auto Mode member with params group shop: group %q", got)
	}
	if got := (Member{Ingress: ing, Owner: OwnerLBC}).GroupName(); got != "annotated" {
		t.Errorf("LBC member: group %q, want annotated", got)
	}
}

// TestUnknownClasses: a LoadBalancer Service of a class, or an Ingress of
// an IngressClass controller, that eksguard does not model gets the
// unknownClasses finding instead of a silent admit, never stronger than the
// rule's mode; classes outside AWS's domains follow unknownClasses.other
// (Services) and otherIngressClasses (Ingresses).
func TestUnknownClasses(t *testing.T) {
	svcOf := func(class string) *corev1.Service {
		svc := service(corev1.ServiceTypeLoadBalancer, nil, port("http", 80, corev1.ProtocolTCP))
		svc.Spec.LoadBalancerClass = ptr.To(class)
		return svc
	}
	lattice := albIngress("shop", "web", nil, "shop.example.com")
	lattice.Spec.IngressClassName = ptr.To("lattice")
	classes := staticClasses{classes: NewIngressClasses([]networkingv1.IngressClass{
		ingressClass("lattice", "application-networking.k8s.aws/ingress", ""), ingressClass("nginx", "k8s.io/ingress-nginx", "")})}
	nginx := lattice.DeepCopy()
	nginx.Spec.IngressClassName = ptr.To("nginx")
	const (
		svcDetail   = `class "service.k8s.aws/alb-future" unknown: listeners not judged (unknownClasses.aws)`
		otherDetail = `class "metallb.io/l2" unknown: listeners not judged (unknownClasses.other)`
		ingDetail   = `controller "application-networking.k8s.aws/ingress" unknown: listeners not judged (unknownClasses.aws)`
	)
	tests := []struct {
		name    string
		mode    config.Mode
		unknown config.UnknownClasses
		obj     client.Object
		want    verdict
	}{
		{"an AWS class warns by default, under enforce", config.ModeEnforce, config.UnknownClasses{AWS: config.ModeWarn, Other: config.ModeOff},
			svcOf("service.k8s.aws/alb-future"), verdict{warnings: admission.Warnings{"eksguard [loadBalancerTLS] " + svcDetail}}},
		{"aws: enforce denies", config.ModeEnforce, config.UnknownClasses{AWS: config.ModeEnforce, Other: config.ModeOff},
			svcOf("service.k8s.aws/alb-future"),
			verdict{denial: "eksguard denied this Service: [loadBalancerTLS] spec.loadBalancerClass: " + svcDetail}},
		{"aws: enforce under a warn rule only warns", config.ModeWarn, config.UnknownClasses{AWS: config.ModeEnforce, Other: config.ModeOff},
			svcOf("service.k8s.aws/alb-future"), verdict{warnings: admission.Warnings{"eksguard [loadBalancerTLS] " + svcDetail}}},
		{"aws: off admits", config.ModeEnforce, config.UnknownClasses{AWS: config.ModeOff, Other: config.ModeOff},
			svcOf("service.k8s.aws/alb-future"), verdict{}},
		{"another domain is off by default", config.ModeEnforce, config.UnknownClasses{AWS: config.ModeWarn, Other: config.ModeOff},
			svcOf("metallb.io/l2"), verdict{}},
		{"other: warn", config.ModeEnforce, config.UnknownClasses{AWS: config.ModeWarn, Other: config.ModeWarn},
			svcOf("metallb.io/l2"), verdict{warnings: admission.Warnings{"eksguard [loadBalancerTLS] " + otherDetail}}},
		{"an Ingress of an AWS controller eksguard does not model", config.ModeEnforce,
			config.UnknownClasses{AWS: config.ModeEnforce, Other: config.ModeOff}, lattice,
			verdict{denial: "eksguard denied this Ingress: [loadBalancerTLS] spec.ingressClassName: " + ingDetail}},
		{"an Ingress of another controller follows otherIngressClasses", config.ModeEnforce,
			config.UnknownClasses{AWS: config.ModeEnforce, Other: config.ModeEnforce}, nginx, verdict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decider := ruletest.Decider(ruletest.CompilePolicy(t, func(c *config.Config) {
				c.Rules.LoadBalancerTLS.Mode, c.Rules.LoadBalancerTLS.UnknownClasses = tt.mode, tt.unknown
			}))
			v := apiServer{NewServiceHandler(decider)}
			if _, ok := tt.obj.(*networkingv1.Ingress); ok {
				v = apiServer{NewIngressHandler(decider, failingReader{}, nil, classes)}
			}
			if got := answer(t)(v.Create(context.Background(), tt.obj)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
