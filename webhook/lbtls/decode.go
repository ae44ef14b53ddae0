package lbtls

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/eksguard/eksguard/internal/lib/decode"
	"github.com/eksguard/eksguard/webhook/admit"
)

// The parts of Services and Ingresses the rule reads. Handlers decode them
// instead of the whole object (managedFields, status, backends), and the
// Ingress cache keeps no more (TrimIngress).

type serviceFields struct {
	admit.Meta `json:"metadata"`
	Spec       struct {
		Type                          corev1.ServiceType `json:"type"`
		LoadBalancerClass             *string            `json:"loadBalancerClass"`
		AllocateLoadBalancerNodePorts *bool              `json:"allocateLoadBalancerNodePorts"`
		Ports                         []struct {
			Name     string          `json:"name"`
			Protocol corev1.Protocol `json:"protocol"`
			Port     int32           `json:"port"`
			NodePort int32           `json:"nodePort"`
		} `json:"ports"`
	} `json:"spec"`
}

// decodeService reads serviceFields, case-sensitively as the API server
// does, into a Service that holds only them.
func decodeService(_ schema.GroupVersionKind, raw []byte) (*corev1.Service, error) {
	f, err := decode.Fields[serviceFields](raw)
	if err != nil {
		return nil, err
	}
	svc := &corev1.Service{ObjectMeta: f.ObjectMeta()}
	svc.Spec.Type, svc.Spec.LoadBalancerClass = f.Spec.Type, f.Spec.LoadBalancerClass
	svc.Spec.AllocateLoadBalancerNodePorts = f.Spec.AllocateLoadBalancerNodePorts
	if f.Spec.Ports != nil {
		svc.Spec.Ports = make([]corev1.ServicePort, len(f.Spec.Ports))
		for i, p := range f.Spec.Ports {
			svc.Spec.Ports[i] = corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.Port, NodePort: p.NodePort}
		}
	}
	return svc, nil
}

type ingressFields struct {
	admit.Meta `json:"metadata"`
	Spec       struct {
		IngressClassName *string                   `json:"ingressClassName"`
		TLS              []networkingv1.IngressTLS `json:"tls"`
		Rules            []struct {
			Host string `json:"host"`
		} `json:"rules"`
	} `json:"spec"`
}

// decodeIngress reads ingressFields into an Ingress that holds only them.
func decodeIngress(_ schema.GroupVersionKind, raw []byte) (*networkingv1.Ingress, error) {
	f, err := decode.Fields[ingressFields](raw)
	if err != nil {
		return nil, err
	}
	ing := &networkingv1.Ingress{ObjectMeta: f.ObjectMeta()}
	ing.Spec.IngressClassName, ing.Spec.TLS = f.Spec.IngressClassName, f.Spec.TLS
	if f.Spec.Rules != nil {
		ing.Spec.Rules = make([]networkingv1.IngressRule, len(f.Spec.Rules))
		for i, r := range f.Spec.Rules {
			ing.Spec.Rules[i].Host = r.Host
		}
	}
	return ing, nil
}

// TrimIngress is the cache transform of Ingresses: what ingressFields
// holds, with only the annotations the rule reads (the LBC's and the class
// annotation; kubectl's last-applied copy above all goes), and the identity
// the cache and the group lookups need.
func TrimIngress(obj any) (any, error) {
	ing, ok := obj.(*networkingv1.Ingress)
	if !ok {
		return obj, nil
	}
	trimmed := &networkingv1.Ingress{}
	trimmed.Name, trimmed.Namespace, trimmed.UID, trimmed.ResourceVersion = ing.Name, ing.Namespace, ing.UID, ing.ResourceVersion
	trimmed.DeletionTimestamp = ing.DeletionTimestamp
	for k, v := range ing.Annotations {
		if strings.HasPrefix(k, ingressAnnotationPrefix) || k == AnnotationIngressClass {
			if trimmed.Annotations == nil {
				trimmed.Annotations = map[string]string{}
			}
			trimmed.Annotations[k] = v
		}
	}
	trimmed.Spec.IngressClassName, trimmed.Spec.TLS = ing.Spec.IngressClassName, ing.Spec.TLS
	if ing.Spec.Rules != nil {
		trimmed.Spec.Rules = make([]networkingv1.IngressRule, len(ing.Spec.Rules))
		for i := range ing.Spec.Rules {
			trimmed.Spec.Rules[i].Host = ing.Spec.Rules[i].Host
		}
	}
	return trimmed, nil
}
