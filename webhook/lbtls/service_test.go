package lbtls

import (
	"maps"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

func service(svcType corev1.ServiceType, ann map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Annotations: ann},
		Spec:       corev1.ServiceSpec{Type: svcType, Ports: ports},
	}
}

func port(name string, number int32, protocol corev1.Protocol) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: number, Protocol: protocol}
}

// lbcAnnotations are the reference NLB example's annotations plus extra.
func lbcAnnotations(extra map[string]string) map[string]string {
	ann := map[string]string{
		AnnotationLoadBalancerType:                                     "external",
		"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
	}
	maps.Copy(ann, extra)
	return ann
}

func plain(index int, name string, number int32, protocol string) Listener {
	return Listener{Port: number, Protocol: protocol, BackendProtocol: protocol, PortIndex: index, PortName: name}
}

func terminated(index int, name string, number int32, protocol, backend, policy string, isDefault bool, cert string) Listener {
	return Listener{Port: number, Protocol: protocol, TLS: true, BackendProtocol: backend, SSLPolicy: policy,
		DefaultSSLPolicy: isDefault, Certificates: []string{cert}, PortIndex: index, PortName: name}
}

const (
	negotiationField = "metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy]"
	defaultPolicyErr = negotiationField + ": default policy ELBSecurityPolicy-2016-08 is not allowed: set one, e.g. " + strongPolicy
	sslPortsField    = "metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-ssl-ports]"
	// classicDefaultPolicyErr is the same on a Classic Load Balancer.
	classicDefaultPolicyErr = negotiationField + ": default policy ELBSecurityPolicy-2016-08 is not allowed: set one, e.g. " + classicPolicy
)

func TestServiceOwner(t *testing.T) {
	tests := []struct {
		name string
		svc  *corev1.Service
		want Owner
	}{
		{"LBC class", func() *corev1.Service {
			s := service(corev1.ServiceTypeLoadBalancer, nil)
			s.Spec.LoadBalancerClass = ptr.To(LBCLoadBalancerClass)
			return s
		}(), OwnerLBC},
		{"another class", func() *corev1.Service {
			s := service(corev1.ServiceTypeLoadBalancer, lbcAnnotations(nil))
			s.Spec.LoadBalancerClass = ptr.To("example.com/lb")
			return s
		}(), OwnerOtherClass},
		{"type external", service(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationLoadBalancerType: "external"}), OwnerLBC},
		{"type nlb-ip", service(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationLoadBalancerType: "nlb-ip"}), OwnerLBC},
		{"type external on a ClusterIP Service", service(corev1.ServiceTypeClusterIP, map[string]string{AnnotationLoadBalancerType: "external"}), OwnerLBC},
		{"type nlb", service(corev1.ServiceTypeLoadBalancer, map[string]string{AnnotationLoadBalancerType: "nlb"}), OwnerInTreeNLB},
		{"no annotation", service(corev1.ServiceTypeLoadBalancer, nil), OwnerInTreeCLB},
		{"ClusterIP", service(corev1.ServiceTypeClusterIP, map[string]string{AnnotationLoadBalancerType: "nlb"}), OwnerNone},
		{"NodePort", service(corev1.ServiceTypeNodePort, nil), OwnerNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OwnerOf(tt.svc); got != tt.want {
				t.Errorf("OwnerOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJudgeService(t *testing.T) {
	https := port("https", 443, corev1.ProtocolTCP)
	http := port("http", 80, corev1.ProtocolTCP)
	lb := corev1.ServiceTypeLoadBalancer
	strong := map[string]string{AnnotationSSLNegotiation: strongPolicy}
	withStrong := func(ann map[string]string) map[string]string {
		ann = maps.Clone(ann)
		maps.Copy(ann, strong)
		return ann
	}
	// withClassic names the one TLS 1.2-only Classic Load Balancer policy.
	withClassic := func(ann map[string]string) map[string]string {
		ann = maps.Clone(ann)
		ann[AnnotationSSLNegotiation] = classicPolicy
		return ann
	}
	tests := []struct {
		name          string
		settings      func(*config.LoadBalancerTLSSettings)
		svc           *corev1.Service
		wantListeners []Listener
		wantErrs      []string
		wantSkipped   bool
	}{
		{
			name:          "reference NLB example: TLS on every port, but the default policy is not allowed",
			svc:           service(lb, lbcAnnotations(map[string]string{AnnotationSSLCert: certARN}), https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, weakPolicy, true, certARN)},
			wantErrs:      []string{defaultPolicyErr},
		},
		{
			name: "reference NLB example with a controller default on the allow-list",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.ControllerDefaultSSLPolicy = strongPolicy
			},
			svc:           service(lb, lbcAnnotations(map[string]string{AnnotationSSLCert: certARN}), https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, true, certARN)},
		},
		{
			name:          "LBC without certificate: every port plaintext, no policy check",
			svc:           service(lb, lbcAnnotations(nil), http, https),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP), plain(1, "https", 443, ProtocolTCP)},
			wantErrs: []string{
				"spec.ports[0]: port 80 (http): plaintext TCP listener; set aws-load-balancer-ssl-cert",
				"spec.ports[1]: port 443 (https): plaintext TCP listener; set aws-load-balancer-ssl-cert",
			},
		},
		{
			name: "LBC ssl-ports by number leaves the other port plaintext",
			svc: service(lb, lbcAnnotations(withStrong(map[string]string{
				AnnotationSSLCert: certARN, AnnotationSSLPorts: "443"})), http, https),
			wantListeners: []Listener{
				plain(0, "http", 80, ProtocolTCP),
				terminated(1, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, false, certARN),
			},
			wantErrs: []string{"spec.ports[0]: port 80 (http): plaintext TCP listener; add it to aws-load-balancer-ssl-ports"},
		},
		{
			name: "LBC ssl-ports by name, trimmed, several certificates",
			svc: service(lb, lbcAnnotations(withStrong(map[string]string{
				AnnotationSSLCert: certARN + ", " + otherCertARN, AnnotationSSLPorts: " https , admin"})),
				https, port("admin", 8443, corev1.ProtocolTCP)),
			wantListeners: []Listener{
				{Port: 443, Protocol: ProtocolTLS, TLS: true, BackendProtocol: ProtocolTCP, SSLPolicy: strongPolicy,
					Certificates: []string{certARN, otherCertARN}, PortIndex: 0, PortName: "https"},
				{Port: 8443, Protocol: ProtocolTLS, TLS: true, BackendProtocol: ProtocolTCP, SSLPolicy: strongPolicy,
					Certificates: []string{certARN, otherCertARN}, PortIndex: 1, PortName: "admin"},
			},
		},
		{
			name: "LBC empty ssl-ports means every port",
			svc: service(lb, lbcAnnotations(withStrong(map[string]string{
				AnnotationSSLCert: certARN, AnnotationSSLPorts: " , "})), http),
			wantListeners: []Listener{terminated(0, "http", 80, ProtocolTLS, ProtocolTCP, strongPolicy, false, certARN)},
		},
		{
			// validateTLSPortsSet: every entry must name a port.
			name: `validateTLSPortsSet: LBC ssl-ports "*" names no port, so the LBC refuses the Service`,
			svc: service(lb, lbcAnnotations(withStrong(map[string]string{
				AnnotationSSLCert: certARN, AnnotationSSLPorts: "*"})), http, https),
			wantErrs: []string{sslPortsField + `: "*" names no port of the Service: the LBC refuses to build or update the load balancer ` +
				`("Unused port in ssl-ports annotation"); "*" is no wildcard for the LBC: leave ssl-ports out for TLS on every TCP port, ` +
				`or list Service port names or numbers`},
		},
		{
			name: `validateTLSPortsSet: one unused entry among good ones refuses the whole Service`,
			svc: service(lb, lbcAnnotations(withStrong(map[string]string{
				AnnotationSSLCert: certARN, AnnotationSSLPorts: "443, metrics, 8443"})), http, https),
			wantErrs: []string{sslPortsField + `: "metrics", "8443" names no port of the Service: the LBC refuses to build or update ` +
				`the load balancer ("Unused port in ssl-ports annotation"); list Service port names or numbers`},
		},
		{
			name: "validateTLSPortsSet: entries match port names and numbers",
			svc: service(lb, lbcAnnotations(withStrong(map[string]string{
				AnnotationSSLCert: certARN, AnnotationSSLPorts: "https"})), http, https),
			wantListeners: []Listener{
				plain(0, "http", 80, ProtocolTCP),
				terminated(1, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, false, certARN),
			},
			wantErrs: []string{`spec.ports[0]: port 80 (http): plaintext TCP listener; add it to aws-load-balancer-ssl-ports`},
		},
		{
			name: `in-tree CLB ssl-ports "*" means every port`,
			svc: service(lb, withClassic(map[string]string{AnnotationSSLCert: certARN, AnnotationSSLPorts: "*"}),
				http, https),
			wantListeners: []Listener{
				terminated(0, "http", 80, ProtocolSSL, ProtocolTCP, classicPolicy, false, certARN),
				terminated(1, "https", 443, ProtocolSSL, ProtocolTCP, classicPolicy, false, certARN),
			},
		},
		{
			name: `in-tree NLB ssl-ports "*" means every TCP port; UDP stays plaintext`,
			svc: service(lb, withStrong(map[string]string{AnnotationLoadBalancerType: "nlb",
				AnnotationSSLCert: certARN, AnnotationSSLPorts: "*"}),
				https, port("dns", 53, corev1.ProtocolUDP)),
			wantListeners: []Listener{
				terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, false, certARN),
				plain(1, "dns", 53, ProtocolUDP),
			},
			wantErrs: []string{"spec.ports[1]: port 53 (dns): plaintext UDP listener; an NLB cannot terminate TLS on UDP"},
		},
		{
			name: "in-tree ssl-ports entries are not trimmed",
			svc: service(lb, withClassic(map[string]string{AnnotationSSLCert: certARN, AnnotationSSLPorts: "443, 8443"}),
				https, port("", 8443, corev1.ProtocolTCP)),
			wantListeners: []Listener{
				terminated(0, "https", 443, ProtocolSSL, ProtocolTCP, classicPolicy, false, certARN),
				plain(1, "", 8443, ProtocolTCP),
			},
			wantErrs: []string{"spec.ports[1]: port 8443: plaintext TCP listener; in-tree ssl-ports entries must not contain spaces"},
		},
		{
			name:          "in-tree CLB backend-protocol http without certificate: plaintext HTTP",
			svc:           service(lb, map[string]string{AnnotationBackendProtocol: "http"}, http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolHTTP)},
			wantErrs:      []string{"spec.ports[0]: port 80 (http): plaintext HTTP listener; set aws-load-balancer-ssl-cert"},
		},
		{
			name: "in-tree CLB backend-protocol https: HTTPS end to end, passes RequireBackendTLS",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.RequireBackendTLS = true
			},
			svc:           service(lb, withClassic(map[string]string{AnnotationSSLCert: certARN, AnnotationBackendProtocol: "https"}), https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolHTTPS, ProtocolHTTPS, classicPolicy, false, certARN)},
		},
		{
			name: "in-tree CLB backend-protocol http with certificate: HTTPS to plain HTTP fails RequireBackendTLS",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.RequireBackendTLS = true
			},
			svc:           service(lb, withClassic(map[string]string{AnnotationSSLCert: certARN, AnnotationBackendProtocol: "http"}), https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolHTTPS, ProtocolHTTP, classicPolicy, false, certARN)},
			wantErrs: []string{"metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-backend-protocol]: " +
				"HTTPS:443 reach the pods in plaintext: set aws-load-balancer-backend-protocol to ssl or https"},
		},
		{
			name: "in-tree CLB unknown backend-protocol is malformed",
			svc:  service(lb, map[string]string{AnnotationSSLCert: certARN, AnnotationBackendProtocol: "HTTPS"}, https),
			wantErrs: []string{"metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-backend-protocol]: " +
				"must be one of http, https, ssl, tcp"},
		},
		{
			name:     "in-tree CLB UDP port is refused",
			svc:      service(lb, nil, port("dns", 53, corev1.ProtocolUDP)),
			wantErrs: []string{"spec.ports[0].protocol: the in-tree Classic Load Balancer supports only TCP ports"},
		},
		{
			name: "LBC UDP port stays plaintext next to a TLS port",
			svc: service(lb, lbcAnnotations(withStrong(map[string]string{AnnotationSSLCert: certARN})),
				https, port("dns", 53, corev1.ProtocolUDP)),
			wantListeners: []Listener{
				terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, false, certARN),
				plain(1, "dns", 53, ProtocolUDP),
			},
			wantErrs: []string{"spec.ports[1]: port 53 (dns): plaintext UDP listener; an NLB cannot terminate TLS on UDP"},
		},
		{
			name: "LBC TCP_UDP listener merges a TCP and a UDP port and cannot use TLS",
			svc: service(lb, lbcAnnotations(withStrong(map[string]string{AnnotationSSLCert: certARN, AnnotationTCPUDPListener: "true"})),
				port("dns-tcp", 53, corev1.ProtocolTCP), https, port("dns-udp", 53, corev1.ProtocolUDP)),
			wantListeners: []Listener{
				plain(0, "dns-tcp", 53, ProtocolTCPUDP),
				terminated(1, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, false, certARN),
			},
			wantErrs: []string{"spec.ports[0]: port 53 (dns-tcp): plaintext TCP_UDP listener; an NLB cannot terminate TLS on TCP_UDP"},
		},
		{
			name: "LBC without the TCP_UDP annotation keeps TCP and UDP listeners apart",
			svc: service(lb, lbcAnnotations(withStrong(map[string]string{AnnotationSSLCert: certARN, AnnotationTCPUDPListener: "false"})),
				port("dns-tcp", 53, corev1.ProtocolTCP), port("dns-udp", 53, corev1.ProtocolUDP)),
			wantListeners: []Listener{
				terminated(0, "dns-tcp", 53, ProtocolTLS, ProtocolTCP, strongPolicy, false, certARN),
				plain(1, "dns-udp", 53, ProtocolUDP),
			},
			wantErrs: []string{"spec.ports[1]: port 53 (dns-udp): plaintext UDP listener; an NLB cannot terminate TLS on UDP"},
		},
		{
			name: "LBC QUIC port carries its own TLS",
			svc: service(lb, lbcAnnotations(withStrong(map[string]string{AnnotationSSLCert: certARN, AnnotationQUICEnabledPorts: "h3"})),
				https, port("h3", 8443, corev1.ProtocolUDP)),
			wantListeners: []Listener{
				terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, false, certARN),
				plain(1, "h3", 8443, ProtocolQUIC),
			},
		},
		{
			name: "LBC QUIC on a TCP port is malformed",
			svc:  service(lb, lbcAnnotations(map[string]string{AnnotationSSLCert: certARN, AnnotationQUICEnabledPorts: "443"}), https),
			wantErrs: []string{"metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-quic-enabled-ports]: " +
				"port 443 is TLS: QUIC applies only to UDP or TCP_UDP ports"},
		},
		{
			name: "LBC SCTP port without certificate is plaintext",
			svc:  service(lb, lbcAnnotations(nil), port("sig", 2905, corev1.ProtocolSCTP)),
			wantListeners: []Listener{
				plain(0, "sig", 2905, ProtocolSCTP),
			},
			wantErrs: []string{"spec.ports[0]: port 2905 (sig): plaintext SCTP listener; set aws-load-balancer-ssl-cert"},
		},
		{
			name: "LBC backend-protocol ssl passes RequireBackendTLS",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.RequireBackendTLS = true
			},
			svc:           service(lb, lbcAnnotations(withStrong(map[string]string{AnnotationSSLCert: certARN, AnnotationBackendProtocol: "ssl"})), https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTLS, strongPolicy, false, certARN)},
		},
		{
			name: "LBC without backend-protocol fails RequireBackendTLS",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.RequireBackendTLS = true
			},
			svc:           service(lb, lbcAnnotations(withStrong(map[string]string{AnnotationSSLCert: certARN})), https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, false, certARN)},
			wantErrs: []string{"metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-backend-protocol]: " +
				"TLS:443 reach the pods in plaintext: set aws-load-balancer-backend-protocol to ssl"},
		},
		{
			name:          "named policy outside the allow-list",
			svc:           service(lb, lbcAnnotations(map[string]string{AnnotationSSLCert: certARN, AnnotationSSLNegotiation: weakPolicy}), https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, weakPolicy, false, certARN)},
			wantErrs:      []string{negotiationField + `: policy "ELBSecurityPolicy-2016-08" is not allowed: use e.g. ` + strongPolicy},
		},
		{
			name: "allowed weak policy when the allow-list names it",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.AllowedSSLPolicies = []string{weakPolicy}
			},
			svc:           service(lb, lbcAnnotations(map[string]string{AnnotationSSLCert: certARN}), https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, weakPolicy, true, certARN)},
		},
		{
			name: "LBC without scheme is internal: skipped with SkipInternal",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.SkipInternal = true
			},
			svc:           service(lb, lbcAnnotations(nil), http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantSkipped:   true,
		},
		{
			name:          "LBC internal is judged without SkipInternal",
			svc:           service(lb, lbcAnnotations(map[string]string{AnnotationScheme: "internal"}), http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantErrs:      []string{"spec.ports[0]: port 80 (http): plaintext TCP listener; set aws-load-balancer-ssl-cert"},
		},
		{
			name: "LBC internet-facing is judged with SkipInternal",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.SkipInternal = true
			},
			svc:           service(lb, lbcAnnotations(map[string]string{AnnotationScheme: "internet-facing"}), http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantErrs:      []string{"spec.ports[0]: port 80 (http): plaintext TCP listener; set aws-load-balancer-ssl-cert"},
		},
		{
			name: "LBC legacy internal false is internet-facing",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.SkipInternal = true
			},
			svc:           service(lb, lbcAnnotations(map[string]string{AnnotationInternal: "false"}), http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantErrs:      []string{"spec.ports[0]: port 80 (http): plaintext TCP listener; set aws-load-balancer-ssl-cert"},
		},
		{
			name: "in-tree is internet-facing by default",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.SkipInternal = true
			},
			svc:           service(lb, nil, http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantErrs:      []string{"spec.ports[0]: port 80 (http): plaintext TCP listener; set aws-load-balancer-ssl-cert"},
		},
		{
			name: "in-tree legacy internal annotation: any value but false",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.SkipInternal = true
			},
			svc:           service(lb, map[string]string{AnnotationInternal: "0.0.0.0/0"}, http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantSkipped:   true,
		},
		{
			name:          "LBC unknown scheme is malformed",
			svc:           service(lb, lbcAnnotations(map[string]string{AnnotationScheme: "private"}), http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantErrs: []string{"metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-scheme]: " +
				`must be "internal" or "internet-facing"`},
		},
		{
			name:          "LBC non-boolean internal is malformed",
			svc:           service(lb, lbcAnnotations(map[string]string{AnnotationInternal: "yes"}), http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantErrs: []string{"metadata.annotations[service.beta.kubernetes.io/aws-load-balancer-internal]: " +
				`must be "true" or "false"`},
		},
		{
			name:          "a port without protocol is TCP, as the API server defaults it",
			svc:           service(lb, map[string]string{AnnotationSSLCert: certARN}, port("", 80, "")),
			wantListeners: []Listener{terminated(0, "", 80, ProtocolSSL, ProtocolTCP, weakPolicy, true, certARN)},
			wantErrs:      []string{classicDefaultPolicyErr},
		},
		{
			// ensureSSLNegotiationPolicy (cloud-provider-aws) references the
			// name in a CLB policy; AWS has no TLS 1.3 Classic policy.
			name:          "in-tree CLB with an ELBv2 policy name: the provider cannot apply it",
			svc:           service(lb, withStrong(map[string]string{AnnotationSSLCert: certARN}), https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolSSL, ProtocolTCP, strongPolicy, false, certARN)},
			wantErrs: []string{negotiationField + `: policy "ELBSecurityPolicy-TLS13-1-2-2021-06" does not exist on a Classic Load Balancer: ` +
				"the provider fails to apply it and the listeners keep ELBSecurityPolicy-2016-08; use ELBSecurityPolicy-TLS-1-2-2017-01, or an NLB"},
		},
		{
			// The in-tree provider sets no policy: AWS's API default
			// applies, whatever the LBC's --default-ssl-policy.
			name: "in-tree CLB without a policy gets AWS's default, not the LBC's",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.ControllerDefaultSSLPolicy = strongPolicy
			},
			svc:           service(lb, map[string]string{AnnotationSSLCert: certARN}, https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolSSL, ProtocolTCP, weakPolicy, true, certARN)},
			wantErrs:      []string{classicDefaultPolicyErr},
		},
		{
			name: "in-tree NLB without a policy gets AWS's default, not the LBC's",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.ControllerDefaultSSLPolicy = strongPolicy
			},
			svc:           service(lb, map[string]string{AnnotationLoadBalancerType: "nlb", AnnotationSSLCert: certARN}, https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, weakPolicy, true, certARN)},
			wantErrs:      []string{defaultPolicyErr},
		},
		{
			name: "allowedSSLPoliciesByType overrides the NLB allow-list only",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.AllowedSSLPoliciesByType = map[config.LoadBalancerType][]string{config.LoadBalancerNLB: {"ELBSecurityPolicy-TLS13-1-3-PQ-2025-09"}}
			},
			svc:           service(lb, lbcAnnotations(withStrong(map[string]string{AnnotationSSLCert: certARN})), https),
			wantListeners: []Listener{terminated(0, "https", 443, ProtocolTLS, ProtocolTCP, strongPolicy, false, certARN)},
			wantErrs: []string{negotiationField + `: policy "ELBSecurityPolicy-TLS13-1-2-2021-06" is not allowed: ` +
				"use e.g. ELBSecurityPolicy-TLS13-1-3-PQ-2025-09"},
		},
		{
			name: "ClusterIP Service is not a load balancer",
			svc:  service(corev1.ServiceTypeClusterIP, nil, http),
		},
		{
			name:          "buildListenerCertificates: an ssl-cert of only separators is no certificate, so the advice is to set one",
			svc:           service(lb, lbcAnnotations(map[string]string{AnnotationSSLCert: " , "}), https),
			wantListeners: []Listener{plain(0, "https", 443, ProtocolTCP)},
			wantErrs:      []string{"spec.ports[0]: port 443 (https): plaintext TCP listener; set aws-load-balancer-ssl-cert"},
		},
		{
			name: "EnsureLoadBalancer (cloud-provider-aws): a port without a node port is ignored when none are allocated",
			svc: func() *corev1.Service {
				s := service(lb, map[string]string{AnnotationSSLCert: certARN, AnnotationSSLPorts: "https"}, http, https)
				s.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
				s.Spec.Ports[1].NodePort = 30443
				return s
			}(),
			wantListeners: []Listener{{Port: 443, Protocol: ProtocolSSL, TLS: true, BackendProtocol: ProtocolTCP, SSLPolicy: weakPolicy,
				DefaultSSLPolicy: true, Certificates: []string{certARN}, PortIndex: 1, PortName: "https"}},
			wantErrs: []string{classicDefaultPolicyErr},
		},
		{
			name: "EnsureLoadBalancer: the in-tree NLB ignores it too",
			svc: func() *corev1.Service {
				s := service(lb, map[string]string{AnnotationLoadBalancerType: "nlb"}, http)
				s.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
				return s
			}(),
		},
		{
			name: "the LBC has no such skip (its IP targets need no node port)",
			svc: func() *corev1.Service {
				s := service(lb, lbcAnnotations(nil), http)
				s.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
				return s
			}(),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantErrs:      []string{"spec.ports[0]: port 80 (http): plaintext TCP listener; set aws-load-balancer-ssl-cert"},
		},
		{
			name:          "a node port still to be allocated (check's input) is judged",
			svc:           service(lb, nil, http),
			wantListeners: []Listener{plain(0, "http", 80, ProtocolTCP)},
			wantErrs:      []string{"spec.ports[0]: port 80 (http): plaintext TCP listener; set aws-load-balancer-ssl-cert"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := defaultSettings()
			if tt.settings != nil {
				tt.settings(&settings)
			}
			listeners, _ := ServiceListeners(tt.svc, settings)
			assertListeners(t, listeners, tt.wantListeners)
			result := CheckService(tt.svc, settings)
			errs, skipped := result.Errs, result.SkippedInternal
			ruletest.AssertDetails(t, "CheckService", errs, tt.wantErrs)
			// What the handler decodes (decodeService) is judged alike.
			decoded, err := decodeService(corev1.SchemeGroupVersion.WithKind("Service"), mustMarshal(t, tt.svc))
			if err != nil {
				t.Fatal(err)
			}
			if again := CheckService(decoded, settings); !reflect.DeepEqual(again, result) {
				t.Errorf("decoded Service judged differently:\n got %v\nwant %v", again, result)
			}
			if skipped != tt.wantSkipped {
				t.Errorf("skipped internal = %v, want %v", skipped, tt.wantSkipped)
			}
		})
	}
}
