package lbtls

import (
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// IngressGroupNameField indexes Ingresses by their ALB group name, so that
// the validator finds the other members of a group in the cache.
const IngressGroupNameField = "lbtls.ingressGroupName"

// IndexIngressGroupName is the field index function of IngressGroupNameField.
func IndexIngressGroupName(obj client.Object) []string {
	if name := obj.GetAnnotations()[AnnotationGroupName]; name != "" {
		return []string{name}
	}
	return nil
}

// IngressClassNameField indexes Ingresses by spec.ingressClassName (when no
// class annotation overrides it), so that the validator finds the Ingresses
// whose IngressClassParams put them in a group.
const IngressClassNameField = "lbtls.ingressClassName"

// IndexIngressClassName is the field index function of IngressClassNameField.
func IndexIngressClassName(obj client.Object) []string {
	ing, ok := obj.(*networkingv1.Ingress)
	if !ok || ing.Spec.IngressClassName == nil {
		return nil
	}
	if _, annotated := ing.Annotations[AnnotationIngressClass]; annotated {
		return nil
	}
	return []string{*ing.Spec.IngressClassName}
}
