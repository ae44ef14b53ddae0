package dataplane

import (
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

// Names of the objects and settings read, as upstream spells them.
const (
	// Namespace is where the VPC CNI and EKS keep aws-node and amazon-vpc-cni
	// (the chart's release namespace; EKS's add-on and the control-plane
	// controller use kube-system).
	Namespace = "kube-system"
	// AWSNodeName names the VPC CNI DaemonSet (chart values.yaml
	// nameOverride: aws-node; config/master/aws-k8s-cni.yaml).
	AWSNodeName = "aws-node"
	// AWSNodeContainer is the DaemonSet's ipamd/CNI container, whose
	// environment configures network policy (pkg/ipamd/ipamd.go).
	AWSNodeContainer = "aws-node"
	// AgentContainer is the container running aws-network-policy-agent
	// (chart templates/daemonset.yaml; the managed add-on uses the same).
	AgentContainer = "aws-eks-nodeagent"
	// FlagEnableNetworkPolicy is the agent's bool flag that starts its
	// policy reconcilers (aws-network-policy-agent pkg/config/controller_config.go).
	FlagEnableNetworkPolicy = "enable-network-policy"
	// EnvEnforcingMode is read by ipamd and handed to the agent and the CNI
	// (pkg/ipamd/ipamd.go envNetworkPolicyMode).
	EnvEnforcingMode = "NETWORK_POLICY_ENFORCING_MODE"
	// EnvPodENI turns on security groups for pods (pkg/ipamd/ipamd.go envEnablePodENI).
	EnvPodENI = "ENABLE_POD_ENI"
	// EnvSGEnforcingMode is the security-groups-for-pods mode (pkg/sgpp/constants.go).
	EnvSGEnforcingMode = "POD_SECURITY_GROUP_ENFORCING_MODE"

	// VPCCNIConfigMapName is the ConfigMap the EKS control plane reads
	// (chart templates/configmap.yaml).
	VPCCNIConfigMapName = "amazon-vpc-cni"
	// KeyControllerEnabled turns EKS's network policy controller on
	// (chart templates/configmap.yaml; auto-net-pol.html step 1).
	KeyControllerEnabled = "enable-network-policy-controller"
)

// Values of the settings.
const (
	// ModeStrict and ModeStandard are the values of EnvEnforcingMode the
	// agent accepts (aws-network-policy-agent pkg/utils/utils.go, compared
	// lower-cased); ipamd also accepts ModeNone.
	ModeStrict   = "strict"
	ModeStandard = "standard"
	ModeNone     = "none"
	// SGModeStrict is POD_SECURITY_GROUP_ENFORCING_MODE's default when unset
	// (pkg/sgpp/constants.go DefaultEnforcingMode; README.md).
	SGModeStrict = "strict"

	// NetworkPolicyDefaultAllow and NetworkPolicyDefaultDeny are the values
	// of a NodeClass's spec.networkPolicy (create-node-class.html).
	NetworkPolicyDefaultAllow = "DefaultAllow"
	NetworkPolicyDefaultDeny  = "DefaultDeny"
)

// Kinds of Auto Mode and Karpenter read for the per-NodeClass default.
var (
	NodeClassGVK = schema.GroupVersionKind{Group: "eks.amazonaws.com", Version: "v1", Kind: "NodeClass"}
	NodePoolGVK  = schema.GroupVersionKind{Group: "karpenter.sh", Version: "v1", Kind: "NodePool"}
	// NodeClassResource and NodePoolResource name them for RBAC and messages.
	NodeClassResource = NodeClassGVK.GroupVersion().WithResource("nodeclasses")
	NodePoolResource  = NodePoolGVK.GroupVersion().WithResource("nodepools")
)

// Source is one of the places Facts are read from, as messages name it.
type Source string

// The sources.
const (
	SourceAWSNode      Source = "DaemonSet " + Namespace + "/" + AWSNodeName
	SourceVPCCNIConfig Source = "ConfigMap " + Namespace + "/" + VPCCNIConfigMapName
	SourceNodeClasses  Source = "NodeClasses (nodeclasses.eks.amazonaws.com)"
	SourceNodePools    Source = "NodePools (nodepools.karpenter.sh)"
)

// Sources lists every Source.
var Sources = []Source{SourceAWSNode, SourceVPCCNIConfig, SourceNodeClasses, SourceNodePools}

// Facts is what the cluster's objects say about policy enforcement. A nil
// *Facts knows nothing; every query answers "unknown" or "no contradiction".
type Facts struct {
	// AWSNode is nil when there is no DaemonSet kube-system/aws-node (or it
	// could not be read: see Unread).
	AWSNode *AWSNode
	// ControllerEnabled is nil when the ConfigMap or its key is absent, or
	// its value is neither "true" nor "false" (ControllerValue says which).
	ControllerEnabled *bool
	// ControllerValue is the key's value as written ("" when absent).
	ControllerValue string
	// NodeClasses maps each NodeClass to its spec.networkPolicy (unset is
	// NetworkPolicyDefaultAllow; a value of the wrong type is "").
	NodeClasses map[string]string
	// NodePools maps each NodePool whose nodeClassRef is an Auto Mode
	// NodeClass to that NodeClass's name.
	NodePools map[string]string
	// Unread are the sources that could not be read (RBAC) or that the
	// input does not show: their absence above means "unknown".
	Unread []Source
}

// AWSNode is what the aws-node DaemonSet says.
type AWSNode struct {
	// AgentPresent: the DaemonSet has the aws-eks-nodeagent container (the
	// chart drops it with nodeAgent.enabled false).
	AgentPresent bool
	// AgentEnabled: that container runs with --enable-network-policy true.
	// A pflag bool flag: given alone it is true, =v is strconv.ParseBool,
	// the last one counts, and a bad value makes the agent exit.
	AgentEnabled bool
	// EnforcingMode is container aws-node's NETWORK_POLICY_ENFORCING_MODE,
	// lower-cased; "" when unset. Unset is not "standard": ipamd then hands
	// out "" (getNetworkPolicyMode), the CNI skips the agent (cni.go), and an
	// enabled agent refuses the mode and does not start (main.go
	// getNetworkPolicyConfigsFromIpamd). The chart renders "standard".
	EnforcingMode string
	// PodENI is ENABLE_POD_ENI, parsed as ipamd does (strconv.ParseBool,
	// false when unset or invalid).
	PodENI bool
	// SGEnforcingMode is POD_SECURITY_GROUP_ENFORCING_MODE, lower-cased;
	// SGModeStrict when unset.
	SGEnforcingMode string
	// Unknown names the settings (env names, FlagEnableNetworkPolicy) whose
	// values the DaemonSet does not show: valueFrom, envFrom, or a $(VAR)
	// reference. Their fields above hold the upstream default.
	Unknown []string
}

// Knows reports whether setting (an env name or FlagEnableNetworkPolicy)
// has a value the DaemonSet shows.
func (a *AWSNode) Knows(setting string) bool {
	return a != nil && !slices.Contains(a.Unknown, setting)
}

// Read reports whether s was read (present or absent), rather than unknown.
func (f *Facts) Read(s Source) bool {
	return f != nil && !slices.Contains(f.Unread, s)
}

// Builder gathers Facts from objects one at a time.
type Builder struct {
	facts Facts
	shown map[Source]bool
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{facts: Facts{NodeClasses: map[string]string{}, NodePools: map[string]string{}}, shown: map[Source]bool{}}
}

// Add records obj if it is one of the data-plane objects (typed or
// unstructured DaemonSet aws-node or ConfigMap amazon-vpc-cni in
// kube-system, any NodeClass or NodePool) and reports whether it was. A
// DaemonSet or ConfigMap with no namespace counts as kube-system's: a
// manifest rendered for kube-system often omits it, and no other namespace
// is meant. A later object of the same name replaces an earlier one.
func (b *Builder) Add(obj runtime.Object) bool {
	switch o := obj.(type) {
	case *appsv1.DaemonSet:
		if !isNamed(o.Namespace, o.Name, AWSNodeName) {
			return false
		}
		b.shown[SourceAWSNode] = true
		b.facts.AWSNode = awsNodeFrom(&o.Spec.Template.Spec)
		return true
	case *corev1.ConfigMap:
		if !isNamed(o.Namespace, o.Name, VPCCNIConfigMapName) {
			return false
		}
		b.shown[SourceVPCCNIConfig] = true
		b.facts.ControllerValue, b.facts.ControllerEnabled = controllerFrom(o.Data)
		return true
	case *unstructured.Unstructured:
		return b.addUnstructured(o)
	}
	return false
}

func (b *Builder) addUnstructured(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	switch {
	case gvk.Group == appsv1.GroupName && gvk.Kind == "DaemonSet":
		if !isNamed(u.GetNamespace(), u.GetName(), AWSNodeName) {
			return false
		}
		var ds appsv1.DaemonSet
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &ds); err != nil {
			b.Unread(SourceAWSNode) // malformed: say nothing rather than guess
			return true
		}
		return b.Add(&ds)
	case gvk.Group == corev1.GroupName && gvk.Kind == "ConfigMap":
		if !isNamed(u.GetNamespace(), u.GetName(), VPCCNIConfigMapName) {
			return false
		}
		var cm corev1.ConfigMap
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &cm); err != nil {
			b.Unread(SourceVPCCNIConfig)
			return true
		}
		return b.Add(&cm)
	case gvk.GroupKind() == NodeClassGVK.GroupKind():
		b.shown[SourceNodeClasses] = true
		b.facts.NodeClasses[u.GetName()] = nodeClassPolicy(u)
		return true
	case gvk.GroupKind() == NodePoolGVK.GroupKind():
		b.shown[SourceNodePools] = true
		if class, ok := nodePoolClass(u); ok {
			b.facts.NodePools[u.GetName()] = class
		} else {
			delete(b.facts.NodePools, u.GetName())
		}
		return true
	}
	return false
}

// Unread records that s could not be read, so its absence means "unknown".
func (b *Builder) Unread(s Source) {
	if !slices.Contains(b.facts.Unread, s) {
		b.facts.Unread = append(b.facts.Unread, s)
	}
}

// Facts returns what was gathered (a copy: the Builder may go on).
func (b *Builder) Facts() *Facts {
	f := b.facts
	f.NodeClasses = cloneMap(f.NodeClasses)
	f.NodePools = cloneMap(f.NodePools)
	f.Unread = slices.Clone(f.Unread)
	if f.AWSNode != nil {
		a := *f.AWSNode
		a.Unknown = slices.Clone(a.Unknown)
		f.AWSNode = &a
	}
	return &f
}

// FromObjects reads the data-plane objects among objs, ignoring the rest.
// Input objects are a partial view (a set of manifests): a source none of
// them shows is Unread, not absent.
func FromObjects(objs []runtime.Object) *Facts {
	b := NewBuilder()
	for _, o := range objs {
		b.Add(o)
	}
	for _, s := range Sources {
		if !b.shown[s] {
			b.Unread(s)
		}
	}
	return b.Facts()
}

func isNamed(namespace, name, want string) bool {
	return name == want && (namespace == Namespace || namespace == "")
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// controllerFrom reads the controller key. EKS's control-plane controller
// is not public: only the documented "true" and "false" are taken at face value.
func controllerFrom(data map[string]string) (string, *bool) {
	v, ok := data[KeyControllerEnabled]
	if !ok {
		return "", nil
	}
	switch v {
	case "true":
		return v, ptr.To(true)
	case "false":
		return v, ptr.To(false)
	}
	return v, nil
}

// awsNodeFrom reads the pod template of aws-node.
func awsNodeFrom(spec *corev1.PodSpec) *AWSNode {
	a := &AWSNode{SGEnforcingMode: SGModeStrict}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		switch c.Name {
		case AWSNodeContainer:
			if v, known, set := envValue(c, EnvEnforcingMode); !known {
				a.Unknown = append(a.Unknown, EnvEnforcingMode)
			} else if set {
				a.EnforcingMode = strings.ToLower(v)
			}
			if v, known, set := envValue(c, EnvPodENI); !known {
				a.Unknown = append(a.Unknown, EnvPodENI)
			} else if set {
				a.PodENI, _ = strconv.ParseBool(v) // ipamd: invalid is the default, false
			}
			if v, known, set := envValue(c, EnvSGEnforcingMode); !known {
				a.Unknown = append(a.Unknown, EnvSGEnforcingMode)
			} else if set {
				a.SGEnforcingMode = strings.ToLower(v)
			}
		case AgentContainer:
			a.AgentPresent = true
			enabled, known := boolFlag(append(slices.Clone(c.Command), c.Args...), FlagEnableNetworkPolicy)
			if !known {
				a.Unknown = append(a.Unknown, FlagEnableNetworkPolicy)
			}
			a.AgentEnabled = enabled
		}
	}
	return a
}

// envValue resolves name in c's environment as the kubelet does: the last
// env entry of that name wins, env overrides envFrom. known is false when
// the value is not in the manifest (valueFrom, $(VAR) expansion, or no env
// entry while an envFrom could supply one).
func envValue(c *corev1.Container, name string) (value string, known, set bool) {
	for i := len(c.Env) - 1; i >= 0; i-- {
		e := c.Env[i]
		if e.Name != name {
			continue
		}
		if e.ValueFrom != nil || strings.Contains(e.Value, "$(") {
			return "", false, true
		}
		return e.Value, true, true
	}
	return "", len(c.EnvFrom) == 0, false
}

// boolFlag reads a pflag bool flag from argv as pflag parses it: the last
// --name or --name=v before a "--" terminator counts; --name alone is true
// (its NoOptDefVal); a value strconv.ParseBool refuses makes the program
// exit (pflag.ExitOnError), which is no better than false. known is false
// when the value is a $(VAR) reference the kubelet expands.
func boolFlag(argv []string, name string) (value, known bool) {
	known = true
	for _, arg := range argv {
		if arg == "--" {
			break
		}
		switch rest, ok := strings.CutPrefix(arg, "--"+name); {
		case !ok:
		case rest == "":
			value, known = true, true
		case rest[0] == '=':
			v := rest[1:]
			if strings.Contains(v, "$(") {
				value, known = false, false
				continue
			}
			b, err := strconv.ParseBool(v)
			value, known = b && err == nil, true
		}
	}
	return value, known
}

// nodeClassPolicy is a NodeClass's spec.networkPolicy; unset is
// DefaultAllow, the default auto-net-pol.html and create-node-class.html
// give as the optional field's example and EKS's built-in NodeClass carries.
func nodeClassPolicy(u *unstructured.Unstructured) string {
	v, found, err := unstructured.NestedString(u.Object, "spec", "networkPolicy")
	switch {
	case err != nil:
		return ""
	case !found:
		return NetworkPolicyDefaultAllow
	}
	return v
}

// nodePoolClass is the Auto Mode NodeClass a NodePool's nodes get, if its
// nodeClassRef names one (not, say, a self-managed Karpenter EC2NodeClass).
func nodePoolClass(u *unstructured.Unstructured) (string, bool) {
	ref, found, err := unstructured.NestedStringMap(u.Object, "spec", "template", "spec", "nodeClassRef")
	if err != nil || !found {
		return "", false
	}
	if ref["group"] != NodeClassGVK.Group || ref["kind"] != NodeClassGVK.Kind || ref["name"] == "" {
		return "", false
	}
	return ref["name"], true
}
