package lbtls

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/eksguard/eksguard/config"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ServiceOwner is the controller that builds a Service's load balancer.
type ServiceOwner string

const (
	// OwnerNone: the Service gets no AWS load balancer.
	OwnerNone ServiceOwner = ""
	// OwnerOtherClass: spec.loadBalancerClass names another controller.
	OwnerOtherClass ServiceOwner = "another load balancer class"
	// OwnerLBC: the AWS Load Balancer Controller builds an NLB.
	OwnerLBC ServiceOwner = "AWS Load Balancer Controller"
	// OwnerInTreeNLB: the in-tree provider builds an NLB (type "nlb").
	OwnerInTreeNLB ServiceOwner = "in-tree NLB"
	// OwnerInTreeCLB: the in-tree provider builds a Classic Load Balancer.
	OwnerInTreeCLB ServiceOwner = "in-tree CLB"
)

// LoadBalancerType is the type of load balancer the owner builds: a
// Classic one for the in-tree provider's default, an NLB otherwise.
func (o ServiceOwner) LoadBalancerType() config.LoadBalancerType {
	if o == OwnerInTreeCLB {
		return config.LoadBalancerCLB
	}
	return config.LoadBalancerNLB
}

// WithLBCServiceMutator is svc as the LBC's Service mutator leaves a new
// Service (MutateCreate in webhooks/core/service_mutator.go): a type
// LoadBalancer Service without a class gets the LBC's. svc is not changed.
func WithLBCServiceMutator(svc *corev1.Service) *corev1.Service {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || (svc.Spec.LoadBalancerClass != nil && *svc.Spec.LoadBalancerClass != "") {
		return svc
	}
	mutated := svc.DeepCopy()
	class := LBCLoadBalancerClass
	mutated.Spec.LoadBalancerClass = &class
	return mutated
}

// OwnerOf decides which controller builds svc's load balancer. The LBC takes
// Services of its class and, without a class, those annotated type
// "external" or "nlb-ip" whatever their spec.type (unless its
// ServiceTypeLoadBalancerOnly gate is on). It also wants a target-type with
// "external"; such a Service is judged as the LBC's anyway, since it is one
// annotation away from getting an NLB. The in-tree provider takes the
// remaining type LoadBalancer Services.
func OwnerOf(svc *corev1.Service) ServiceOwner {
	if class := svc.Spec.LoadBalancerClass; class != nil {
		if *class == LBCLoadBalancerClass {
			return OwnerLBC
		}
		return OwnerOtherClass
	}
	lbType := svc.Annotations[AnnotationLoadBalancerType]
	if lbType == loadBalancerTypeExternal || lbType == loadBalancerTypeNLBIP {
		return OwnerLBC
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return OwnerNone
	}
	if lbType == loadBalancerTypeInTreeNLB {
		return OwnerInTreeNLB
	}
	return OwnerInTreeCLB
}

// ServiceInternal reports whether svc's load balancer is internal. Under the
// LBC the scheme annotation wins, then the legacy internal annotation (a
// bool), and without either the NLB is internal. The in-tree provider reads
// only the internal annotation: any value but "" or "false" means internal.
func ServiceInternal(svc *corev1.Service) (bool, field.ErrorList) {
	ann := svc.Annotations
	switch OwnerOf(svc) {
	case OwnerLBC:
		if raw, ok := ann[AnnotationScheme]; ok {
			switch raw {
			case schemeInternal:
				return true, nil
			case schemeInternetFacing:
				return false, nil
			}
			return false, field.ErrorList{field.Invalid(annotationsPath.Key(AnnotationScheme), raw,
				fmt.Sprintf("must be %q or %q", schemeInternal, schemeInternetFacing))}
		}
		if raw, ok := ann[AnnotationInternal]; ok {
			internal, err := strconv.ParseBool(raw)
			if err != nil {
				return false, field.ErrorList{field.Invalid(annotationsPath.Key(AnnotationInternal), raw, `must be "true" or "false"`)}
			}
			return internal, nil
		}
		return true, nil
	case OwnerInTreeNLB, OwnerInTreeCLB:
		raw := ann[AnnotationInternal]
		return raw != "" && raw != inTreeInternalFalse, nil
	}
	return false, nil
}
