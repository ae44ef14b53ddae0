package lbtls

import (
	"fmt"

	"github.com/eksguard/eksguard/config"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// IngressClassParamsGVK is the LBC's cluster-scoped class parameters kind
// (apis/elbv2/v1beta1/ingressclassparams_types.go).
var IngressClassParamsGVK = schema.GroupVersionKind{Group: "elbv2.k8s.aws", Version: "v1beta1", Kind: "IngressClassParams"}

// AutoModeIngressClassParamsGVK is EKS Auto Mode's cluster-scoped class
// parameters kind (auto-configure-alb.html, "IngressClassParams Reference").
var AutoModeIngressClassParamsGVK = schema.GroupVersionKind{Group: "eks.amazonaws.com", Version: "v1", Kind: "IngressClassParams"}

// ClassParamsKinds are the IngressClassParams kinds, by the owner whose
// IngressClasses reference them.
var ClassParamsKinds = map[Owner]schema.GroupVersionKind{
	OwnerLBC:      IngressClassParamsGVK,
	OwnerAutoMode: AutoModeIngressClassParamsGVK,
}

// IsClassParams reports whether gvk is one of ClassParamsKinds.
func IsClassParams(gvk schema.GroupVersionKind) bool {
	return gvk == IngressClassParamsGVK || gvk == AutoModeIngressClassParamsGVK
}

// ClassParams are the fields of an IngressClassParams that decide an ALB's
// listeners; each, when set, wins over the matching annotation of every
// Ingress of the class. Auto Mode's kind has no sslPolicy or
// sslRedirectPort, and names its certificates certificateARNs.
type ClassParams struct {
	// Owner is the controller whose kind this is.
	Owner             Owner
	Name              string
	SSLPolicy         string
	CertificateARNs   []string
	SSLRedirectPort   string
	Group             string
	Scheme            *string
	NamespaceSelector *metav1.LabelSelector
}

// classParamsSpec is the part of the spec eksguard reads, as the CRD names it.
type classParamsSpec struct {
	SSLPolicy         string                `json:"sslPolicy,omitempty"`
	CertificateArn    []string              `json:"certificateArn,omitempty"`
	SSLRedirectPort   string                `json:"sslRedirectPort,omitempty"`
	Group             *classParamsGroup     `json:"group,omitempty"`
	Scheme            *string               `json:"scheme,omitempty"`
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// autoModeClassParamsSpec is the part of Auto Mode's spec eksguard reads.
type autoModeClassParamsSpec struct {
	CertificateARNs   []string              `json:"certificateARNs,omitempty"`
	Group             *classParamsGroup     `json:"group,omitempty"`
	Scheme            *string               `json:"scheme,omitempty"`
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

type classParamsGroup struct {
	Name string `json:"name"`
}

// ClassParamsFrom reads an IngressClassParams object of either kind.
func ClassParamsFrom(u *unstructured.Unstructured) (*ClassParams, error) {
	read := func(spec any) error {
		raw, ok := u.Object["spec"].(map[string]any)
		if !ok {
			return nil
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, spec); err != nil {
			return fmt.Errorf("reading %s IngressClassParams %s: %w", u.GetAPIVersion(), u.GetName(), err)
		}
		return nil
	}
	var group *classParamsGroup
	var p *ClassParams
	switch u.GroupVersionKind() {
	case AutoModeIngressClassParamsGVK:
		var spec autoModeClassParamsSpec
		if err := read(&spec); err != nil {
			return nil, err
		}
		p = &ClassParams{Owner: OwnerAutoMode, Name: u.GetName(), CertificateARNs: spec.CertificateARNs,
			Scheme: spec.Scheme, NamespaceSelector: spec.NamespaceSelector}
		group = spec.Group
	case IngressClassParamsGVK:
		var spec classParamsSpec
		if err := read(&spec); err != nil {
			return nil, err
		}
		p = &ClassParams{Owner: OwnerLBC, Name: u.GetName(), SSLPolicy: spec.SSLPolicy, CertificateARNs: spec.CertificateArn,
			SSLRedirectPort: spec.SSLRedirectPort, Scheme: spec.Scheme, NamespaceSelector: spec.NamespaceSelector}
		group = spec.Group
	default:
		return nil, fmt.Errorf("%s %s is no IngressClassParams kind", u.GetAPIVersion(), u.GetKind())
	}
	if group != nil {
		p.Group = group.Name
	}
	return p, nil
}

// certificatesField names the params field that lists certificates.
func (p *ClassParams) certificatesField() string {
	if p.Owner == OwnerAutoMode {
		return "spec.certificateARNs"
	}
	return "spec.certificateArn"
}

// The settings of a member, its IngressClassParams first, as the LBC reads
// them (pkg/ingress/model_build_listener.go, model_builder.go,
// model_build_load_balancer.go).

// scheme: buildLoadBalancerScheme.
func (m Member) scheme() setting {
	if m.Params != nil && m.Params.Scheme != nil {
		return setting{value: *m.Params.Scheme, set: true, paramsField: "spec.scheme"}
	}
	v, ok := m.Annotations[AnnotationALBScheme]
	return setting{value: v, set: ok}
}

// sslPolicy: computeIngressExplicitSSLPolicy. An annotation that is
// present names a policy even when empty (ParseStringAnnotation reports
// presence), so "" beside another policy on a port is a conflict. Auto
// Mode's params have no policy, and it reads the annotation only when
// settings say it does.
func (m Member) sslPolicy(settings config.LoadBalancerTLSSettings) setting {
	if m.Params != nil && m.Params.SSLPolicy != "" {
		return setting{value: m.Params.SSLPolicy, set: true, paramsField: "spec.sslPolicy"}
	}
	if m.Owner == OwnerAutoMode && !settings.AutoMode.SSLPolicyAnnotations {
		return setting{}
	}
	v, ok := m.Annotations[AnnotationSSLPolicy]
	return setting{value: v, set: ok}
}

// certificates: computeIngressExplicitTLSCertARNs.
func (m Member) certificates() ([]string, setting) {
	if m.Params != nil && len(m.Params.CertificateARNs) > 0 {
		return m.Params.CertificateARNs, setting{set: true, paramsField: m.Params.certificatesField()}
	}
	certs := splitList(m.Annotations[AnnotationCertificateARN])
	return certs, setting{set: len(certs) > 0}
}

// sslRedirect: buildSSLRedirectConfig.
func (m Member) sslRedirect() setting {
	if m.Params != nil && m.Params.SSLRedirectPort != "" {
		return setting{value: m.Params.SSLRedirectPort, set: true, paramsField: "spec.sslRedirectPort"}
	}
	v, ok := m.Annotations[AnnotationSSLRedirect]
	return setting{value: v, set: ok}
}
