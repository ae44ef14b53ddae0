package netpol

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

// TestComputeOf: where a pod runs, from what the admitted object says.
// Each case names the EKS source of the signal.
func TestComputeOf(t *testing.T) {
	windowsTerm := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelOSStable, Operator: corev1.NodeSelectorOpIn, Values: []string{"windows"}}}}
	hybridTerm := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: ComputeTypeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"hybrid"}}}}
	openTerm := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpExists}}}
	affinity := func(terms ...corev1.NodeSelectorTerm) *placement {
		p := &placement{}
		if err := jsonInto(map[string]any{"affinity": map[string]any{"nodeAffinity": map[string]any{
			"requiredDuringSchedulingIgnoredDuringExecution": corev1.NodeSelector{NodeSelectorTerms: terms}}}}, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	profiles := []config.FargateProfile{{Name: "batch", Namespace: "batch-*", Labels: map[string]string{"compute": "fargate"}}}
	tests := []struct {
		name, upstream string
		namespace      string
		labels         map[string]string
		placement      *placement
		want           where
	}{
		{name: "Fargate label", upstream: "amazon-vpc-resource-controller-k8s pod_webhook.go FargatePodIdentifierLabelKey",
			labels: map[string]string{FargateProfileLabel: "fp-default"}, placement: &placement{},
			want: where{ComputeFargate, "it carries the label eks.amazonaws.com/fargate-profile, which EKS's Fargate webhook sets"}},
		{name: "Fargate scheduler", upstream: "EKS Fargate webhook sets schedulerName fargate-scheduler",
			placement: &placement{SchedulerName: "fargate-scheduler"},
			want:      where{ComputeFargate, "its schedulerName is fargate-scheduler"}},
		{name: "a Fargate profile selector, wildcard namespace", upstream: "EKS Fargate profile selectors (namespace wildcards, labels all match)",
			namespace: "batch-nightly", labels: map[string]string{"compute": "fargate", "app": "x"}, placement: &placement{},
			want: where{ComputeFargate, "the Fargate profile batch in rules.networkPolicy.fargateProfiles selects it"}},
		{name: "a Fargate profile whose labels the pod lacks", upstream: "EKS Fargate profile selectors: every label must match",
			namespace: "batch-nightly", labels: map[string]string{"app": "x"}, placement: &placement{}, want: where{Compute: ComputeNode}},
		{name: "spec.os windows", upstream: "cni-network-policy: not Windows nodes; PodOS",
			placement: &placement{OS: &struct {
				Name string `json:"name"`
			}{Name: "windows"}},
			want: where{ComputeWindows, "its spec.os.name is windows"}},
		{name: "nodeSelector windows", upstream: "pod_webhook.go hasWindowsNodeSelector",
			placement: &placement{NodeSelector: map[string]string{corev1.LabelOSStable: "windows"}},
			want:      where{ComputeWindows, "its nodeSelector pins kubernetes.io/os=windows"}},
		{name: "required affinity, every term windows", upstream: "NodeSelectorTerms are ORed",
			placement: affinity(windowsTerm, windowsTerm),
			want:      where{ComputeWindows, "its required node affinity pins kubernetes.io/os=windows"}},
		{name: "required affinity with an open term", upstream: "NodeSelectorTerms are ORed: one open term frees the pod",
			placement: affinity(windowsTerm, openTerm), want: where{Compute: ComputeNode}},
		{name: "hybrid nodeSelector", upstream: "hybrid-nodes-cni: compute-type hybrid",
			placement: &placement{NodeSelector: map[string]string{ComputeTypeLabel: "hybrid"}},
			want:      where{ComputeHybrid, "its nodeSelector pins eks.amazonaws.com/compute-type=hybrid"}},
		{name: "hybrid affinity", upstream: "hybrid-nodes-cni: compute-type hybrid",
			placement: affinity(hybridTerm), want: where{ComputeHybrid, "its required node affinity pins eks.amazonaws.com/compute-type=hybrid"}},
		{name: "Auto Mode node", upstream: "auto-net-pol: the agent enforces on Auto Mode nodes",
			placement: &placement{NodeSelector: map[string]string{ComputeTypeLabel: "auto"}}, want: where{Compute: ComputeNode}},
		{name: "nothing said", upstream: "EC2 Linux by default", placement: &placement{}, want: where{Compute: ComputeNode}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := tt.namespace
			if ns == "" {
				ns = "shop"
			}
			if got := computeOf(ns, tt.labels, tt.placement, profiles); got != tt.want {
				t.Errorf("%s: got %+v, want %+v", tt.upstream, got, tt.want)
			}
		})
	}
}

func jsonInto(v any, into any) error {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&map[string]any{"v": v})
	if err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u["v"].(map[string]any), into)
}

// TestAgentDefaultDeny: a declared strict mode holds only while no
// NetworkPolicy or ApplicationNetworkPolicy selects the pod
// (aws-network-policy-agent rpc_handler.go EnforceNpToPod; the reconciler's
// catch-all allow for each direction a selecting policy does not isolate);
// a cluster-scoped policy does not end it.
func TestAgentDefaultDeny(t *testing.T) {
	web := labels.Set{"app": "web"}
	egressOnly := netpolObject("shop", "egress-only", metav1.LabelSelector{}, networkingv1.PolicyTypeEgress)
	otherPods := netpolObject("shop", "db", metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, networkingv1.PolicyTypeIngress)
	anpEgress := object(KindApplicationNetworkPolicy, "shop", "anp", map[string]any{"podSelector": map[string]any{}, "policyTypes": list("Egress")})
	awsCNP := object(KindAWSClusterNetworkPolicy, "", "admin", map[string]any{"tier": "Admin",
		"subject": map[string]any{"namespaces": map[string]any{}},
		"egress":  list(map[string]any{"action": "Deny", "to": list(map[string]any{"networks": list("0.0.0.0/0", "::/0")})})})
	strict := Isolation{Ingress: true, Egress: true}
	tests := []struct {
		name, upstream string
		policies       []runtime.Object
		want           Want
		covered        bool
		isolation      Isolation
		declared       Isolation
	}{
		{name: "unselected pod: strict mode isolates both ways", upstream: "EnforceNpToPod: DEFAULT_DENY while no policy targets the pod",
			want: Want{Coverage: config.CoverageBoth, Declared: strict, ByAgent: true}, covered: true, isolation: strict, declared: strict},
		{name: "a policy for other pods leaves it unselected", upstream: "EnforceNpToPod",
			policies: []runtime.Object{otherPods},
			want:     Want{Coverage: config.CoverageBoth, Declared: strict, ByAgent: true}, covered: true, isolation: strict, declared: strict},
		{name: "an Egress-only NetworkPolicy opens ingress", upstream: "policyendpoints_controller.go: no ingress rules and no ingress isolation, catch-all allow",
			policies: []runtime.Object{egressOnly},
			want:     Want{Coverage: config.CoverageBoth, Declared: strict, ByAgent: true}, isolation: Isolation{Egress: true}},
		{name: "an Egress-only ApplicationNetworkPolicy opens ingress too", upstream: "the controller makes PolicyEndpoints of both kinds",
			policies: []runtime.Object{anpEgress},
			want:     Want{Coverage: config.CoverageBoth, Declared: strict, ByAgent: true}, isolation: Isolation{Egress: true}},
		{name: "a cluster policy does not end the default-deny", upstream: "rpc_handler.go: no concept of default deny for cluster policies",
			policies: []runtime.Object{awsCNP},
			want:     Want{Coverage: config.CoverageBoth, Declared: strict, ByAgent: true}, covered: true, isolation: strict, declared: strict},
		{name: "a declaration by another engine adds to every pod", upstream: "Calico or Cilium default-deny (not the agent's)",
			policies: []runtime.Object{egressOnly},
			want:     Want{Coverage: config.CoverageBoth, Declared: strict}, covered: true, isolation: strict, declared: strict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &Pod{Namespace: "shop", NamespaceLabels: labels.Set{"kubernetes.io/metadata.name": "shop"}, Labels: web, ServiceAccount: "default"}
			r := CheckCoverage(pod, mustCompile(t, tt.policies...), tt.want, nil)
			if r.Covered != tt.covered || r.Isolation != tt.isolation || r.Declared != tt.declared {
				t.Errorf("%s: covered=%v isolation=%+v declared=%+v, want %v %+v %+v", tt.upstream, r.Covered, r.Isolation, r.Declared, tt.covered, tt.isolation, tt.declared)
			}
			ix := NewIndex()
			ix.AssumeServed()
			for _, p := range tt.policies {
				ix.OnAdd(p, true)
			}
			if got := ix.CheckCoverage(pod, tt.want); got.Covered != r.Covered || got.Isolation != r.Isolation {
				t.Errorf("index: covered=%v isolation=%+v, pure: %v %+v", got.Covered, got.Isolation, r.Covered, r.Isolation)
			}
		})
	}
}

// TestComputeFindings: the handlers' verdicts per compute, through the
// pod and workload handlers.
func TestComputeFindings(t *testing.T) {
	web := map[string]string{"app": "web"}
	denyAll := netpolObject("shop", "deny-all", metav1.LabelSelector{}, networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)
	podWith := func(edit func(*corev1.Pod)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", Labels: web, OwnerReferences: replicaSetOwner},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
			edit(pod)
			return mustJSON(t, pod)
		}
	}
	tests := []struct {
		name, upstream string
		edit           func(*config.Config)
		indexed        []*networkingv1.NetworkPolicy
		pod            func(t *testing.T) []byte
		want           ruletest.Answer
	}{
		{name: "Fargate pod without a policy: warned, not denied", upstream: "cni-network-policy: policies do not apply to Fargate",
			pod:  podWith(func(p *corev1.Pod) { p.Labels = map[string]string{"app": "web", FargateProfileLabel: "fp"} }),
			want: ruletest.Warned("eksguard [networkPolicy] Pod web-1 is on Fargate: no policy applies there; exempt it")},
		{name: "Fargate pod with a policy: still warned (it is not enforced)", upstream: "cni-network-policy: policies do not apply to Fargate",
			indexed: []*networkingv1.NetworkPolicy{denyAll},
			pod:     podWith(func(p *corev1.Pod) { p.Spec.SchedulerName = FargateScheduler }),
			want:    ruletest.Warned("eksguard [networkPolicy] Pod web-1 is on Fargate: no policy applies there; exempt it")},
		{name: "Fargate under enforce: denied with the reason", upstream: "cni-network-policy: policies do not apply to Fargate",
			edit: func(c *config.Config) { c.Rules.NetworkPolicy.Fargate = config.ModeEnforce },
			pod:  podWith(func(p *corev1.Pod) { p.Spec.SchedulerName = FargateScheduler }),
			want: ruletest.Denied("eksguard denied this Pod: [networkPolicy] metadata.labels: Pod web-1 runs on AWS Fargate (its schedulerName is " +
				"fargate-scheduler), where the VPC CNI enforces no NetworkPolicy or other policy kind (EKS user guide, cni-network-policy: EC2 Linux " +
				"nodes only); run it on EC2 nodes (outside the Fargate profiles) if it must be isolated, or exempt it")},
		{name: "Windows pod: warned", upstream: "cni-network-policy: not Windows nodes",
			pod:  podWith(func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{corev1.LabelOSStable: "windows"} }),
			want: ruletest.Warned("eksguard [networkPolicy] Pod web-1 is on Windows: no policy applies; set windowsEngine or exempt it")},
		{name: "Windows pod with Calico for Windows: judged, covered", upstream: "Calico for Windows enforces NetworkPolicy",
			edit:    func(c *config.Config) { c.Rules.NetworkPolicy.WindowsEngine = config.EngineCalicoWindows },
			indexed: []*networkingv1.NetworkPolicy{denyAll},
			pod:     podWith(func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} }),
			want:    ruletest.Allowed()},
		{name: "hybrid pod with a NetworkPolicy: covered (Cilium enforces it)", upstream: "hybrid-nodes-network-policies",
			indexed: []*networkingv1.NetworkPolicy{denyAll},
			pod:     podWith(func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{ComputeTypeLabel: "hybrid"} }),
			want:    ruletest.Allowed()},
		{name: "hybrid pod under a declared strict mode: not covered", upstream: "hybrid-nodes-cni: the VPC CNI is not on hybrid nodes",
			edit: func(c *config.Config) {
				c.Rules.NetworkPolicy.ClusterDefaultDeny = config.ClusterDefaultDeny{Ingress: true, Egress: true, Engine: config.EngineVPCCNI}
			},
			pod: podWith(func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{ComputeTypeLabel: "hybrid"} }),
			want: ruletest.Denied("eksguard denied this Pod: [networkPolicy] metadata.labels: Namespace shop has no NetworkPolicy to select Pod web-1 " +
				"(labels app=web); add one that selects it, e.g. " + defaultDenyHint)},
		{name: "standalone covered pod: warned", upstream: "cni-network-policy: standalone pods; pkg/utils GetPodIdentifier",
			indexed: []*networkingv1.NetworkPolicy{denyAll},
			pod:     podWith(func(p *corev1.Pod) { p.OwnerReferences = nil }),
			want:    ruletest.Warned("eksguard [networkPolicy] Pod web-1 has no owner: VPC CNI policies may miss it; run it from a Deployment or Job")},
		{name: "standalone pod, off", upstream: "rules.networkPolicy.standalonePods: off (another engine)",
			edit:    func(c *config.Config) { c.Rules.NetworkPolicy.StandalonePods = config.ModeOff },
			indexed: []*networkingv1.NetworkPolicy{denyAll},
			pod:     podWith(func(p *corev1.Pod) { p.OwnerReferences = nil }),
			want:    ruletest.Allowed()},
		{name: "standalone uncovered pod: only the denial", upstream: "the standalone finding qualifies a coverage",
			pod: podWith(func(p *corev1.Pod) { p.OwnerReferences = nil }),
			want: ruletest.Denied("eksguard denied this Pod: [networkPolicy] metadata.labels: Namespace shop has no NetworkPolicy to select Pod web-1 " +
				"(labels app=web); add one that selects it, e.g. " + defaultDenyHint)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checker := newTestChecker(ruletest.CompilePolicy(t, tt.edit), tt.indexed, &liveReader{})
			req := admissionRequest(admissionv1.Create, podKind, "shop", "web-1", tt.pod(t), nil)
			ruletest.CheckAnswer(t, NewPodHandler(checker).Handle(context.Background(), req), tt.want)
		})
	}
}

// TestWindowsDeploymentWarned: a workload's template says where its pods run.
func TestWindowsDeploymentWarned(t *testing.T) {
	d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "iis", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "iis"}},
			Spec: corev1.PodSpec{OS: &corev1.PodOS{Name: corev1.Windows},
				Containers: []corev1.Container{{Name: "iis", Image: "mcr.microsoft.com/windows/servercore/iis"}}}}}}
	req := admissionRequest(admissionv1.Create, metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "shop", "iis", mustJSON(t, d), nil)
	checker := newTestChecker(ruletest.CompilePolicy(t, nil), nil, &liveReader{})
	ruletest.CheckAnswer(t, NewWorkloadHandler(checker).Handle(context.Background(), req), ruletest.Warned(
		"eksguard [networkPolicy] Deployment iis's pod template is on Windows: no policy applies; set windowsEngine or exempt it"))
}

// TestLearnedDefaultDeny: what the cluster's objects say of the agent's
// default-deny for a pod, by where it can land (DATA-PLANE: a pod is
// default-denied only if every compute class it can reach is).
func TestLearnedDefaultDeny(t *testing.T) {
	strictNode := &dataplane.AWSNode{AgentPresent: true, AgentEnabled: true, EnforcingMode: dataplane.ModeStrict}
	standardNode := &dataplane.AWSNode{AgentPresent: true, AgentEnabled: true, EnforcingMode: dataplane.ModeStandard}
	deny, allow := dataplane.NetworkPolicyDefaultDeny, dataplane.NetworkPolicyDefaultAllow
	tests := []struct {
		name, upstream string
		facts          *dataplane.Facts
		placement      *placement
		want           string
	}{
		{name: "nothing read", upstream: "no facts: the declaration alone", placement: &placement{}},
		{name: "strict aws-node, no Auto Mode", upstream: "amazon-vpc-cni NETWORK_POLICY_ENFORCING_MODE=strict",
			facts: &dataplane.Facts{AWSNode: strictNode}, placement: &placement{}, want: "VPC CNI strict mode (the aws-node DaemonSet)"},
		{name: "standard aws-node", upstream: "standard mode allows by default",
			facts: &dataplane.Facts{AWSNode: standardNode}, placement: &placement{}},
		{name: "strict aws-node but a DefaultAllow NodeClass: unpinned pods may land there", upstream: "auto-net-pol: per-NodeClass networkPolicy",
			facts: &dataplane.Facts{AWSNode: strictNode, NodeClasses: map[string]string{"default": allow}}, placement: &placement{}},
		{name: "strict aws-node and every NodeClass DefaultDeny", upstream: "every compute class denies",
			facts: &dataplane.Facts{AWSNode: strictNode, NodeClasses: map[string]string{"default": deny}}, placement: &placement{},
			want: "VPC CNI strict mode (the aws-node DaemonSet) and every Auto Mode NodeClass has networkPolicy: DefaultDeny"},
		{name: "NodeClasses unread: not sure", upstream: "a Forbidden list is unknown, not absent",
			facts: &dataplane.Facts{AWSNode: strictNode, Unread: []dataplane.Source{dataplane.SourceNodeClasses}}, placement: &placement{}},
		{name: "pinned to a DefaultDeny NodePool", upstream: "NodePool nodeClassRef -> NodeClass networkPolicy",
			facts:     &dataplane.Facts{NodeClasses: map[string]string{"locked": deny, "default": allow}, NodePools: map[string]string{"secure": "locked"}},
			placement: &placement{NodeSelector: map[string]string{NodePoolLabel: "secure"}}, want: "NodePool secure's NodeClass has networkPolicy: DefaultDeny"},
		{name: "pinned to a DefaultAllow NodeClass", upstream: "NodeClass networkPolicy DefaultAllow",
			facts:     &dataplane.Facts{AWSNode: strictNode, NodeClasses: map[string]string{"default": allow}},
			placement: &placement{NodeSelector: map[string]string{NodeClassLabel: "default"}}},
		{name: "Auto Mode only, every NodeClass DefaultDeny", upstream: "auto-net-pol",
			facts: &dataplane.Facts{NodeClasses: map[string]string{"default": deny}}, placement: &placement{},
			want: "every Auto Mode NodeClass has networkPolicy: DefaultDeny"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := learnedDefaultDeny(tt.facts, tt.placement); got != tt.want {
				t.Errorf("%s: got %q, want %q", tt.upstream, got, tt.want)
			}
		})
	}
}

// TestLearnedStrictModeCoverage: with aws-node in strict mode and no
// declaration, an unselected pod counts as isolated and the message of a
// gap names what the cluster shows.
func TestLearnedStrictModeCoverage(t *testing.T) {
	facts := &dataplane.Holder{}
	facts.Store(&dataplane.Facts{AWSNode: &dataplane.AWSNode{AgentPresent: true, AgentEnabled: true, EnforcingMode: dataplane.ModeStrict}})
	pol := ruletest.CompilePolicy(t, func(c *config.Config) {
		c.Rules.NetworkPolicy.Coverage = config.CoverageBoth
		c.Rules.NetworkPolicy.DNS.Mode = config.ModeOff
	})
	egressOnly := netpolObject("shop", "egress-only", metav1.LabelSelector{}, networkingv1.PolicyTypeEgress)
	for _, tt := range []struct {
		name    string
		indexed []*networkingv1.NetworkPolicy
		want    ruletest.Answer
	}{
		{name: "unselected: strict mode isolates it", want: ruletest.Allowed()},
		{name: "an Egress-only policy opens ingress", indexed: []*networkingv1.NetworkPolicy{egressOnly},
			want: ruletest.Denied("eksguard denied this Pod: [networkPolicy] metadata.labels: The only NetworkPolicy in namespace shop does not isolate " +
				"Pod web-1 (labels app=web) for Ingress; add one that isolates it, e.g. " + defaultDenyHint)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			live := &liveReader{}
			for _, np := range tt.indexed {
				live.policies = append(live.policies, *np)
			}
			checker := newTestChecker(pol, tt.indexed, live)
			checker.DataPlane = facts
			req := admissionRequest(admissionv1.Create, podKind, "shop", "web-1", podJSON(t, "web-1", map[string]string{"app": "web"}, nil), nil)
			ruletest.CheckAnswer(t, NewPodHandler(checker).Handle(context.Background(), req), tt.want)
		})
	}
}
