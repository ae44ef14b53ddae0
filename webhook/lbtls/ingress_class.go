package lbtls

import (
	"fmt"
	"slices"

	"github.com/eksguard/eksguard/config"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// IngressClass is the class of ing: the kubernetes.io/ingress.class
// annotation, else spec.ingressClassName (the API server refuses both at
// once, and fills in the default class before webhooks run).
func IngressClass(ing *networkingv1.Ingress) string {
	if class, ok := ing.Annotations[AnnotationIngressClass]; ok {
		return class
	}
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ""
}

// IsALB reports whether the LBC builds an ALB for ing.
func IsALB(ing *networkingv1.Ingress, settings config.LoadBalancerTLSSettings) bool {
	return slices.Contains(settings.ALBIngressClasses, IngressClass(ing))
}

// GroupName is ing's explicit ALB group; "" means a group of its own.
func GroupName(ing *networkingv1.Ingress) string {
	return ing.Annotations[AnnotationGroupName]
}

func ingressKey(ing *networkingv1.Ingress) string {
	return ing.Namespace + "/" + ing.Name
}

// memberPath is where an error about one group member points. The Ingress
// under review is members[0]: errors about it point at its own annotation;
// errors about other members point at the group name and name the member.
func memberPath(members []*networkingv1.Ingress, i int, annotation string) (*field.Path, string) {
	if i == 0 {
		return annotationsPath.Key(annotation), ""
	}
	return annotationsPath.Key(AnnotationGroupName), "member " + ingressKey(members[i]) + ": "
}

// IngressGroupInternal reports whether the group's ALB is internal. Like
// the LBC it looks only at the members that set a scheme: none means
// internal (the LBC default), two different ones are a conflict.
func IngressGroupInternal(members []*networkingv1.Ingress) (bool, field.ErrorList) {
	var errs field.ErrorList
	schemes := map[string]string{}
	for i, ing := range members {
		raw, ok := ing.Annotations[AnnotationALBScheme]
		if !ok {
			continue
		}
		if raw != schemeInternal && raw != schemeInternetFacing {
			path, who := memberPath(members, i, AnnotationALBScheme)
			errs = append(errs, field.Invalid(path, raw, fmt.Sprintf("%smust be %q or %q", who, schemeInternal, schemeInternetFacing)))
			continue
		}
		if _, seen := schemes[raw]; !seen {
			schemes[raw] = ingressKey(ing)
		}
	}
	if len(errs) > 0 {
		return false, errs
	}
	if len(schemes) > 1 {
		path := annotationsPath.Key(AnnotationALBScheme)
		if _, own := members[0].Annotations[AnnotationALBScheme]; !own {
			path = annotationsPath.Key(AnnotationGroupName)
		}
		return false, field.ErrorList{field.Invalid(path, members[0].Annotations[AnnotationALBScheme],
			fmt.Sprintf("conflicting schemes in the group: internal (%s), internet-facing (%s)",
				schemes[schemeInternal], schemes[schemeInternetFacing]))}
	}
	_, internetFacing := schemes[schemeInternetFacing]
	return !internetFacing, nil
}
