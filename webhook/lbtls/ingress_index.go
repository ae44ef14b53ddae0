package lbtls

import "sigs.k8s.io/controller-runtime/pkg/client"

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
