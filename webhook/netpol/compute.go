package netpol

// Where a pod runs decides which policy kinds are enforced on it: the VPC
// CNI agent runs only on EC2 Linux nodes (and Auto Mode's), so a policy
// that selects a Fargate, Windows or hybrid-node pod may do nothing.
// Sources: the EKS user guide, cni-network-policy "Considerations" (EC2
// Linux only, not Fargate or Windows) and hybrid-nodes-cni (the VPC CNI is
// not on hybrid nodes; NetworkPolicy is enforced there through Cilium).

import (
	"path"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

// Compute is where a pod runs, as far as policy enforcement goes.
type Compute uint8

const (
	// ComputeNode is an EC2 Linux or Auto Mode node: every kind counts.
	ComputeNode Compute = iota
	// ComputeFargate runs no policy engine at all.
	ComputeFargate
	// ComputeWindows runs no VPC CNI agent; a declared Windows engine may police it.
	ComputeWindows
	// ComputeHybrid runs Cilium, not the VPC CNI: the AWS kinds do not count.
	ComputeHybrid
)

// Labels and names EKS sets on pods and nodes that place a pod.
const (
	// FargateProfileLabel and FargateScheduler are set by EKS's Fargate
	// mutating webhook before validating webhooks run; EKS's own webhooks
	// tell Fargate pods by the label (amazon-vpc-resource-controller-k8s
	// webhooks/core/pod_webhook.go FargatePodIdentifierLabelKey).
	FargateProfileLabel = "eks.amazonaws.com/fargate-profile"
	FargateScheduler    = "fargate-scheduler"
	// ComputeTypeLabel is the node label that names hybrid nodes (and
	// Fargate and Auto Mode nodes); aws-node's affinity excludes them.
	ComputeTypeLabel  = "eks.amazonaws.com/compute-type"
	ComputeHybridNode = "hybrid"
)

// placement is what a pod spec says about where it runs; the pod and
// template decoders embed it.
type placement struct {
	SchedulerName string `json:"schedulerName"`
	OS            *struct {
		Name string `json:"name"`
	} `json:"os"`
	NodeSelector map[string]string `json:"nodeSelector"`
	Affinity     *struct {
		NodeAffinity *struct {
			Required *corev1.NodeSelector `json:"requiredDuringSchedulingIgnoredDuringExecution"`
		} `json:"nodeAffinity"`
	} `json:"affinity"`
}

// where is a pod's compute and what says so, for messages.
type where struct {
	Compute Compute
	Why     string
}

// computeOf is where pods with these labels, in namespace, placed by p,
// run. Fargate is told by what EKS's Fargate webhook sets or, for a
// manifest it has not seen, by the Fargate profile selectors the policy
// mirrors; Windows as EKS tells it (spec.os, or the kubernetes.io/os
// selector: pod_webhook.go hasWindowsNodeSelector); hybrid nodes by a
// selector or required affinity that pins compute-type hybrid.
func computeOf(namespace string, lbls map[string]string, p *placement, profiles []config.FargateProfile) where {
	if _, ok := lbls[FargateProfileLabel]; ok {
		return where{ComputeFargate, "it carries the label " + FargateProfileLabel + ", which EKS's Fargate webhook sets"}
	}
	if p.SchedulerName == FargateScheduler {
		return where{ComputeFargate, "its schedulerName is " + FargateScheduler}
	}
	for _, fp := range profiles {
		if fargateProfileSelects(fp, namespace, lbls) {
			name := fp.Name
			if name == "" {
				name = "for namespace " + fp.Namespace
			}
			return where{ComputeFargate, "the Fargate profile " + name + " in rules.networkPolicy.fargateProfiles selects it"}
		}
	}
	if p.OS != nil && p.OS.Name == string(corev1.Windows) {
		return where{ComputeWindows, "its spec.os.name is windows"}
	}
	if why := p.pins(corev1.LabelOSStable, string(corev1.Windows)); why != "" {
		return where{ComputeWindows, why}
	}
	if why := p.pins(ComputeTypeLabel, ComputeHybridNode); why != "" {
		return where{ComputeHybrid, why}
	}
	return where{Compute: ComputeNode}
}

// fargateProfileSelects reports whether an EKS Fargate profile selector
// takes a pod: its namespace matches (EKS allows * and ?) and the pod has
// every label the selector names.
func fargateProfileSelects(fp config.FargateProfile, namespace string, lbls map[string]string) bool {
	if ok, err := path.Match(fp.Namespace, namespace); err != nil || !ok {
		return false
	}
	for k, v := range fp.Labels {
		if got, ok := lbls[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// pins says how p restricts pods to nodes labelled key=value ("" when it
// does not): the nodeSelector, or a required node affinity every term of
// which allows only that value (terms are ORed, so one open term frees it).
func (p *placement) pins(key, value string) string {
	switch v, by := p.pinnedTo(key); {
	case v != value:
		return ""
	case by == "":
		return "its nodeSelector pins " + key + "=" + value
	default:
		return "its required node affinity pins " + key + "=" + value
	}
}

// pinnedTo is the one value of node label key that p restricts pods to
// ("" when it does not), and by "" for the nodeSelector or "affinity".
func (p *placement) pinnedTo(key string) (value, by string) {
	if v, ok := p.NodeSelector[key]; ok {
		return v, ""
	}
	if p.Affinity == nil || p.Affinity.NodeAffinity == nil || p.Affinity.NodeAffinity.Required == nil {
		return "", ""
	}
	terms := p.Affinity.NodeAffinity.Required.NodeSelectorTerms
	for i, t := range terms {
		v := termPin(t, key)
		if v == "" || (i > 0 && v != value) {
			return "", ""
		}
		value = v
	}
	return value, "affinity"
}

// termPin is the one value of key that a requirement of the term admits.
func termPin(t corev1.NodeSelectorTerm, key string) string {
	for _, r := range t.MatchExpressions {
		if r.Key != key || r.Operator != corev1.NodeSelectorOpIn || len(r.Values) == 0 {
			continue
		}
		if slices.Equal(slices.Compact(slices.Clone(r.Values)), r.Values[:1]) {
			return r.Values[0]
		}
	}
	return ""
}

// Node labels that pin pods to EKS Auto Mode nodes.
const (
	NodePoolLabel  = "karpenter.sh/nodepool"
	NodeClassLabel = "eks.amazonaws.com/nodeclass"
	ComputeAuto    = "auto"
)

// learnedDefaultDeny says what in the cluster default-denies the pods p
// places, "" when nothing does for sure: VPC CNI strict mode on aws-node's
// nodes, a DefaultDeny NodeClass on Auto Mode's. A pod not pinned to one
// kind of node is default-denied only if every kind it can land on is,
// and only when both kinds' objects could be read.
func learnedDefaultDeny(f *dataplane.Facts, p *placement) string {
	if f == nil {
		return ""
	}
	if pool, _ := p.pinnedTo(NodePoolLabel); pool != "" {
		if deny, known := f.NodePoolDefaultDeny(pool); deny && known {
			return "NodePool " + pool + "'s NodeClass has networkPolicy: DefaultDeny"
		}
		return ""
	}
	if class, _ := p.pinnedTo(NodeClassLabel); class != "" {
		if deny, known := f.NodeClassDefaultDeny(class); deny && known {
			return "NodeClass " + class + " has networkPolicy: DefaultDeny"
		}
		return ""
	}
	autoDeny := f.Read(dataplane.SourceNodeClasses) && len(f.NodeClasses) > 0
	for class := range f.NodeClasses {
		if deny, known := f.NodeClassDefaultDeny(class); !deny || !known {
			autoDeny = false
		}
	}
	const everyClass = "every Auto Mode NodeClass has networkPolicy: DefaultDeny"
	if p.pins(ComputeTypeLabel, ComputeAuto) != "" {
		if autoDeny {
			return everyClass
		}
		return ""
	}
	if !f.Read(dataplane.SourceNodeClasses) || !f.Read(dataplane.SourceAWSNode) {
		return ""
	}
	ec2, auto := f.AWSNode != nil, len(f.NodeClasses) > 0
	switch {
	case ec2 && auto && f.StrictMode() && autoDeny:
		return "VPC CNI strict mode (the aws-node DaemonSet) and " + everyClass
	case ec2 && !auto && f.StrictMode():
		return "VPC CNI strict mode (the aws-node DaemonSet)"
	case !ec2 && autoDeny:
		return everyClass
	}
	return ""
}

// countedKinds are the bits of the kinds enforced on c (zero: every kind).
// On hybrid nodes and Windows nodes the VPC CNI's own kinds do nothing;
// on Windows only a declared Windows engine's kinds count.
func countedKinds(c Compute, s *config.NetworkPolicySettings) uint {
	var bits uint
	switch c {
	case ComputeHybrid:
		for _, k := range Kinds {
			if !k.vpcCNIOnly {
				bits |= k.bit
			}
		}
	case ComputeWindows:
		if s.WindowsEngine == config.EngineCalicoWindows {
			bits = KindNetworkPolicy.bit | KindCalicoNetworkPolicy.bit | KindCalicoGlobalNetworkPolicy.bit
		}
	}
	return bits
}

// byAgent reports whether a declared default-deny is the VPC CNI agent's
// (strict mode, or an Auto Mode NodeClass's DefaultDeny, which the same
// agent applies), or one that names no engine: it then holds only where
// the agent runs and only for pods no namespace policy selects.
func byAgent(dd config.ClusterDefaultDeny) bool {
	switch dd.Engine {
	case "", config.EngineVPCCNI, config.EngineAutoMode:
		return true
	}
	return false
}

// wantFor is what the rule asks of a pod on compute w, placed by p, and
// what the data plane gives it there: the operator's declaration and what
// the cluster's objects show (facts; nil: nothing read).
func wantFor(w where, p *placement, s *config.NetworkPolicySettings, facts *dataplane.Facts) Want {
	want := Want{Coverage: s.Coverage, Kinds: countedKinds(w.Compute, s)}
	dd := s.ClusterDefaultDeny
	declared := Isolation{Ingress: dd.Ingress, Egress: dd.Egress}
	switch {
	case byAgent(dd):
		if w.Compute != ComputeNode {
			break
		}
		// What the cluster shows adds to what the operator declared.
		if learned := learnedDefaultDeny(facts, p); learned != "" {
			declared, want.Source = Isolation{Ingress: true, Egress: true}, learned
		}
		want.Declared, want.ByAgent = declared, true
	case dd.Engine == config.EngineCalico:
		if w.Compute == ComputeNode || w.Compute == ComputeHybrid || want.Kinds&KindCalicoNetworkPolicy.bit != 0 {
			want.Declared = declared
		}
	default:
		if w.Compute == ComputeNode || w.Compute == ComputeHybrid {
			want.Declared = declared
		}
	}
	return want
}
