package lbtls

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/eksguard/eksguard/config"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Owner is the controller that builds a Service's load balancer.
type Owner string

const (
	// OwnerNone: the Service gets no AWS load balancer.
	OwnerNone Owner = ""
	// OwnerOtherClass: spec.loadBalancerClass names another controller.
	OwnerOtherClass Owner = "another load balancer class"
	// OwnerLBC: the AWS Load Balancer Controller builds an NLB.
	OwnerLBC Owner = "AWS Load Balancer Controller"
	// OwnerInTreeNLB: the in-tree provider builds an NLB (type "nlb").
	OwnerInTreeNLB Owner = "in-tree NLB"
	// OwnerInTreeCLB: the in-tree provider builds a Classic Load Balancer.
	OwnerInTreeCLB Owner = "in-tree CLB"
	// OwnerAutoMode: EKS Auto Mode's managed controller builds an NLB.
	OwnerAutoMode Owner = "EKS Auto Mode"
)

// AutoModeLoadBalancerClass is the Service class EKS Auto Mode serves
// (auto-configure-nlb.html, "Sample Service").
const AutoModeLoadBalancerClass = "eks.amazonaws.com/nlb"

// lbcSemantics reports an owner that reads the LBC's Service annotations
// the LBC's way (Auto Mode's controller is derived from the LBC, and its
// guide documents the same ssl-cert and ssl-ports).
func (o Owner) lbcSemantics() bool { return o == OwnerLBC || o == OwnerAutoMode }

// LoadBalancerType is the type of load balancer the owner builds: a
// Classic one for the in-tree provider's default, an NLB otherwise.
func (o Owner) LoadBalancerType() config.LoadBalancerType {
	if o == OwnerInTreeCLB {
		return config.LoadBalancerCLB
	}
	return config.LoadBalancerNLB
}

// WithDefaultClass is a new svc as the cluster's class defaulting leaves
// it, when settings say it has one; svc is not changed. The LBC's Service
// mutator (MutateCreate in webhooks/core/service_mutator.go) gives a type
// LoadBalancer Service without a class the LBC's; EKS Auto Mode sets its
// own "as the cluster default" (auto-configure-nlb.html; that it does so
// at creation is inferred from aws-load-balancer-controller#4468).
func WithDefaultClass(svc *corev1.Service, settings config.LoadBalancerTLSSettings) *corev1.Service {
	var class string
	switch {
	case settings.LBCServiceMutator:
		class = LBCLoadBalancerClass
	case settings.AutoMode.ServiceDefaulting:
		class = AutoModeLoadBalancerClass
	default:
		return svc
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || (svc.Spec.LoadBalancerClass != nil && *svc.Spec.LoadBalancerClass != "") {
		return svc
	}
	mutated := svc.DeepCopy()
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
func OwnerOf(svc *corev1.Service) Owner {
	if class := svc.Spec.LoadBalancerClass; class != nil {
		switch *class {
		case LBCLoadBalancerClass:
			return OwnerLBC
		case AutoModeLoadBalancerClass:
			return OwnerAutoMode
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
// bool), and without either the NLB is internal. Auto Mode reads the scheme
// annotation only (its guide lists the internal one as unsupported) and
// otherwise has settings.AutoMode.DefaultScheme. The in-tree provider reads
// only the internal annotation: any value but "" or "false" means internal.
func ServiceInternal(svc *corev1.Service, settings config.LoadBalancerTLSSettings) (bool, field.ErrorList) {
	ann := svc.Annotations
	owner := OwnerOf(svc)
	switch owner {
	case OwnerLBC, OwnerAutoMode:
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
		if owner == OwnerAutoMode {
			return settings.AutoMode.DefaultScheme == config.SchemeInternal, nil
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
