package lbtls

import (
	"strings"

	"github.com/eksguard/eksguard/config"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Service annotations read by the AWS Load Balancer Controller (LBC) and the
// legacy in-tree AWS cloud provider (now cloud-provider-aws).
const (
	AnnotationLoadBalancerType = "service.beta.kubernetes.io/aws-load-balancer-type"
	AnnotationSSLCert          = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
	AnnotationSSLPorts         = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports"
	AnnotationSSLNegotiation   = "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"
	AnnotationBackendProtocol  = "service.beta.kubernetes.io/aws-load-balancer-backend-protocol"
	AnnotationScheme           = "service.beta.kubernetes.io/aws-load-balancer-scheme"
	AnnotationInternal         = "service.beta.kubernetes.io/aws-load-balancer-internal"
	AnnotationTCPUDPListener   = "service.beta.kubernetes.io/aws-load-balancer-enable-tcp-udp-listener"
	AnnotationQUICEnabledPorts = "service.beta.kubernetes.io/aws-load-balancer-quic-enabled-ports"
	serviceAnnotationPrefix    = "service.beta.kubernetes.io/"
	ingressAnnotationPrefix    = "alb.ingress.kubernetes.io/"
	LBCLoadBalancerClass       = "service.k8s.aws/nlb"
	loadBalancerTypeExternal   = "external"
	loadBalancerTypeNLBIP      = "nlb-ip"
	loadBalancerTypeInTreeNLB  = "nlb"
	schemeInternal             = config.SchemeInternal
	schemeInternetFacing       = config.SchemeInternetFacing
	inTreeAllSSLPorts          = "*"
	inTreeInternalFalse        = "false"
	backendProtocolSSL         = "ssl"
	backendProtocolHTTP        = "http"
	backendProtocolHTTPS       = "https"
	backendProtocolTCP         = "tcp"
	ingressProtocolHTTP        = "HTTP"
	ingressProtocolHTTPS       = "HTTPS"
	defaultIngressHTTPPort     = 80
	defaultIngressHTTPSPort    = 443
	maxListenPort              = 65535
	listenPortsExample         = `[{"HTTP":80},{"HTTPS":443}]`
)

// Ingress annotations read by the LBC for ALBs.
const (
	AnnotationIngressClass   = "kubernetes.io/ingress.class"
	AnnotationListenPorts    = "alb.ingress.kubernetes.io/listen-ports"
	AnnotationCertificateARN = "alb.ingress.kubernetes.io/certificate-arn"
	AnnotationSSLRedirect    = "alb.ingress.kubernetes.io/ssl-redirect"
	AnnotationSSLPolicy      = "alb.ingress.kubernetes.io/ssl-policy"
	AnnotationGroupName      = "alb.ingress.kubernetes.io/group.name"
	AnnotationALBScheme      = "alb.ingress.kubernetes.io/scheme"
	AnnotationCreateACMCert  = "alb.ingress.kubernetes.io/create-acm-cert"
)

// short drops the well-known prefix of an annotation so that messages stay
// within one kubectl warning line; field paths keep the full name.
func short(annotation string) string {
	annotation = strings.TrimPrefix(annotation, serviceAnnotationPrefix)
	return strings.TrimPrefix(annotation, ingressAnnotationPrefix)
}

// splitList parses the LBC's comma-separated annotation values: entries are
// trimmed and empty entries dropped.
func splitList(raw string) []string {
	var out []string
	for _, part := range strings.Split(raw, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

var annotationsPath = field.NewPath("metadata", "annotations")
