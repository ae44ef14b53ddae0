package lbtls

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

// albIngress is an Ingress of class alb with one rule per host.
func albIngress(namespace, name string, ann map[string]string, hosts ...string) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Annotations: ann},
		Spec:       networkingv1.IngressSpec{IngressClassName: ptr.To("alb")},
	}
	for _, h := range hosts {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: h})
	}
	return ing
}

func withTLS(ing *networkingv1.Ingress, hosts ...string) *networkingv1.Ingress {
	ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: hosts, SecretName: "tls"})
	return ing
}

// referenceALBAnnotations are the reference ALB example's annotations plus extra.
func referenceALBAnnotations(extra map[string]string) map[string]string {
	ann := map[string]string{AnnotationCertificateARN: certARN, AnnotationSSLPolicy: strongPolicy}
	maps.Copy(ann, extra)
	return ann
}

func httpsListener(port int32, policy string, isDefault bool, certs []string, hosts []string, ingresses ...string) Listener {
	return Listener{Port: port, Protocol: ProtocolHTTPS, TLS: true, SSLPolicy: policy, DefaultSSLPolicy: isDefault,
		Certificates: certs, DiscoveryHosts: hosts, PortIndex: -1, Ingresses: ingresses}
}

func httpListener(port, redirect int32, ingresses ...string) Listener {
	return Listener{Port: port, Protocol: ProtocolHTTP, Redirect: redirect != 0, RedirectPort: redirect, PortIndex: -1, Ingresses: ingresses}
}

const (
	listenPortsField = "metadata.annotations[alb.ingress.kubernetes.io/listen-ports]"
	groupNameField   = "metadata.annotations[alb.ingress.kubernetes.io/group.name]"
	sslPolicyField   = "metadata.annotations[alb.ingress.kubernetes.io/ssl-policy]"
	sslRedirectField = "metadata.annotations[alb.ingress.kubernetes.io/ssl-redirect]"
	certificateField = "metadata.annotations[alb.ingress.kubernetes.io/certificate-arn]"
	schemeField      = "metadata.annotations[alb.ingress.kubernetes.io/scheme]"
	bothPorts        = `[{"HTTP":80},{"HTTPS":443}]`
)

func TestJudgeIngressGroup(t *testing.T) {
	certs := []string{certARN}
	tests := []struct {
		name          string
		settings      func(*config.LoadBalancerTLSSettings)
		members       []*networkingv1.Ingress
		params        []*ClassParams // of members, by position
		wantListeners []Listener
		wantErrs      []string
		wantSkipped   bool
	}{
		{
			name:          "reference ALB example: certificate-arn defaults to HTTPS:443",
			members:       []*networkingv1.Ingress{albIngress("shop", "web", referenceALBAnnotations(nil))},
			wantListeners: []Listener{httpsListener(443, strongPolicy, false, certs, nil, "shop/web")},
		},
		{
			name:          "no annotations: default plaintext HTTP:80",
			members:       []*networkingv1.Ingress{albIngress("shop", "web", nil, "shop.example.com")},
			wantListeners: []Listener{httpListener(80, 0, "shop/web")},
			wantErrs:      []string{certificateField + ": default listener HTTP:80 is plaintext: set certificate-arn or an HTTPS listen port"},
		},
		{
			name: "spec.tls alone keeps the default HTTP:80 (the LBC discovers only for HTTPS ports)",
			members: []*networkingv1.Ingress{withTLS(albIngress("shop", "web", map[string]string{AnnotationSSLPolicy: strongPolicy},
				"shop.example.com"), "shop.example.com")},
			wantListeners: []Listener{httpListener(80, 0, "shop/web")},
			wantErrs: []string{certificateField +
				": default listener HTTP:80 is plaintext: spec.tls alone does not make it HTTPS; set certificate-arn"},
		},
		{
			name: "HTTPS listen port discovers certificates from rule and spec.tls hosts",
			members: []*networkingv1.Ingress{withTLS(albIngress("shop", "web", map[string]string{
				AnnotationListenPorts: `[{"HTTPS":443}]`}, "b.example.com", "a.example.com"), "c.example.com")},
			wantListeners: []Listener{httpsListener(443, weakPolicy, true, nil,
				[]string{"a.example.com", "b.example.com", "c.example.com"}, "shop/web")},
			wantErrs: []string{groupNameOrPolicy(sslPolicyField, "HTTPS:443", weakPolicy)},
		},
		{
			name: "HTTP next to HTTPS without ssl-redirect is plaintext",
			members: []*networkingv1.Ingress{albIngress("shop", "web", referenceALBAnnotations(map[string]string{
				AnnotationListenPorts: bothPorts}))},
			wantListeners: []Listener{httpListener(80, 0, "shop/web"), httpsListener(443, strongPolicy, false, certs, nil, "shop/web")},
			wantErrs:      []string{listenPortsField + `: HTTP:80 is plaintext: set ssl-redirect: "443"`},
		},
		{
			name: "ssl-redirect turns HTTP into a redirect",
			members: []*networkingv1.Ingress{albIngress("shop", "web", referenceALBAnnotations(map[string]string{
				AnnotationListenPorts: `[{"HTTP":80},{"HTTPS":443},{"HTTP":8080}]`, AnnotationSSLRedirect: "443"}))},
			wantListeners: []Listener{
				httpListener(80, 443, "shop/web"),
				httpsListener(443, strongPolicy, false, certs, nil, "shop/web"),
				httpListener(8080, 443, "shop/web"),
			},
		},
		{
			name: "HTTP only: no HTTPS port to redirect to",
			members: []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{
				AnnotationListenPorts: `[{"HTTP":8080}]`})},
			wantListeners: []Listener{httpListener(8080, 0, "shop/web")},
			wantErrs:      []string{listenPortsField + ": HTTP:8080 is plaintext: add an HTTPS listen port and set ssl-redirect to it"},
		},
		{
			name: "ssl-redirect to a port that is not HTTPS",
			members: []*networkingv1.Ingress{albIngress("shop", "web", referenceALBAnnotations(map[string]string{
				AnnotationListenPorts: bothPorts, AnnotationSSLRedirect: "8443"}))},
			wantListeners: []Listener{httpListener(80, 0, "shop/web"), httpsListener(443, strongPolicy, false, certs, nil, "shop/web")},
			wantErrs:      []string{sslRedirectField + ": ssl-redirect port 8443 (shop/web) is not an HTTPS listener of the ALB"},
		},
		{
			name: "non-numeric ssl-redirect is malformed",
			members: []*networkingv1.Ingress{albIngress("shop", "web", referenceALBAnnotations(map[string]string{
				AnnotationListenPorts: bothPorts, AnnotationSSLRedirect: "true"}))},
			wantListeners: []Listener{httpListener(80, 0, "shop/web"), httpsListener(443, strongPolicy, false, certs, nil, "shop/web")},
			wantErrs:      []string{sslRedirectField + `: must be the number of an HTTPS listen port, e.g. "443"`},
		},
		{
			name:     "listen-ports not a list",
			members:  []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationListenPorts: `{"HTTPS":443}`})},
			wantErrs: []string{listenPortsField + `: must be a JSON list like [{"HTTP":80},{"HTTPS":443}]`},
		},
		{
			name:     "listen-ports not JSON",
			members:  []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationListenPorts: `HTTPS:443`})},
			wantErrs: []string{listenPortsField + `: must be a JSON list like [{"HTTP":80},{"HTTPS":443}]`},
		},
		{
			name:     "listen-ports with trailing data",
			members:  []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationListenPorts: `[{"HTTPS":443}] [{"HTTP":80}]`})},
			wantErrs: []string{listenPortsField + `: must be a JSON list like [{"HTTP":80},{"HTTPS":443}]`},
		},
		{
			name:     "listen-ports empty",
			members:  []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationListenPorts: `[]`})},
			wantErrs: []string{listenPortsField + `: must list at least one port, like [{"HTTP":80},{"HTTPS":443}]`},
		},
		{
			name:     "listen-ports quoted port",
			members:  []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationListenPorts: `[{"HTTPS":"443"}]`})},
			wantErrs: []string{listenPortsField + `: entry 1: port of HTTPS must be a number in 1-65535, not "443"`},
		},
		{
			name:     "listen-ports fractional port",
			members:  []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationListenPorts: `[{"HTTPS":443.5}]`})},
			wantErrs: []string{listenPortsField + `: entry 1: port of HTTPS must be a number in 1-65535, not 443.5`},
		},
		{
			name:     "listen-ports port out of range",
			members:  []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationListenPorts: `[{"HTTPS":70000}]`})},
			wantErrs: []string{listenPortsField + `: entry 1: port of HTTPS must be a number in 1-65535, not 70000`},
		},
		{
			name:     "listen-ports unknown protocol",
			members:  []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationListenPorts: `[{"TLS":443}]`})},
			wantErrs: []string{listenPortsField + `: entry 1: protocol "TLS" must be HTTP or HTTPS`},
		},
		{
			name:     "listen-ports lower-case protocol",
			members:  []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationListenPorts: `[{"https":443}]`})},
			wantErrs: []string{listenPortsField + `: entry 1: protocol "https" must be HTTP or HTTPS`},
		},
		{
			// computeIngressListenPorts: entries apply in order into one map.
			name: "computeIngressListenPorts: a later entry's protocol wins (HTTP then HTTPS)",
			members: []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{
				AnnotationListenPorts: `[{"HTTP":443},{"HTTPS":443}]`, AnnotationCertificateARN: certARN, AnnotationSSLPolicy: strongPolicy})},
			wantListeners: []Listener{httpsListener(443, strongPolicy, false, certs, nil, "shop/web")},
		},
		{
			name: "computeIngressListenPorts: a later entry's protocol wins (HTTPS then HTTP), and the message names the entry",
			members: []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{
				AnnotationListenPorts: `[{"HTTPS":443},{"HTTP":443}]`, AnnotationCertificateARN: certARN})},
			wantListeners: []Listener{httpListener(443, 0, "shop/web")},
			wantErrs: []string{listenPortsField + ": HTTP:443 is plaintext (entry 2 of listen-ports makes port 443 HTTP, overriding HTTPS from entry 1): " +
				"add an HTTPS listen port and set ssl-redirect to it"},
		},
		{
			name:     "computeIngressListenPorts: one entry with a port under both protocols is settled by Go map order",
			members:  []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationListenPorts: `[{"HTTP":443,"HTTPS":443}]`})},
			wantErrs: []string{listenPortsField + `: entry 1 lists port 443 as both HTTP and HTTPS: the LBC picks one at random`},
		},
		{
			name: "computeIngressListenPorts: a port repeated with the same protocol is one listener",
			members: []*networkingv1.Ingress{albIngress("shop", "web", referenceALBAnnotations(map[string]string{
				AnnotationListenPorts: `[{"HTTPS":443},{"HTTPS":443}]`}))},
			wantListeners: []Listener{httpsListener(443, strongPolicy, false, certs, nil, "shop/web")},
		},
		{
			name: "computeIngressExplicitSSLPolicy: the IngressClassParams sslPolicy wins over the annotation",
			members: []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{
				AnnotationCertificateARN: certARN, AnnotationSSLPolicy: strongPolicy})},
			params:        []*ClassParams{{Name: "legacy", SSLPolicy: weakPolicy}},
			wantListeners: []Listener{httpsListener(443, weakPolicy, false, certs, nil, "shop/web")},
			wantErrs: []string{`spec.ingressClassName: HTTPS:443 (IngressClassParams legacy spec.sslPolicy): policy "ELBSecurityPolicy-2016-08" is not allowed: use e.g. ` +
				strongPolicy},
		},
		{
			name: "computeIngressExplicitSSLPolicy: an allowed IngressClassParams sslPolicy fixes a weak annotation",
			members: []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{
				AnnotationCertificateARN: certARN, AnnotationSSLPolicy: weakPolicy})},
			params:        []*ClassParams{{Name: "strict", SSLPolicy: strongPolicy}},
			wantListeners: []Listener{httpsListener(443, strongPolicy, false, certs, nil, "shop/web")},
		},
		{
			name:          "computeIngressExplicitTLSCertARNs: IngressClassParams certificateArn makes the default listener HTTPS:443",
			members:       []*networkingv1.Ingress{albIngress("shop", "web", nil, "shop.example.com")},
			params:        []*ClassParams{{Name: "strict", SSLPolicy: strongPolicy, CertificateARNs: []string{otherCertARN}}},
			wantListeners: []Listener{httpsListener(443, strongPolicy, false, []string{otherCertARN}, nil, "shop/web")},
		},
		{
			name: "buildSSLRedirectConfig: the IngressClassParams sslRedirectPort redirects",
			members: []*networkingv1.Ingress{albIngress("shop", "web", referenceALBAnnotations(map[string]string{
				AnnotationListenPorts: bothPorts}))},
			params:        []*ClassParams{{Name: "strict", SSLRedirectPort: "443"}},
			wantListeners: []Listener{httpListener(80, 443, "shop/web"), httpsListener(443, strongPolicy, false, certs, nil, "shop/web")},
		},
		{
			name: "buildSSLRedirectConfig: a non-number IngressClassParams sslRedirectPort silently drops the redirect",
			members: []*networkingv1.Ingress{albIngress("shop", "web", referenceALBAnnotations(map[string]string{
				AnnotationListenPorts: bothPorts, AnnotationSSLRedirect: "443"}))},
			params:        []*ClassParams{{Name: "odd", SSLRedirectPort: "https"}},
			wantListeners: []Listener{httpListener(80, 0, "shop/web"), httpsListener(443, strongPolicy, false, certs, nil, "shop/web")},
			wantErrs: []string{listenPortsField +
				`: HTTP:80 is plaintext: IngressClassParams odd sslRedirectPort "https" is not a number, so the LBC sets up no redirect for the group`},
		},
		{
			name: "buildLoadBalancerScheme: the IngressClassParams scheme wins over the annotation",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.SkipInternal = true
			},
			members:       []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationALBScheme: "internet-facing"})},
			params:        []*ClassParams{{Name: "private", Scheme: ptr.To("internal")}},
			wantSkipped:   true,
			wantListeners: []Listener{httpListener(80, 0, "shop/web")},
		},
		{
			name: "named ssl-policy outside the allow-list",
			members: []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{
				AnnotationCertificateARN: certARN, AnnotationSSLPolicy: weakPolicy})},
			wantListeners: []Listener{httpsListener(443, weakPolicy, false, certs, nil, "shop/web")},
			wantErrs:      []string{sslPolicyField + `: HTTPS:443: policy "ELBSecurityPolicy-2016-08" is not allowed: use e.g. ` + strongPolicy},
		},
		{
			name: "group split across two Ingresses in two namespaces: redirect from one, HTTPS from the other",
			members: []*networkingv1.Ingress{
				albIngress("web", "front", map[string]string{AnnotationGroupName: "shared", AnnotationListenPorts: `[{"HTTP":80}]`}),
				albIngress("api", "back", referenceALBAnnotations(map[string]string{AnnotationGroupName: "shared",
					AnnotationListenPorts: `[{"HTTPS":443}]`, AnnotationSSLRedirect: "443"})),
			},
			wantListeners: []Listener{httpListener(80, 443, "web/front"), httpsListener(443, strongPolicy, false, certs, nil, "api/back")},
		},
		{
			name: "group without ssl-redirect: the reviewed member's HTTP listener is plaintext",
			members: []*networkingv1.Ingress{
				albIngress("web", "front", map[string]string{AnnotationGroupName: "shared", AnnotationListenPorts: `[{"HTTP":80}]`}),
				albIngress("api", "back", referenceALBAnnotations(map[string]string{AnnotationGroupName: "shared",
					AnnotationListenPorts: `[{"HTTPS":443}]`})),
			},
			wantListeners: []Listener{httpListener(80, 0, "web/front"), httpsListener(443, strongPolicy, false, certs, nil, "api/back")},
			wantErrs:      []string{listenPortsField + `: HTTP:80 is plaintext: set ssl-redirect: "443"`},
		},
		{
			name: "group without ssl-redirect seen from the HTTPS member: the other member's listener is plaintext",
			members: []*networkingv1.Ingress{
				albIngress("api", "back", referenceALBAnnotations(map[string]string{AnnotationGroupName: "shared",
					AnnotationListenPorts: `[{"HTTPS":443}]`})),
				albIngress("web", "front", map[string]string{AnnotationGroupName: "shared", AnnotationListenPorts: `[{"HTTP":80}]`}),
			},
			wantListeners: []Listener{httpListener(80, 0, "web/front"), httpsListener(443, strongPolicy, false, certs, nil, "api/back")},
			wantErrs:      []string{groupNameField + `: HTTP:80 of web/front in this group is plaintext: set ssl-redirect: "443"`},
		},
		{
			name: "group merges certificates and members of a shared port",
			members: []*networkingv1.Ingress{
				albIngress("web", "front", map[string]string{AnnotationGroupName: "shared", AnnotationCertificateARN: otherCertARN}),
				albIngress("api", "back", referenceALBAnnotations(map[string]string{AnnotationGroupName: "shared"})),
			},
			wantListeners: []Listener{httpsListener(443, strongPolicy, false, []string{certARN, otherCertARN}, nil, "web/front", "api/back")},
		},
		{
			name: "group conflicting protocols on one port",
			members: []*networkingv1.Ingress{
				albIngress("web", "front", map[string]string{AnnotationGroupName: "shared", AnnotationListenPorts: `[{"HTTP":443}]`}),
				albIngress("api", "back", referenceALBAnnotations(map[string]string{AnnotationGroupName: "shared"})),
			},
			wantListeners: []Listener{httpListener(443, 0, "web/front")},
			wantErrs:      []string{groupNameField + ": port 443 is HTTP in web/front but HTTPS in api/back: the LBC rejects the group"},
		},
		{
			name: "group conflicting ssl-policy on one port",
			members: []*networkingv1.Ingress{
				albIngress("web", "front", map[string]string{AnnotationGroupName: "shared", AnnotationCertificateARN: certARN,
					AnnotationSSLPolicy: weakPolicy}),
				albIngress("api", "back", referenceALBAnnotations(map[string]string{AnnotationGroupName: "shared"})),
			},
			wantListeners: []Listener{httpsListener(443, weakPolicy, false, certs, nil, "web/front", "api/back")},
			wantErrs: []string{groupNameField + ": port 443 has ssl-policy ELBSecurityPolicy-2016-08 in web/front but " +
				strongPolicy + " in api/back: the LBC rejects the group (mergeListenPortConfigs)"},
		},
		{
			name: "mergeListenPortConfigs: an empty ssl-policy is present (ParseStringAnnotation) and conflicts with another",
			members: []*networkingv1.Ingress{
				albIngress("web", "front", map[string]string{AnnotationGroupName: "shared", AnnotationCertificateARN: certARN,
					AnnotationSSLPolicy: ""}),
				albIngress("api", "back", referenceALBAnnotations(map[string]string{AnnotationGroupName: "shared"})),
			},
			wantListeners: []Listener{httpsListener(443, weakPolicy, true, certs, nil, "web/front", "api/back")},
			wantErrs: []string{groupNameField + `: port 443 has ssl-policy "" in web/front but ` +
				strongPolicy + " in api/back: the LBC rejects the group (mergeListenPortConfigs)"},
		},
		{
			name: "a lone empty ssl-policy is judged as the default",
			members: []*networkingv1.Ingress{albIngress("web", "front", map[string]string{AnnotationCertificateARN: certARN,
				AnnotationSSLPolicy: ""})},
			wantListeners: []Listener{httpsListener(443, weakPolicy, true, certs, nil, "web/front")},
			wantErrs:      []string{groupNameOrPolicy(sslPolicyField, "HTTPS:443", weakPolicy)},
		},
		{
			name:     "buildACMCertificates (EnableCertificateManagement): create-acm-cert makes the default listener HTTPS:443",
			settings: func(s *config.LoadBalancerTLSSettings) { s.LBCCertificateManagement = true },
			members: []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationCreateACMCert: "true",
				AnnotationSSLPolicy: strongPolicy}, "shop.example.com")},
			wantListeners: []Listener{httpsListener(443, strongPolicy, false,
				[]string{"ACM certificate the LBC requests for shop.example.com"}, nil, "shop/web")},
		},
		{
			name: "without the gate, create-acm-cert does nothing: HTTP:80",
			members: []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationCreateACMCert: "true",
				AnnotationSSLPolicy: strongPolicy}, "shop.example.com")},
			wantListeners: []Listener{httpListener(80, 0, "shop/web")},
			wantErrs:      []string{certificateField + ": default listener HTTP:80 is plaintext: set certificate-arn or an HTTPS listen port"},
		},
		{
			name:     "buildACMCertificates: no host, no certificate, nothing built",
			settings: func(s *config.LoadBalancerTLSSettings) { s.LBCCertificateManagement = true },
			members:  []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationCreateACMCert: "true"})},
			wantErrs: []string{"metadata.annotations[alb.ingress.kubernetes.io/create-acm-cert]: create-acm-cert is on " +
				"but the Ingress has no host in spec.rules[].host or spec.tls[].hosts: the LBC cannot request a certificate"},
		},
		{
			name:     "run (model_builder.go): a create-acm-cert that is no bool is false",
			settings: func(s *config.LoadBalancerTLSSettings) { s.LBCCertificateManagement = true },
			members: []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationCreateACMCert: "yes"},
				"shop.example.com")},
			wantListeners: []Listener{httpListener(80, 0, "shop/web")},
			wantErrs:      []string{certificateField + ": default listener HTTP:80 is plaintext: set certificate-arn or an HTTPS listen port"},
		},
		{
			name: "group conflicting ssl-redirect ports",
			members: []*networkingv1.Ingress{
				albIngress("web", "front", referenceALBAnnotations(map[string]string{AnnotationGroupName: "shared",
					AnnotationListenPorts: `[{"HTTPS":443},{"HTTPS":8443}]`, AnnotationSSLRedirect: "8443"})),
				albIngress("api", "back", map[string]string{AnnotationGroupName: "shared", AnnotationSSLRedirect: "443"}),
			},
			wantListeners: []Listener{
				httpListener(80, 0, "api/back"),
				httpsListener(443, strongPolicy, false, certs, nil, "web/front"),
				httpsListener(8443, strongPolicy, false, certs, nil, "web/front"),
			},
			wantErrs: []string{sslRedirectField + ": ssl-redirect must be the same in the whole group, not 8443 (web/front), 443 (api/back)"},
		},
		{
			name: "group member with malformed listen-ports is named",
			members: []*networkingv1.Ingress{
				albIngress("web", "front", referenceALBAnnotations(map[string]string{AnnotationGroupName: "shared"})),
				albIngress("api", "back", map[string]string{AnnotationGroupName: "shared", AnnotationListenPorts: `[{"HTTP":"80"}]`}),
			},
			wantErrs: []string{groupNameField + `: member api/back: entry 1: port of HTTP must be a number in 1-65535, not "80"`},
		},
		{
			name: "group policy of another member outside the allow-list",
			members: []*networkingv1.Ingress{
				albIngress("web", "front", map[string]string{AnnotationGroupName: "shared", AnnotationListenPorts: `[{"HTTP":80}]`,
					AnnotationSSLRedirect: "8443"}),
				albIngress("api", "back", map[string]string{AnnotationGroupName: "shared", AnnotationCertificateARN: certARN,
					AnnotationListenPorts: `[{"HTTPS":8443}]`}),
			},
			wantListeners: []Listener{httpListener(80, 8443, "web/front"), httpsListener(8443, weakPolicy, true, certs, nil, "api/back")},
			wantErrs:      []string{groupNameOrPolicy(groupNameField, "HTTPS:8443", weakPolicy)},
		},
		{
			name: "internal group (no scheme anywhere) is skipped with SkipInternal",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.SkipInternal = true
			},
			members:       []*networkingv1.Ingress{albIngress("shop", "web", nil)},
			wantListeners: []Listener{httpListener(80, 0, "shop/web")},
			wantSkipped:   true,
		},
		{
			name: "one internet-facing member makes the group internet-facing",
			settings: func(s *config.LoadBalancerTLSSettings) {
				s.SkipInternal = true
			},
			members: []*networkingv1.Ingress{
				albIngress("web", "front", map[string]string{AnnotationGroupName: "shared"}),
				albIngress("api", "back", map[string]string{AnnotationGroupName: "shared", AnnotationALBScheme: "internet-facing"}),
			},
			wantListeners: []Listener{httpListener(80, 0, "web/front", "api/back")},
			wantErrs:      []string{certificateField + ": default listener HTTP:80 is plaintext: set certificate-arn or an HTTPS listen port"},
		},
		{
			name: "conflicting schemes",
			members: []*networkingv1.Ingress{
				albIngress("web", "front", map[string]string{AnnotationGroupName: "shared", AnnotationALBScheme: "internal"}),
				albIngress("api", "back", map[string]string{AnnotationGroupName: "shared", AnnotationALBScheme: "internet-facing"}),
			},
			wantListeners: []Listener{httpListener(80, 0, "web/front", "api/back")},
			wantErrs:      []string{schemeField + ": conflicting schemes in the group: internal (web/front), internet-facing (api/back)"},
		},
		{
			name: "conflicting schemes of other members",
			members: []*networkingv1.Ingress{
				albIngress("web", "front", map[string]string{AnnotationGroupName: "shared"}),
				albIngress("api", "back", map[string]string{AnnotationGroupName: "shared", AnnotationALBScheme: "internet-facing"}),
				albIngress("api", "internal", map[string]string{AnnotationGroupName: "shared", AnnotationALBScheme: "internal"}),
			},
			wantListeners: []Listener{httpListener(80, 0, "web/front", "api/back", "api/internal")},
			wantErrs:      []string{groupNameField + ": conflicting schemes in the group: internal (api/internal), internet-facing (api/back)"},
		},
		{
			name:          "unknown scheme",
			members:       []*networkingv1.Ingress{albIngress("shop", "web", map[string]string{AnnotationALBScheme: "public"})},
			wantListeners: []Listener{httpListener(80, 0, "shop/web")},
			wantErrs:      []string{schemeField + `: must be "internal" or "internet-facing"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := defaultSettings()
			if tt.settings != nil {
				tt.settings(&settings)
			}
			members := Members(tt.members...)
			for i, p := range tt.params {
				members[i].Params = p
			}
			listeners, _ := IngressGroupListeners(members, settings)
			assertListeners(t, listeners, tt.wantListeners)
			result := CheckIngressGroup(members, settings)
			errs, skipped := result.Errs, result.SkippedInternal
			ruletest.AssertDetails(t, "CheckIngressGroup", errs, tt.wantErrs)
			if skipped != tt.wantSkipped {
				t.Errorf("skipped internal = %v, want %v", skipped, tt.wantSkipped)
			}
			// The reviewed Ingress as the handler decodes it (decodeIngress)
			// and the others as the cache keeps them (TrimIngress) are
			// judged alike.
			slim := slices.Clone(members)
			for i := range slim {
				var err error
				if i == 0 {
					slim[i].Ingress, err = decodeIngress(networkingv1.SchemeGroupVersion.WithKind("Ingress"), mustMarshal(t, members[i].Ingress))
				} else {
					var trimmed any
					trimmed, err = TrimIngress(members[i].DeepCopy())
					slim[i].Ingress = trimmed.(*networkingv1.Ingress)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if again := CheckIngressGroup(slim, settings); !reflect.DeepEqual(again, result) {
				t.Errorf("decoded and trimmed Ingresses judged differently:\n got %v\nwant %v", again, result)
			}
		})
	}
}

// groupNameOrPolicy is the error for a listener on the controller's default policy.
func groupNameOrPolicy(field, listeners, policy string) string {
	return field + ": " + listeners + ": default policy " + policy + " is not allowed: set one, e.g. " + strongPolicy
}

func TestIngressTLSCoverage(t *testing.T) {
	nginx := func(hosts ...string) *networkingv1.Ingress {
		ing := albIngress("shop", "web", nil, hosts...)
		ing.Spec.IngressClassName = ptr.To("nginx")
		return ing
	}
	tests := []struct {
		name     string
		ing      *networkingv1.Ingress
		wantErrs []string
	}{
		{"no spec.tls", nginx("shop.example.com"), []string{`spec.tls: Ingresses of class "nginx" must terminate TLS: add spec.tls`}},
		{"every host covered", withTLS(nginx("a.example.com", "b.example.com"), "a.example.com", "b.example.com"), nil},
		{"wildcard covers one label", withTLS(nginx("a.example.com", "x.a.example.com"), "*.example.com"),
			[]string{`spec.rules[1].host: host "x.a.example.com" is served without TLS: add it to spec.tls[].hosts`}},
		{"host missing", withTLS(nginx("a.example.com", "b.example.com"), "a.example.com"),
			[]string{`spec.rules[1].host: host "b.example.com" is served without TLS: add it to spec.tls[].hosts`}},
		{"rule without host uses the spec.tls certificates", withTLS(nginx(""), "a.example.com"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ruletest.AssertDetails(t, "IngressTLSCoverage", IngressTLSCoverage(tt.ing, "nginx"), tt.wantErrs)
		})
	}
}

// TestClassify follows classifyIngress (pkg/ingress/group_loader.go) and
// Load / GetDefaultIngressClass (pkg/ingress/class_loader.go) of the LBC.
func TestClassify(t *testing.T) {
	withClass := func(class string, ann map[string]string) *networkingv1.Ingress {
		ing := albIngress("shop", "web", ann)
		ing.Spec.IngressClassName = nil
		if class != "" {
			ing.Spec.IngressClassName = ptr.To(class)
		}
		return ing
	}
	older, newer := metav1.NewTime(time.Unix(1000, 0)), metav1.NewTime(time.Unix(2000, 0))
	markDefault := func(c networkingv1.IngressClass, at metav1.Time) networkingv1.IngressClass {
		c.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
		c.CreationTimestamp = at
		return c
	}
	edge := ingressClass("edge", IngressClassControllerALB, "")
	nginx := ingressClass("nginx", "k8s.io/ingress-nginx", "")
	withParams := ingressClass("edge-params", IngressClassControllerALB, "strict")
	unknownParams := ingressClass("edge-odd", IngressClassControllerALB, "")
	unknownParams.Spec.Parameters = &networkingv1.IngressClassParametersReference{APIGroup: ptr.To("example.com"), Kind: "Params", Name: "x"}
	auto := ingressClass("auto", IngressClassControllerAutoMode, "")
	autoParams := ingressClass("auto-params", IngressClassControllerAutoMode, "auto")
	autoLBCParams := ingressClass("auto-lbc-params", IngressClassControllerAutoMode, "")
	autoLBCParams.Spec.Parameters = &networkingv1.IngressClassParametersReference{
		APIGroup: ptr.To(IngressClassParamsGVK.Group), Kind: IngressClassParamsGVK.Kind, Name: "strict"}
	lattice := ingressClass("lattice", "application-networking.k8s.aws/ingress", "")
	cluster := NewIngressClasses([]networkingv1.IngressClass{edge, nginx, withParams, unknownParams, auto, autoParams, autoLBCParams, lattice})
	type classifyCase struct {
		name    string
		ing     *networkingv1.Ingress
		classes IngressClasses
		want    Classification
	}
	cases := []classifyCase{
		{"classifyIngress: the annotation decides alone, by the --ingress-class value",
			withClass("nginx", map[string]string{AnnotationIngressClass: "alb"}), cluster, Classification{ALB: true, Owner: OwnerLBC, Class: "alb"}},
		{"classifyIngress: an annotation of another value is not the LBC's",
			withClass("edge", map[string]string{AnnotationIngressClass: "nginx"}), cluster, Classification{Class: "nginx"}},
		{"classifyIngress: a custom-named class with controller ingress.k8s.aws/alb is ALB",
			withClass("edge", nil), cluster, Classification{ALB: true, Owner: OwnerLBC, Class: "edge"}},
		{"classifyIngress: the class name alb means nothing without its IngressClass",
			withClass("alb", nil), cluster, Classification{Class: "alb", NotBuilt: `IngressClass "alb" does not exist`}},
		{"classifyIngress: another controller's class", withClass("nginx", nil), cluster, Classification{Class: "nginx", Controller: "k8s.io/ingress-nginx"}},
		{"Load: the IngressClassParams of the class",
			withClass("edge-params", nil), cluster, Classification{ALB: true, Owner: OwnerLBC, Class: "edge-params", Params: "strict"}},
		{"Load: parameters of another kind make the class invalid",
			withClass("edge-odd", nil), cluster, Classification{Class: "edge-odd", Owner: OwnerLBC, NotBuilt: `IngressClass "edge-odd" references unknown parameters`}},
		{"Load: no class, the default IngressClass is ALB",
			withClass("", nil), NewIngressClasses([]networkingv1.IngressClass{markDefault(edge, older), nginx}), Classification{ALB: true, Owner: OwnerLBC, Class: "edge"}},
		{"Load: no class and no default: --ingress-class=alb manages none",
			withClass("", nil), cluster, Classification{}},
		{"GetDefaultIngressClass: two defaults make the LBC refuse",
			withClass("", nil), NewIngressClasses([]networkingv1.IngressClass{markDefault(edge, older), markDefault(nginx, newer)}),
			Classification{NotBuilt: "2 IngressClasses are marked default (nginx, edge): the LBC refuses to pick one"}},
		{"check without IngressClasses: class names in albIngressClasses", withClass("alb", nil), IngressClasses{}, Classification{ALB: true, Owner: OwnerLBC, Class: "alb"}},
		{"check without IngressClasses: other names", withClass("edge", nil), IngressClasses{}, Classification{Class: "edge"}},
		{"auto-configure-alb.html: a class of controller eks.amazonaws.com/alb is Auto Mode's ALB",
			withClass("auto", nil), cluster, Classification{ALB: true, Owner: OwnerAutoMode, Class: "auto"}},
		{"auto-configure-alb.html: its parameters are eks.amazonaws.com IngressClassParams",
			withClass("auto-params", nil), cluster, Classification{ALB: true, Owner: OwnerAutoMode, Class: "auto-params", Params: "auto"}},
		{"auto-configure-alb.html: the LBC's parameters kind is unknown to Auto Mode",
			withClass("auto-lbc-params", nil), cluster, Classification{Class: "auto-lbc-params", Owner: OwnerAutoMode,
				NotBuilt: `IngressClass "auto-lbc-params" references unknown parameters`}},
		{"a controller in an AWS domain eksguard does not model", withClass("lattice", nil), cluster,
			Classification{Class: "lattice", Controller: "application-networking.k8s.aws/ingress"}},
	}
	// lbcClasslessIngresses: the LBC runs with --ingress-class="".
	classless := []classifyCase{
		{"classifyIngress with --ingress-class=\"\": no class and no default is the LBC's",
			withClass("", nil), cluster, Classification{ALB: true, Owner: OwnerLBC}},
		{"defaultClassAnnotationMatcher with --ingress-class=\"\": annotation \"\" is the LBC's",
			withClass("", map[string]string{AnnotationIngressClass: ""}), cluster, Classification{ALB: true, Owner: OwnerLBC}},
		{"defaultClassAnnotationMatcher with --ingress-class=\"\": annotation alb is the LBC's",
			withClass("", map[string]string{AnnotationIngressClass: "alb"}), cluster, Classification{ALB: true, Owner: OwnerLBC, Class: "alb"}},
		{"defaultClassAnnotationMatcher with --ingress-class=\"\": another annotation is not",
			withClass("", map[string]string{AnnotationIngressClass: "nginx"}), cluster, Classification{Class: "nginx"}},
		{"Load with --ingress-class=\"\": a default IngressClass of another controller wins",
			withClass("", nil), NewIngressClasses([]networkingv1.IngressClass{markDefault(nginx, older)}),
			Classification{Class: "nginx", Controller: "k8s.io/ingress-nginx"}},
	}
	for i, tt := range append(cases, classless...) {
		t.Run(tt.name, func(t *testing.T) {
			settings := defaultSettings()
			settings.LBCClasslessIngresses = i >= len(cases)
			if got := Classify(tt.ing, tt.classes, settings); got != tt.want {
				t.Errorf("Classify = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDefaultIngressClass follows getDefaultClass of the DefaultIngressClass
// admission plugin: the newest default wins, ties by name.
func TestDefaultIngressClass(t *testing.T) {
	at := func(name string, sec int64) networkingv1.IngressClass {
		c := ingressClass(name, IngressClassControllerALB, "")
		c.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
		c.CreationTimestamp = metav1.NewTime(time.Unix(sec, 0))
		return c
	}
	for _, tt := range []struct {
		name    string
		classes []networkingv1.IngressClass
		want    string
	}{
		{"none", []networkingv1.IngressClass{ingressClass("a", "x", "")}, ""},
		{"newest", []networkingv1.IngressClass{at("old", 1), at("new", 2)}, "new"},
		{"tie by name", []networkingv1.IngressClass{at("b", 1), at("a", 1)}, "a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewIngressClasses(tt.classes).Default(); got != tt.want {
				t.Errorf("Default = %q, want %q", got, tt.want)
			}
		})
	}
}
