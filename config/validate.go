package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"path"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Modes lists the valid rule modes.
var Modes = []Mode{ModeEnforce, ModeWarn, ModeOff}

// Coverages lists the valid NetworkPolicy coverage requirements.
var Coverages = []Coverage{CoverageAny, CoverageIngress, CoverageEgress, CoverageBoth}

// OtherIngressClassesValues lists the valid treatments of non-ALB Ingresses.
var OtherIngressClassesValues = []OtherIngressClasses{OtherIngressIgnore, OtherIngressRequireTLS}

// Validate checks a Config; every error names its field path.
func Validate(cfg *Config) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateIdentity(field.NewPath("apiVersion"), cfg.APIVersion, APIVersion)...)
	errs = append(errs, validateIdentity(field.NewPath("kind"), cfg.Kind, Kind)...)
	errs = append(errs, validateScope(&cfg.Scope, field.NewPath("scope"))...)
	errs = append(errs, validateExemptions(cfg.Exemptions, field.NewPath("exemptions"))...)
	errs = append(errs, validateAnnotationExemptions(&cfg.AnnotationExemptions, field.NewPath("annotationExemptions"))...)
	errs = append(errs, validateRules(&cfg.Rules, field.NewPath("rules"))...)
	return errs
}

func validateIdentity(path *field.Path, got, want string) field.ErrorList {
	switch got {
	case want:
		return nil
	case "":
		return field.ErrorList{field.Required(path, "")}
	default:
		return field.ErrorList{field.NotSupported(path, got, []string{want})}
	}
}

func validateScope(s *Scope, path *field.Path) field.ErrorList {
	errs := validateNamespaceNames(s.ExcludedNamespaces, path.Child("excludedNamespaces"))
	errs = append(errs, validateNamespaceSelector(s.ExcludedNamespaceSelector, path.Child("excludedNamespaceSelector"),
		"an empty selector excludes every namespace; set the rule modes to off instead")...)
	return errs
}

// reservedExemptionNames are Decision.Exemption values eksguard itself uses.
var reservedExemptionNames = sets.New(AnnotationExemption)

func validateExemptions(exemptions []Exemption, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range exemptions {
		e := &exemptions[i]
		p := path.Index(i)
		switch {
		case e.Name == "":
			errs = append(errs, field.Required(p.Child("name"), "names the exemption in metrics and logs"))
		case names.Has(e.Name):
			errs = append(errs, field.Duplicate(p.Child("name"), e.Name))
		case reservedExemptionNames.Has(e.Name):
			errs = append(errs, field.Invalid(p.Child("name"), e.Name, "is reserved for annotation exemptions"))
		default:
			errs = append(errs, dns1123Label(p.Child("name"), e.Name)...)
		}
		names.Insert(e.Name)

		if len(e.Rules) == 0 {
			errs = append(errs, field.Required(p.Child("rules"), "name at least one rule to lift"))
		}
		seen := sets.New[RuleName]()
		for j, r := range e.Rules {
			switch {
			case !sets.New(Rules...).Has(r):
				errs = append(errs, field.NotSupported(p.Child("rules").Index(j), r, Rules))
			case seen.Has(r):
				errs = append(errs, field.Duplicate(p.Child("rules").Index(j), r))
			}
			seen.Insert(r)
		}

		if len(e.Namespaces) == 0 && e.NamespaceSelector == nil {
			errs = append(errs, field.Required(p.Child("namespaces"), "an exemption needs namespaces or a namespaceSelector"))
		}
		errs = append(errs, validateNamespaceNames(e.Namespaces, p.Child("namespaces"))...)
		errs = append(errs, validateNamespaceSelector(e.NamespaceSelector, p.Child("namespaceSelector"),
			"an empty selector exempts every namespace; set the rule mode to off instead")...)
		errs = append(errs, validateSelector(e.ObjectSelector, p.Child("objectSelector"))...)

		if strings.TrimSpace(e.Reason) == "" {
			errs = append(errs, field.Required(p.Child("reason"), "say why the exemption exists, for whoever reviews it"))
		}
		if e.Expires != "" {
			if _, err := ParseExpiry(e.Expires); err != nil {
				errs = append(errs, field.Invalid(p.Child("expires"), e.Expires, "must be a date (2026-12-31) or an RFC 3339 time (2026-12-31T18:00:00Z)"))
			}
		}
	}
	return errs
}

func validateAnnotationExemptions(a *AnnotationExemptions, path *field.Path) field.ErrorList {
	errs := validateNamespaceNames(a.Namespaces, path.Child("namespaces"))
	errs = append(errs, validateNamespaceSelector(a.NamespaceSelector, path.Child("namespaceSelector"),
		"an empty selector lets objects in every namespace exempt themselves")...)
	return errs
}

func validateRules(r *RuleSettings, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seccomp := path.Child(string(RuleSeccomp))
	errs = append(errs, validateEnum(seccomp.Child("mode"), r.Seccomp.Mode, Modes)...)
	errs = append(errs, validateEnum(seccomp.Child("unconfined"), r.Seccomp.Unconfined, Modes)...)

	netpol := path.Child(string(RuleNetworkPolicy))
	errs = append(errs, validateEnum(netpol.Child("mode"), r.NetworkPolicy.Mode, Modes)...)
	errs = append(errs, validateEnum(netpol.Child("coverage"), r.NetworkPolicy.Coverage, Coverages)...)
	errs = append(errs, validateEnum(netpol.Child("hostNetwork"), r.NetworkPolicy.HostNetwork, Modes)...)
	errs = append(errs, validateEnum(netpol.Child("fargate"), r.NetworkPolicy.Fargate, Modes)...)
	errs = append(errs, validateEnum(netpol.Child("windows"), r.NetworkPolicy.Windows, Modes)...)
	errs = append(errs, validateEnum(netpol.Child("standalonePods"), r.NetworkPolicy.StandalonePods, Modes)...)
	if r.NetworkPolicy.WindowsEngine != "" {
		errs = append(errs, validateEnum(netpol.Child("windowsEngine"), r.NetworkPolicy.WindowsEngine, WindowsEngines)...)
	}
	errs = append(errs, validateFargateProfiles(r.NetworkPolicy.FargateProfiles, netpol.Child("fargateProfiles"))...)
	dns := netpol.Child("dns")
	errs = append(errs, validateEnum(dns.Child("mode"), r.NetworkPolicy.DNS.Mode, Modes)...)
	if r.NetworkPolicy.DNS.Namespace == "" {
		errs = append(errs, field.Required(dns.Child("namespace"), "name the namespace of the cluster's DNS pods"))
	}
	errs = append(errs, metav1validation.ValidateLabels(r.NetworkPolicy.DNS.PodLabels, dns.Child("podLabels"))...)
	if dd := r.NetworkPolicy.ClusterDefaultDeny; dd.Reason != "" && !dd.Declared() {
		errs = append(errs, field.Invalid(netpol.Child("clusterDefaultDeny", "reason"), dd.Reason,
			"a reason without ingress or egress declares nothing"))
	}
	if dd := r.NetworkPolicy.ClusterDefaultDeny; dd.Engine != "" {
		errs = append(errs, validateEnum(netpol.Child("clusterDefaultDeny", "engine"), dd.Engine, DefaultDenyEngines)...)
		if !dd.Declared() {
			errs = append(errs, field.Invalid(netpol.Child("clusterDefaultDeny", "engine"), dd.Engine,
				"an engine without ingress or egress declares nothing"))
		}
	}

	lb := path.Child(string(RuleLoadBalancerTLS))
	tls := &r.LoadBalancerTLS
	errs = append(errs, validateEnum(lb.Child("mode"), tls.Mode, Modes)...)
	if len(tls.AllowedSSLPolicies) == 0 {
		errs = append(errs, field.Required(lb.Child("allowedSSLPolicies"), "list the ELB security policies that may be used"))
	}
	errs = append(errs, validateUniqueNonBlank(tls.AllowedSSLPolicies, lb.Child("allowedSSLPolicies"))...)
	byType := lb.Child("allowedSSLPoliciesByType")
	for _, t := range slices.Sorted(maps.Keys(tls.AllowedSSLPoliciesByType)) {
		list := tls.AllowedSSLPoliciesByType[t]
		if !slices.Contains(LoadBalancerTypes, t) {
			errs = append(errs, field.NotSupported(byType.Key(string(t)), t, LoadBalancerTypes))
			continue
		}
		if len(list) == 0 {
			errs = append(errs, field.Required(byType.Key(string(t)), "list the security policies that may be used"))
		}
		errs = append(errs, validateUniqueNonBlank(list, byType.Key(string(t)))...)
	}
	if strings.TrimSpace(tls.ControllerDefaultSSLPolicy) == "" {
		errs = append(errs, field.Required(lb.Child("controllerDefaultSSLPolicy"), "the --default-ssl-policy of the AWS Load Balancer Controller"))
	}
	seen := sets.New[string]()
	for i, class := range tls.ALBIngressClasses {
		p := lb.Child("albIngressClasses").Index(i)
		if seen.Has(class) {
			errs = append(errs, field.Duplicate(p, class))
		}
		seen.Insert(class)
		for _, msg := range validation.IsDNS1123Subdomain(class) {
			errs = append(errs, field.Invalid(p, class, msg))
		}
	}
	errs = append(errs, validateEnum(lb.Child("otherIngressClasses"), tls.OtherIngressClasses, OtherIngressClassesValues)...)
	unknown := lb.Child("unknownClasses")
	errs = append(errs, validateEnum(unknown.Child("aws"), tls.UnknownClasses.AWS, Modes)...)
	errs = append(errs, validateEnum(unknown.Child("other"), tls.UnknownClasses.Other, Modes)...)
	auto := lb.Child("autoMode")
	if strings.TrimSpace(tls.AutoMode.DefaultSSLPolicy) == "" {
		errs = append(errs, field.Required(auto.Child("defaultSSLPolicy"), "the policy EKS Auto Mode gives TLS listeners"))
	}
	errs = append(errs, validateEnum(auto.Child("defaultScheme"), tls.AutoMode.DefaultScheme, Schemes)...)
	if tls.AutoMode.ServiceDefaulting && tls.LBCServiceMutator {
		errs = append(errs, field.Invalid(auto.Child("serviceDefaulting"), true,
			"lbcServiceMutator is also set: only one controller can give classless Services its class"))
	}
	return errs
}

func validateEnum[T ~string](path *field.Path, value T, valid []T) field.ErrorList {
	for _, v := range valid {
		if value == v {
			return nil
		}
	}
	if value == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	return field.ErrorList{field.NotSupported(path, value, valid)}
}

func validateNamespaceNames(names []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, name := range names {
		if seen.Has(name) {
			errs = append(errs, field.Duplicate(path.Index(i), name))
			continue
		}
		seen.Insert(name)
		errs = append(errs, dns1123Label(path.Index(i), name)...)
	}
	return errs
}

func dns1123Label(path *field.Path, value string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

func validateUniqueNonBlank(values []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, v := range values {
		switch {
		case strings.TrimSpace(v) == "":
			errs = append(errs, field.Required(path.Index(i), "must not be empty"))
		case seen.Has(v):
			errs = append(errs, field.Duplicate(path.Index(i), v))
		}
		seen.Insert(v)
	}
	return errs
}

// validateNamespaceSelector rejects, besides invalid selectors, the empty
// selector: it matches every namespace, which for these fields would
// silently switch eksguard off everywhere.
func validateNamespaceSelector(ls *metav1.LabelSelector, path *field.Path, emptyDetail string) field.ErrorList {
	if ls != nil && len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0 {
		return field.ErrorList{field.Invalid(path, "{}", emptyDetail)}
	}
	return validateSelector(ls, path)
}

func validateSelector(ls *metav1.LabelSelector, path *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelSelector(ls, metav1validation.LabelSelectorValidationOptions{}, path)
}

func hashOf(cfg Config) string {
	b, _ := json.Marshal(cfg)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// validateFargateProfiles: each selector names a namespace pattern (EKS
// requires one) that path.Match can read, and valid labels.
func validateFargateProfiles(profiles []FargateProfile, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, fp := range profiles {
		at := p.Index(i)
		if fp.Namespace == "" {
			errs = append(errs, field.Required(at.Child("namespace"), "a Fargate profile selector names a namespace"))
		} else if _, err := path.Match(fp.Namespace, ""); err != nil {
			errs = append(errs, field.Invalid(at.Child("namespace"), fp.Namespace, "not a pattern of * and ?: "+err.Error()))
		}
		errs = append(errs, metav1validation.ValidateLabels(fp.Labels, at.Child("labels"))...)
	}
	return errs
}
