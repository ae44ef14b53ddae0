package lbtls

import (
	"fmt"
	"slices"
	"sort"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/config"
)

// IngressClassControllerALB is the spec.controller of the IngressClasses the
// LBC serves (pkg/ingress/class_loader.go).
const IngressClassControllerALB = "ingress.k8s.aws/alb"

// IngressClassControllerAutoMode is the spec.controller of EKS Auto Mode's
// IngressClasses (auto-configure-alb.html, Step 3).
const IngressClassControllerAutoMode = "eks.amazonaws.com/alb"

// albControllers are the owners of ALB IngressClasses, by spec.controller.
var albControllers = map[string]Owner{
	IngressClassControllerALB:      OwnerLBC,
	IngressClassControllerAutoMode: OwnerAutoMode,
}

// IngressClasses is what eksguard knows of the cluster's IngressClasses.
type IngressClasses struct {
	// ByName holds every IngressClass, by name.
	ByName map[string]*networkingv1.IngressClass
	// Known is false when nothing is known of them (check with no
	// IngressClass in its input): spec.ingressClassName values are then
	// taken for ALB classes when they are in settings.ALBIngressClasses.
	Known bool
}

// NewIngressClasses indexes classes by name.
func NewIngressClasses(classes []networkingv1.IngressClass) IngressClasses {
	out := IngressClasses{ByName: make(map[string]*networkingv1.IngressClass, len(classes)), Known: true}
	for i := range classes {
		out.ByName[classes[i].Name] = &classes[i]
	}
	return out
}

// Default is the class the DefaultIngressClass admission plugin gives a new
// Ingress that names none (getDefaultClass in
// plugin/pkg/admission/network/defaultingressclass): the newest of those
// marked default, ties broken by name; "" when none is.
func (c IngressClasses) Default() string {
	defaults := c.defaults()
	if len(defaults) == 0 {
		return ""
	}
	return defaults[0].Name
}

func (c IngressClasses) defaults() []*networkingv1.IngressClass {
	var out []*networkingv1.IngressClass
	for _, class := range c.ByName {
		if class.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
			out = append(out, class)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		ti, tj := out[i].CreationTimestamp.UnixNano(), out[j].CreationTimestamp.UnixNano()
		if ti == tj {
			return out[i].Name < out[j].Name
		}
		return ti > tj
	})
	return out
}

// Classification is how the LBC classifies an Ingress (classifyIngress in
// pkg/ingress/group_loader.go, Load in pkg/ingress/class_loader.go).
type Classification struct {
	// ALB: Owner builds an ALB for the Ingress.
	ALB   bool
	Owner Owner
	// Controller is the spec.controller of a class that is not an ALB's.
	Controller string
	// Class names the class as messages show it (the annotation's value or
	// the IngressClass); "" when the Ingress has none.
	Class string
	// Params names the IngressClassParams of an ALB class; "" for none.
	Params string
	// NotBuilt says why the LBC builds nothing for an Ingress that asks for
	// its class (the IngressClass or its parameters cannot be loaded).
	NotBuilt string
}

// Classify follows the LBC (classifyIngress in group_loader.go): the
// kubernetes.io/ingress.class annotation, when present, decides alone, by
// its value (the LBC's --ingress-class, settings.ALBIngressClasses; with
// lbcClasslessIngresses, its --ingress-class="" also takes "alb" and "",
// defaultClassAnnotationMatcher); otherwise the IngressClass named by
// spec.ingressClassName (or the cluster's default class, which the LBC
// looks up itself when the field is empty) decides by its spec.controller:
// the LBC's or EKS Auto Mode's. An Ingress with no class at all is the
// LBC's only with lbcClasslessIngresses (its default --ingress-class=alb
// does not manage Ingresses without one). Auto Mode does not read the
// annotation (auto-configure-alb.html), so an annotated Ingress is
// classified by the LBC's reading alone.
func Classify(ing *networkingv1.Ingress, classes IngressClasses, settings config.LoadBalancerTLSSettings) Classification {
	if class, ok := ing.Annotations[AnnotationIngressClass]; ok {
		alb := slices.Contains(settings.ALBIngressClasses, class) ||
			(settings.LBCClasslessIngresses && (class == "" || class == lbcDefaultIngressClass))
		return Classification{ALB: alb, Owner: ownerIf(alb), Class: class}
	}
	classless := Classification{ALB: settings.LBCClasslessIngresses, Owner: ownerIf(settings.LBCClasslessIngresses)}
	var name string
	switch {
	case ing.Spec.IngressClassName != nil:
		name = *ing.Spec.IngressClassName
	case !classes.Known:
		return classless
	default:
		// GetDefaultIngressClass in class_loader.go refuses more than one.
		defaults := classes.defaults()
		switch len(defaults) {
		case 0:
			return classless
		case 1:
			name = defaults[0].Name
		default:
			return Classification{NotBuilt: fmt.Sprintf("%d IngressClasses are marked default (%s, %s): the LBC refuses to pick one",
				len(defaults), defaults[0].Name, defaults[1].Name)}
		}
	}
	if !classes.Known {
		alb := slices.Contains(settings.ALBIngressClasses, name)
		return Classification{ALB: alb, Owner: ownerIf(alb), Class: name}
	}
	class, ok := classes.ByName[name]
	if !ok {
		return Classification{Class: name, NotBuilt: fmt.Sprintf("IngressClass %q does not exist", name)}
	}
	owner, ok := albControllers[class.Spec.Controller]
	if !ok {
		return Classification{Class: name, Controller: class.Spec.Controller}
	}
	out := Classification{ALB: true, Owner: owner, Class: name}
	if p := class.Spec.Parameters; p != nil {
		kind := ClassParamsKinds[owner]
		if p.APIGroup == nil || *p.APIGroup != kind.Group || p.Kind != kind.Kind {
			return Classification{Class: name, Owner: owner, NotBuilt: fmt.Sprintf("IngressClass %q references unknown parameters", name)}
		}
		out.Params = p.Name
	}
	return out
}

// lbcDefaultIngressClass is the LBC's default --ingress-class, which its
// --ingress-class="" still takes in the annotation.
const lbcDefaultIngressClass = "alb"

// ownerIf is the LBC when the annotation or classless rule makes an ALB.
func ownerIf(alb bool) Owner {
	if alb {
		return OwnerLBC
	}
	return OwnerNone
}

// Member is one Ingress of an ALB group with the owner of its class and the
// IngressClassParams of the class (nil for none), whose settings win over
// the Ingress's annotations.
type Member struct {
	*networkingv1.Ingress
	Owner  Owner
	Params *ClassParams
}

// GroupName is the member's explicit ALB group: its IngressClassParams'
// group wins over the group.name annotation (loadGroupID in
// group_loader.go), which Auto Mode does not read ("Specify groups in
// IngressClass only", auto-configure-alb.html); "" means a group of its own.
func (m Member) GroupName() string {
	if m.Params != nil && m.Params.Group != "" {
		return m.Params.Group
	}
	if m.Owner == OwnerAutoMode {
		return ""
	}
	return m.Annotations[AnnotationGroupName]
}

func ingressKey(ing *networkingv1.Ingress) string {
	return ing.Namespace + "/" + ing.Name
}

// setting is one LBC setting of a member: from its IngressClassParams
// (paramsField set) or from its annotation.
type setting struct {
	value       string
	set         bool
	paramsField string
}

// memberPath is where an error about one member's setting points, and the
// prefix that names the setting's owner. The Ingress under review is
// members[0]: errors about it point at its own annotation, or at
// spec.ingressClassName when the setting comes from its IngressClassParams;
// errors about other members point at the group name and name the member.
func memberPath(members []Member, i int, annotation string, s setting) (*field.Path, string) {
	var who string
	switch {
	case i == 0 && s.paramsField == "":
		return annotationsPath.Key(annotation), ""
	case i == 0:
		return ingressClassNamePath, fmt.Sprintf("IngressClassParams %s %s: ", members[0].Params.Name, s.paramsField)
	case s.paramsField != "":
		who = fmt.Sprintf("member %s (IngressClassParams %s %s): ", ingressKey(members[i].Ingress), members[i].Params.Name, s.paramsField)
	default:
		who = "member " + ingressKey(members[i].Ingress) + ": "
	}
	return groupPath(members[0]), who
}

// groupPath is where errors about other members point: the reviewed
// Ingress's group name, wherever it comes from.
func groupPath(self Member) *field.Path {
	if self.Params != nil && self.Params.Group != "" {
		return ingressClassNamePath
	}
	return annotationsPath.Key(AnnotationGroupName)
}

// ownPath is where an error about a setting of the reviewed Ingress points.
func ownPath(annotation string, s setting) *field.Path {
	if s.paramsField != "" {
		return ingressClassNamePath
	}
	return annotationsPath.Key(annotation)
}

var ingressClassNamePath = field.NewPath("spec", "ingressClassName")

// IngressGroupInternal reports whether the group's ALB is internal. Like
// the LBC (buildLoadBalancerScheme) it looks only at the members that set a
// scheme, in their IngressClassParams first: none means internal (the LBC
// default), two different ones are a conflict.
func IngressGroupInternal(members []Member) (bool, field.ErrorList) {
	var errs field.ErrorList
	schemes := map[string]string{}
	for i, m := range members {
		s := m.scheme()
		if !s.set {
			continue
		}
		if s.value != schemeInternal && s.value != schemeInternetFacing {
			path, who := memberPath(members, i, AnnotationALBScheme, s)
			errs = append(errs, field.Invalid(path, s.value, fmt.Sprintf("%smust be %q or %q", who, schemeInternal, schemeInternetFacing)))
			continue
		}
		if _, seen := schemes[s.value]; !seen {
			schemes[s.value] = ingressKey(m.Ingress)
		}
	}
	if len(errs) > 0 {
		return false, errs
	}
	if len(schemes) > 1 {
		own := members[0].scheme()
		path := ownPath(AnnotationALBScheme, own)
		if !own.set {
			path = groupPath(members[0])
		}
		return false, field.ErrorList{field.Invalid(path, own.value,
			fmt.Sprintf("conflicting schemes in the group: internal (%s), internet-facing (%s)",
				schemes[schemeInternal], schemes[schemeInternetFacing]))}
	}
	_, internetFacing := schemes[schemeInternetFacing]
	return !internetFacing, nil
}
