package lbtls

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// IngressClassParamsGVK is the LBC's cluster-scoped class parameters kind
// (apis/elbv2/v1beta1/ingressclassparams_types.go).
var IngressClassParamsGVK = schema.GroupVersionKind{Group: "elbv2.k8s.aws", Version: "v1beta1", Kind: "IngressClassParams"}

// ClassParams are the fields of an IngressClassParams that decide an ALB's
// listeners; each, when set, wins over the matching annotation of every
// Ingress of the class.
type ClassParams struct {
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

type classParamsGroup struct {
	Name string `json:"name"`
}

// ClassParamsFrom reads an IngressClassParams object.
func ClassParamsFrom(u *unstructured.Unstructured) (*ClassParams, error) {
	var spec classParamsSpec
	if raw, ok := u.Object["spec"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &spec); err != nil {
			return nil, fmt.Errorf("reading IngressClassParams %s: %w", u.GetName(), err)
		}
	}
	p := &ClassParams{Name: u.GetName(), SSLPolicy: spec.SSLPolicy, CertificateARNs: spec.CertificateArn,
		SSLRedirectPort: spec.SSLRedirectPort, Scheme: spec.Scheme, NamespaceSelector: spec.NamespaceSelector}
	if spec.Group != nil {
		p.Group = spec.Group.Name
	}
	return p, nil
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

// sslPolicy: computeIngressExplicitSSLPolicy.
func (m Member) sslPolicy() setting {
	if m.Params != nil && m.Params.SSLPolicy != "" {
		return setting{value: m.Params.SSLPolicy, set: true, paramsField: "spec.sslPolicy"}
	}
	v, ok := m.Annotations[AnnotationSSLPolicy]
	return setting{value: v, set: ok && v != ""}
}

// certificates: computeIngressExplicitTLSCertARNs.
func (m Member) certificates() ([]string, setting) {
	if m.Params != nil && len(m.Params.CertificateARNs) > 0 {
		return m.Params.CertificateARNs, setting{set: true, paramsField: "spec.certificateArn"}
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
