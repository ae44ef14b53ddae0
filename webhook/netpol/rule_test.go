package netpol

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

func mustCompile(t *testing.T, objs ...runtime.Object) []*Compiled {
	t.Helper()
	var out []*Compiled
	for _, o := range objs {
		p, err := Compile(o)
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		out = append(out, p)
	}
	return out
}

// TestCheckCoverage is the pure coverage rule over mixed kinds: policies add
// up (NetworkPolicy semantics, extended to every kind), the operator's
// declaration counts, and a selector on a label whose value is unknown
// before the pod exists is not counted.
func TestCheckCoverage(t *testing.T) {
	npIngress := netpolObject("shop", "np", metav1.LabelSelector{}, networkingv1.PolicyTypeIngress)
	anpEgress := object(KindApplicationNetworkPolicy, "shop", "anp", map[string]any{"podSelector": map[string]any{}, "policyTypes": list("Egress")})
	byHash := netpolObject("shop", "by-hash", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "pod-template-hash", Operator: metav1.LabelSelectorOpIn, Values: []string{"abc"}}}}, networkingv1.PolicyTypeIngress)
	hashExists := netpolObject("shop", "hash-exists", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "pod-template-hash", Operator: metav1.LabelSelectorOpExists}}}, networkingv1.PolicyTypeIngress)
	hashAbsent := netpolObject("shop", "hash-absent", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "pod-template-hash", Operator: metav1.LabelSelectorOpDoesNotExist}}}, networkingv1.PolicyTypeIngress)
	hashUnknown := map[string]string{"pod-template-hash": "set by the Deployment controller"}

	tests := []struct {
		name        string
		upstream    string
		policies    []runtime.Object
		unknown     map[string]string
		coverage    config.Coverage
		declared    Isolation
		wantCovered bool
		wantIso     Isolation
		wantBy      [2]string // IngressBy, EgressBy
		wantUnsure  string
		wantCount   int
	}{
		{name: "declared ingress default-deny covers any", upstream: "VPC CNI strict mode (rpc_handler.go DEFAULT_DENY)",
			declared: Isolation{Ingress: true}, coverage: config.CoverageAny, wantCovered: true, wantIso: Isolation{Ingress: true}},
		{name: "declared ingress plus ANP egress covers both", upstream: "policies are additive; ANP policyTypes verbatim",
			policies: []runtime.Object{anpEgress}, declared: Isolation{Ingress: true}, coverage: config.CoverageBoth,
			wantCovered: true, wantIso: Isolation{Ingress: true, Egress: true}, wantBy: [2]string{"", "ApplicationNetworkPolicy shop/anp"}},
		{name: "NetworkPolicy and ANP add up", upstream: "evaluateFlow namespace tier: NP and ANP together",
			policies: []runtime.Object{npIngress, anpEgress}, coverage: config.CoverageBoth,
			wantCovered: true, wantIso: Isolation{Ingress: true, Egress: true}, wantBy: [2]string{"NetworkPolicy shop/np", "ApplicationNetworkPolicy shop/anp"}},
		{name: "ingress only under both: counts every policy", upstream: "Satisfies(both)",
			policies: []runtime.Object{npIngress}, coverage: config.CoverageBoth,
			wantIso: Isolation{Ingress: true}, wantBy: [2]string{"NetworkPolicy shop/np", ""}, wantCount: 1},
		{name: "unknown hash under In is not counted", upstream: "deployment sync.go: pod-template-hash is a hash of the template",
			policies: []runtime.Object{byHash}, unknown: hashUnknown, coverage: config.CoverageAny, wantUnsure: "pod-template-hash", wantCount: 1},
		{name: "Exists on a controller label is exact", upstream: "the controller always sets the label",
			policies: []runtime.Object{hashExists}, unknown: hashUnknown, coverage: config.CoverageAny,
			wantCovered: true, wantIso: Isolation{Ingress: true}, wantBy: [2]string{"NetworkPolicy shop/hash-exists", ""}},
		{name: "DoesNotExist on a controller label is exact", upstream: "the controller always sets the label",
			policies: []runtime.Object{hashAbsent}, unknown: hashUnknown, coverage: config.CoverageAny, wantCount: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := webPod()
			pod.Unknown = tt.unknown
			r := CheckCoverage(pod, mustCompile(t, tt.policies...), Want{Coverage: tt.coverage, Declared: tt.declared}, nil)
			if r.Covered != tt.wantCovered || r.Isolation != tt.wantIso {
				t.Fatalf("%s: covered=%t isolation=%+v, want %t %+v", tt.upstream, r.Covered, r.Isolation, tt.wantCovered, tt.wantIso)
			}
			name := func(p *Compiled) string {
				if p == nil {
					return ""
				}
				return p.String()
			}
			if got := [2]string{name(r.IngressBy), name(r.EgressBy)}; got != tt.wantBy {
				t.Errorf("isolated by %q, want %q", got, tt.wantBy)
			}
			unsure := ""
			if r.Uncertain != nil {
				unsure = r.Uncertain.Key
			}
			if unsure != tt.wantUnsure {
				t.Errorf("uncertain key %q, want %q", unsure, tt.wantUnsure)
			}
			if !r.Covered && r.Applying != tt.wantCount {
				t.Errorf("policies counted %d, want %d", r.Applying, tt.wantCount)
			}
		})
	}
}

// TestWorkloadControllerLabels: a Deployment whose only policy selects on
// pod-template-hash is denied, and the message says why it is not counted;
// Exists on the same key covers it.
func TestWorkloadControllerLabels(t *testing.T) {
	byHash := netpolObject("shop", "by-hash", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "pod-template-hash", Operator: metav1.LabelSelectorOpIn, Values: []string{"5d8f7c"}}}}, networkingv1.PolicyTypeIngress)
	hashExists := netpolObject("shop", "hash-exists", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "pod-template-hash", Operator: metav1.LabelSelectorOpExists}}}, networkingv1.PolicyTypeIngress)
	obj, gvk := workloadOf("Deployment", metav1.ObjectMeta{Name: "web"}, template(map[string]string{"app": "web"}, nil, "web:1"))
	req := admissionRequest(admissionv1.Create, gvk, "shop", "web", mustJSON(t, obj), nil)
	pol := ruletest.CompilePolicy(t, nil)

	live := &liveReader{policies: []networkingv1.NetworkPolicy{*byHash}}
	v := NewWorkloadHandler(newTestChecker(pol, []*networkingv1.NetworkPolicy{byHash}, live))
	ruletest.CheckAnswer(t, v.Handle(context.Background(), req), ruletest.Denied("eksguard denied this Deployment: [networkPolicy] spec.template.metadata.labels: "+
		"The only NetworkPolicy in namespace shop does not select Deployment web's pod template (labels app=web); "+
		"NetworkPolicy shop/by-hash is not counted: it selects on pod-template-hash, and the Deployment controller sets it to a hash of "+
		"each ReplicaSet's template (pkg/controller/deployment sync.go getNewReplicaSet); add one that selects it, e.g. "+defaultDenyHint))

	v = NewWorkloadHandler(newTestChecker(pol, []*networkingv1.NetworkPolicy{hashExists}, &liveReader{}))
	ruletest.CheckAnswer(t, v.Handle(context.Background(), req), ruletest.Allowed())
}

// TestHostNetwork: a host-network pod gets its own finding, warn by
// default, since no policy kind isolates it (pkg/resolvers/endpoints.go of
// the AWS controller skips them); enforce denies; off admits.
func TestHostNetwork(t *testing.T) {
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "shop", Labels: map[string]string{"app": "agent"}},
		Spec:       corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: "a", Image: "agent:1"}}}}
	req := admissionRequest(admissionv1.Create, metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, "shop", "agent", mustJSON(t, pod), nil)
	tests := []struct {
		mode config.Mode
		want ruletest.Answer
	}{
		{config.ModeWarn, ruletest.Warned("eksguard [networkPolicy] Pod agent uses hostNetwork: no network policy can isolate it; drop hostNetwork or exempt it")},
		{config.ModeEnforce, ruletest.Denied("eksguard denied this Pod: [networkPolicy] spec.hostNetwork: Pod agent runs on the host network, where no " +
			"NetworkPolicy or other policy kind applies (the VPC CNI agent, Cilium and the SIG Network API leave host-network pods out); " +
			"drop hostNetwork, or exempt it from the networkPolicy rule if it must stay")},
		{config.ModeOff, ruletest.Allowed()},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			pol := ruletest.CompilePolicy(t, func(c *config.Config) { c.Rules.NetworkPolicy.HostNetwork = tt.mode })
			live := &liveReader{}
			v := NewPodHandler(newTestChecker(pol, nil, live))
			ruletest.CheckAnswer(t, v.Handle(context.Background(), req), tt.want)
			if len(live.lists) != 0 {
				t.Errorf("a host-network pod needs no policy read, got %d", len(live.lists))
			}
		})
	}
}

// TestDeclaredDefaultDenyMessage: a declared ingress default-deny under
// coverage both leaves egress, and the message says what the declaration gives.
func TestDeclaredDefaultDenyMessage(t *testing.T) {
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: map[string]string{"app": "web"}}}
	req := admissionRequest(admissionv1.Create, metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, "shop", "web", mustJSON(t, pod), nil)
	pol := ruletest.CompilePolicy(t, func(c *config.Config) {
		c.Rules.NetworkPolicy.Coverage = config.CoverageBoth
		c.Rules.NetworkPolicy.ClusterDefaultDeny = config.ClusterDefaultDeny{Ingress: true, Reason: "VPC CNI strict mode"}
	})
	v := NewPodHandler(newTestChecker(pol, nil, &liveReader{}))
	ruletest.CheckAnswer(t, v.Handle(context.Background(), req), ruletest.Denied("eksguard denied this Pod: [networkPolicy] metadata.labels: "+
		"Namespace shop has no NetworkPolicy to isolate Pod web (labels app=web) for Egress; only the cluster default-deny declared "+
		"in the eksguard policy (VPC CNI strict mode) isolates it for Ingress; add one that isolates it, e.g. "+defaultDenyHint))

	pol = ruletest.CompilePolicy(t, func(c *config.Config) {
		c.Rules.NetworkPolicy.ClusterDefaultDeny = config.ClusterDefaultDeny{Ingress: true, Egress: true}
		c.Rules.NetworkPolicy.DNS.Mode = config.ModeOff // the DNS step's tests cover it
	})
	v = NewPodHandler(newTestChecker(pol, nil, &liveReader{}))
	ruletest.CheckAnswer(t, v.Handle(context.Background(), req), ruletest.Allowed())
}
