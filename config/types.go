package config

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIVersion and Kind identify the configuration document.
const (
	APIVersion = "eksguard.io/v1alpha1"
	Kind       = "PolicyConfig"
	// ConfigMapKey is the key of the policy ConfigMap that holds the document.
	ConfigMapKey = "config.yaml"
	// ExemptAnnotation lists, comma-separated, the rules an object asks to be
	// exempted from. It is honoured only in namespaces that
	// Config.AnnotationExemptions allows.
	ExemptAnnotation = "eksguard.io/exempt"
)

// Mode is what a rule does with a finding.
type Mode string

const (
	// ModeEnforce denies (or, for a mutating rule, mutates).
	ModeEnforce Mode = "enforce"
	// ModeWarn admits the object and returns kubectl warnings.
	ModeWarn Mode = "warn"
	// ModeOff disables the rule.
	ModeOff Mode = "off"
)

// RuleName names a rule in modes, exemptions, metrics and messages.
type RuleName string

const (
	RuleSeccomp         RuleName = "seccomp"
	RuleNetworkPolicy   RuleName = "networkPolicy"
	RuleLoadBalancerTLS RuleName = "loadBalancerTLS"
)

// Rules lists every rule name, in a stable order.
var Rules = []RuleName{RuleSeccomp, RuleNetworkPolicy, RuleLoadBalancerTLS}

// Config is the policy document (apiVersion eksguard.io/v1alpha1, kind PolicyConfig).
type Config struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`

	// DryRun forces every rule that would enforce to warn instead: for rollout.
	DryRun bool `json:"dryRun"`

	Scope                Scope                `json:"scope"`
	Exemptions           []Exemption          `json:"exemptions"`
	AnnotationExemptions AnnotationExemptions `json:"annotationExemptions"`
	Rules                RuleSettings         `json:"rules"`
}

// Scope decides which namespaces eksguard looks at at all.
type Scope struct {
	// ExcludedNamespaces are never checked. eksguard's own namespace is
	// always excluded in addition to this list.
	ExcludedNamespaces []string `json:"excludedNamespaces"`
	// ExcludedNamespaceSelector excludes namespaces by their labels.
	ExcludedNamespaceSelector *metav1.LabelSelector `json:"excludedNamespaceSelector,omitempty"`
}

// Exemption lifts some rules for some objects, optionally until a date.
type Exemption struct {
	// Name identifies the exemption in Decision.Exemption, metrics and logs.
	Name string `json:"name"`
	// Rules are the rules the exemption lifts.
	Rules []RuleName `json:"rules"`
	// Namespaces and NamespaceSelector say where the exemption applies
	// (either matching is enough); at least one is required.
	Namespaces        []string              `json:"namespaces,omitempty"`
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// ObjectSelector narrows the exemption to objects with these labels. It
	// can only narrow: object labels are set by whoever creates the object.
	ObjectSelector *metav1.LabelSelector `json:"objectSelector,omitempty"`
	// Reason says why the exemption exists.
	Reason string `json:"reason"`
	// Expires is a date (2006-01-02: the exemption lasts through that day,
	// UTC) or an RFC 3339 time from which the exemption no longer applies.
	Expires string `json:"expires,omitempty"`
}

// AnnotationExemptions names the namespaces in which objects may exempt
// themselves with the ExemptAnnotation. Empty means nowhere.
type AnnotationExemptions struct {
	Namespaces        []string              `json:"namespaces,omitempty"`
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// RuleSettings has one section per rule.
type RuleSettings struct {
	Seccomp         SeccompSettings         `json:"seccomp"`
	NetworkPolicy   NetworkPolicySettings   `json:"networkPolicy"`
	LoadBalancerTLS LoadBalancerTLSSettings `json:"loadBalancerTLS"`
}

// SeccompSettings configures the RuntimeDefault injection.
type SeccompSettings struct {
	// Mode: enforce injects RuntimeDefault, warn only says it would.
	Mode Mode `json:"mode"`
	// Unconfined is the action for an explicit Unconfined profile.
	Unconfined Mode `json:"unconfined"`
}

// Coverage is what it takes for a pod to count as covered by NetworkPolicies.
type Coverage string

const (
	CoverageAny     Coverage = "any"
	CoverageIngress Coverage = "ingress"
	CoverageEgress  Coverage = "egress"
	CoverageBoth    Coverage = "both"
)

// NetworkPolicySettings configures the NetworkPolicy coverage rule.
type NetworkPolicySettings struct {
	Mode     Mode     `json:"mode"`
	Coverage Coverage `json:"coverage"`
	// HostNetwork is the action for a pod on the host network, which no
	// policy kind can isolate; coverage is not judged for such pods.
	HostNetwork Mode `json:"hostNetwork"`
	// ClusterDefaultDeny declares a cluster-wide default-deny that no API
	// object shows (VPC CNI strict mode, the Auto Mode NodeClass
	// networkPolicy: DefaultDeny): every pod counts as isolated in the
	// directions it names.
	ClusterDefaultDeny ClusterDefaultDeny `json:"clusterDefaultDeny"`
	// Fargate is the action for a pod that runs on AWS Fargate, where no
	// engine enforces any policy kind (EKS user guide, cni-network-policy
	// "Considerations"); coverage is not judged for such pods.
	Fargate Mode `json:"fargate"`
	// Windows is the action for a Windows pod, which the VPC CNI does not
	// police (same page); coverage is not judged for such pods unless
	// WindowsEngine names an engine that runs on Windows.
	Windows Mode `json:"windows"`
	// WindowsEngine names a policy engine that enforces on the cluster's
	// Windows nodes (WindowsEngines; empty: none, the EKS default).
	WindowsEngine WindowsEngine `json:"windowsEngine,omitempty"`
	// StandalonePods is the action for a pod that no controller owns: the
	// VPC CNI agent keys its rules by the pod's name prefix, so such pods
	// "can't have network policies applied to them" reliably (same page).
	StandalonePods Mode `json:"standalonePods"`
	// FargateProfiles mirror the cluster's Fargate profile selectors, for
	// manifests judged before Fargate's webhook has labelled their pods.
	FargateProfiles []FargateProfile `json:"fargateProfiles,omitempty"`
	// DNS is the DNS step: an Egress-isolated pod needs a path to the
	// cluster's DNS.
	DNS DNSSettings `json:"dns"`
}

// WindowsEngine is a policy engine that enforces on Windows nodes.
type WindowsEngine string

// EngineCalicoWindows is Calico for Windows: it enforces NetworkPolicy and
// Calico's own kinds.
const EngineCalicoWindows WindowsEngine = "calico"

// WindowsEngines are the valid Windows engines.
var WindowsEngines = []WindowsEngine{EngineCalicoWindows}

// FargateProfile is one selector of an EKS Fargate profile: pods of a
// matching namespace (wildcards * and ? allowed, as EKS allows them) whose
// labels include Labels run on Fargate.
type FargateProfile struct {
	Name      string            `json:"name,omitempty"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// DNSSettings configure the DNS step finding.
type DNSSettings struct {
	// Mode of the finding. It is warn by default and never denies unless set
	// to enforce.
	Mode Mode `json:"mode"`
	// Namespace and PodLabels are where the cluster's DNS pods run and what
	// they carry (the CoreDNS add-on: kube-system, k8s-app=kube-dns).
	Namespace string            `json:"namespace"`
	PodLabels map[string]string `json:"podLabels"`
	// AutoMode: pods resolve through EKS Auto Mode's node-local DNS, so a
	// rule aimed at DNS pods reaches nothing (EKS user guide,
	// auto-networking "CoreDNS considerations").
	AutoMode bool `json:"autoMode,omitempty"`
}

// ClusterDefaultDeny is an operator's statement that the data plane denies
// by default in these directions.
type ClusterDefaultDeny struct {
	Ingress bool `json:"ingress"`
	Egress  bool `json:"egress"`
	// Reason names the mechanism, for messages ("VPC CNI strict mode").
	Reason string `json:"reason,omitempty"`
	// Engine names the data plane that provides the default-deny (one of
	// DefaultDenyEngines; empty: not said), so that a declaration for an
	// engine eksguard cannot see (Calico's or Cilium's own default-deny)
	// keeps its meaning when eksguard learns more of the VPC CNI's.
	Engine DefaultDenyEngine `json:"engine,omitempty"`
}

// DefaultDenyEngine is the data plane that provides a declared default-deny.
type DefaultDenyEngine string

// The engines a declared default-deny can name.
const (
	EngineVPCCNI   DefaultDenyEngine = "vpc-cni"
	EngineAutoMode DefaultDenyEngine = "auto-mode"
	EngineCalico   DefaultDenyEngine = "calico"
	EngineCilium   DefaultDenyEngine = "cilium"
	EngineOther    DefaultDenyEngine = "other"
)

// DefaultDenyEngines are the valid engines.
var DefaultDenyEngines = []DefaultDenyEngine{EngineVPCCNI, EngineAutoMode, EngineCalico, EngineCilium, EngineOther}

// Declared reports whether the operator declared any default-deny.
func (d ClusterDefaultDeny) Declared() bool { return d.Ingress || d.Egress }

// OtherIngressClasses is what happens to Ingresses of classes not in ALBIngressClasses.
type OtherIngressClasses string

const (
	OtherIngressIgnore     OtherIngressClasses = "ignore"
	OtherIngressRequireTLS OtherIngressClasses = "requireTLS"
)

// LoadBalancerType is the kind of AWS load balancer a listener is on.
type LoadBalancerType string

const (
	LoadBalancerALB LoadBalancerType = "alb"
	LoadBalancerNLB LoadBalancerType = "nlb"
	LoadBalancerCLB LoadBalancerType = "clb"
)

// LoadBalancerTypes lists every LoadBalancerType.
var LoadBalancerTypes = []LoadBalancerType{LoadBalancerALB, LoadBalancerNLB, LoadBalancerCLB}

// AllowedSSLPoliciesFor is the allow-list of load balancers of type t.
func (s LoadBalancerTLSSettings) AllowedSSLPoliciesFor(t LoadBalancerType) []string {
	if list, ok := s.AllowedSSLPoliciesByType[t]; ok {
		return list
	}
	if t == LoadBalancerCLB {
		return DefaultAllowedClassicSSLPolicies
	}
	return s.AllowedSSLPolicies
}

// LoadBalancerTLSSettings configures the load-balancer TLS rule.
type LoadBalancerTLSSettings struct {
	Mode Mode `json:"mode"`
	// AllowedSSLPolicies are the ELBv2 security policies that ALB and NLB
	// listeners may use (ssl-policy, ssl-negotiation-policy, IngressClassParams).
	AllowedSSLPolicies []string `json:"allowedSSLPolicies"`
	// AllowedSSLPoliciesByType overrides the allow-list of one load balancer
	// type: alb, nlb, or clb (whose default is DefaultAllowedClassicSSLPolicies:
	// the ELBv2 policies do not exist on a Classic Load Balancer).
	AllowedSSLPoliciesByType map[LoadBalancerType][]string `json:"allowedSSLPoliciesByType,omitempty"`
	// ControllerDefaultSSLPolicy is the policy the controller applies when
	// an object names none (the LBC --default-ssl-policy).
	ControllerDefaultSSLPolicy string `json:"controllerDefaultSSLPolicy"`
	RequireBackendTLS          bool   `json:"requireBackendTLS"`
	// LBCServiceMutator says the cluster runs the LBC's Service mutating
	// webhook (its chart's enableServiceMutatorWebhook), which gives a new
	// type LoadBalancer Service without a class the LBC's
	// loadBalancerClass: a new Service is judged as so mutated. The webhook
	// sees the mutated object anyway; this is for check, and for clusters
	// where that webhook may be skipped (failurePolicy Ignore).
	LBCServiceMutator bool `json:"lbcServiceMutator"`
	SkipInternal      bool `json:"skipInternal"`
	// ALBIngressClasses are the kubernetes.io/ingress.class annotation
	// values the LBC manages (its --ingress-class); an IngressClass is the
	// LBC's by its spec.controller, and these names stand for classes only
	// in check, when its input holds no IngressClass.
	ALBIngressClasses []string `json:"albIngressClasses"`
	// LBCClasslessIngresses says the LBC runs with --ingress-class="", so
	// it also manages Ingresses without any class, and those whose
	// annotation is "alb" or "" (classifyIngress in
	// pkg/ingress/group_loader.go). Default false.
	LBCClasslessIngresses bool `json:"lbcClasslessIngresses"`
	// LBCCertificateManagement says the LBC runs with its
	// EnableCertificateManagement feature gate (v3.3.0+, off by default):
	// an Ingress annotated create-acm-cert gets a certificate the LBC
	// requests from ACM, so its default listener is HTTPS:443
	// (buildACMCertificates, computeIngressListenPorts). Default false.
	LBCCertificateManagement bool                `json:"lbcCertificateManagement"`
	OtherIngressClasses      OtherIngressClasses `json:"otherIngressClasses"`
	// UnknownClasses is what happens to load balancers that eksguard
	// cannot judge because it does not model what builds them.
	UnknownClasses UnknownClasses `json:"unknownClasses"`
	// AutoMode describes EKS Auto Mode's load balancing. Its controller is
	// closed source: each setting stands for something its user guide does
	// not say, with the default that cannot admit a weak listener.
	AutoMode AutoModeSettings `json:"autoMode"`
}

// UnknownClasses sets the finding mode (off, warn or enforce, never
// stronger than the rule's mode) for a LoadBalancer Service whose
// spec.loadBalancerClass, or an Ingress whose IngressClass controller,
// eksguard does not model: its listeners are never judged, so the finding
// says that, instead of a silent admit.
type UnknownClasses struct {
	// AWS: classes and controllers in an AWS domain (k8s.aws,
	// amazonaws.com), which likely build an AWS load balancer.
	AWS Mode `json:"aws"`
	// Other: every other Service class (Ingresses of other controllers
	// follow otherIngressClasses).
	Other Mode `json:"other"`
}

// AutoModeSettings are the unknowns of EKS Auto Mode's load balancing
// (https://docs.aws.amazon.com/eks/latest/userguide/auto-configure-nlb.html,
// auto-configure-alb.html).
type AutoModeSettings struct {
	// DefaultSSLPolicy is the policy Auto Mode gives TLS listeners. The
	// guide does not name it (aws/containers-roadmap#2715 asks for a way
	// to drop TLS 1.0); ELBSecurityPolicy-2016-08, the LBC's and the ELB
	// API's default, unless you know better.
	DefaultSSLPolicy string `json:"defaultSSLPolicy"`
	// SSLPolicyAnnotations says Auto Mode honours the ssl-negotiation-policy
	// (Service) and ssl-policy (Ingress) annotations, which its guide does
	// not list. Default false: listeners get DefaultSSLPolicy.
	SSLPolicyAnnotations bool `json:"sslPolicyAnnotations"`
	// DefaultScheme is the scheme of an Auto Mode load balancer that sets
	// none, which the guide does not state: internet-facing (default, so
	// skipInternal never skips on a guess) or internal.
	DefaultScheme string `json:"defaultScheme"`
	// ServiceDefaulting says Auto Mode gives every new type LoadBalancer
	// Service without a class its class eks.amazonaws.com/nlb, as the
	// guide says it does on clusters where it owns load balancing: such a
	// Service is judged as Auto Mode's. Like lbcServiceMutator, for check
	// and for Services the webhook sees before that defaulting.
	ServiceDefaulting bool `json:"serviceDefaulting"`
}

// Load balancer schemes.
const (
	SchemeInternal       = "internal"
	SchemeInternetFacing = "internet-facing"
)

// Schemes lists the load balancer schemes.
var Schemes = []string{SchemeInternetFacing, SchemeInternal}
