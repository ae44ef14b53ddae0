package netpol

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

// kubeDNS is the CoreDNS add-on as EKS installs it.
func kubeDNS() *dnsTarget {
	return &dnsTarget{Namespace: "kube-system", NamespaceLabels: labels.Set{corev1.LabelMetadataName: "kube-system"},
		PodLabels: labels.Set{"k8s-app": "kube-dns"}}
}

// egressNP is a NetworkPolicy of namespace shop isolating every pod for
// Egress with the given rules.
func egressNP(name string, rules ...networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	np := netpolObject("shop", name, metav1.LabelSelector{}, networkingv1.PolicyTypeEgress)
	np.Spec.Egress = rules
	return np
}

func port(proto corev1.Protocol, p intstr.IntOrString) networkingv1.NetworkPolicyPort {
	out := networkingv1.NetworkPolicyPort{Port: &p}
	if proto != "" {
		out.Protocol = &proto
	}
	return out
}

// toKubeDNS is the peer that reaches CoreDNS: namespace by the label the
// API server sets, pods by the add-on's label.
var toKubeDNS = networkingv1.NetworkPolicyPeer{
	NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "kube-system"}},
	PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
}

var dns53 = []networkingv1.NetworkPolicyPort{port(corev1.ProtocolUDP, intstr.FromInt32(53)), port(corev1.ProtocolTCP, intstr.FromInt32(53))}

// TestCheckDNS: the DNS path of pod app=web in shop, per tier. Each case
// names the upstream rule it encodes.
func TestCheckDNS(t *testing.T) {
	cnp := func(name, tier string, priority int64, egress ...any) *unstructured.Unstructured {
		return object(KindAWSClusterNetworkPolicy, "", name, map[string]any{"tier": tier, "priority": priority,
			"subject": map[string]any{"namespaces": map[string]any{}}, "egress": egress})
	}
	toKubeSystem := map[string]any{"namespaces": selector(map[string]any{corev1.LabelMetadataName: "kube-system"})}
	udp53 := list(map[string]any{"portNumber": map[string]any{"protocol": "UDP", "port": int64(53)}})
	everywhere := map[string]any{"networks": list("0.0.0.0/0", "::/0")}
	strict := Want{Coverage: config.CoverageAny, Declared: Isolation{Ingress: true, Egress: true}, ByAgent: true}
	autoMode := kubeDNS()
	autoMode.AutoMode = true
	named := kubeDNS()
	named.NamespaceLabels = labels.Set{corev1.LabelMetadataName: "kube-system", "name": "kube-system"}

	tests := []struct {
		name, upstream string
		policies       []runtime.Object
		want           Want
		target         *dnsTarget
		udp, tcp       bool
		unmodelled     bool
		mistake        string // a part of the named mistake
		deny           string // the blocking tier policy
		byDefault      bool
	}{
		{name: "no policy: allowed", upstream: "evaluateFlow: no policy, pod default allow", udp: true, tcp: true},
		{name: "ingress-only policy: egress untouched", upstream: "SetDefaults_NetworkPolicy: no egress rules, Ingress only",
			policies: []runtime.Object{netpolObject("shop", "in", metav1.LabelSelector{}, networkingv1.PolicyTypeIngress)}, udp: true, tcp: true},
		{name: "default-deny without DNS", upstream: "BPG network.adoc: deny, then allow DNS",
			policies: []runtime.Object{egressNP("deny")}, mistake: "no egress rule of NetworkPolicy shop/deny allows port 53"},
		{name: "default-deny plus a correct allow", upstream: "NetworkPolicyPeer: namespaceSelector AND podSelector",
			policies: []runtime.Object{egressNP("deny"), egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS}, Ports: dns53})},
			udp:      true, tcp: true},
		{name: "Kyverno's sample: name=kube-system matches no namespace", upstream: "kyverno/policies add-networkpolicy-dns",
			policies: []runtime.Object{egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{
				To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"name": "kube-system"}}}},
				Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolUDP, intstr.FromInt32(53))}})},
			mistake: "selects namespaces name=kube-system, which does not take in namespace kube-system (namespace kube-system carries kubernetes.io/metadata.name=kube-system; nothing sets a name label)"},
		{name: "Kyverno's sample where someone labelled kube-system name=kube-system", upstream: "namespaceSelector matches the namespace's labels",
			target: named,
			policies: []runtime.Object{egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{
				To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"name": "kube-system"}}}},
				Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolUDP, intstr.FromInt32(53))}})},
			udp: true},
		{name: "port 53 without a protocol is TCP only", upstream: "SetDefaults_NetworkPolicyPort: protocol TCP",
			policies: []runtime.Object{egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS},
				Ports: []networkingv1.NetworkPolicyPort{port("", intstr.FromInt32(53))}})},
			tcp: true, mistake: "allows port 53 without a protocol, which means TCP only"},
		{name: "UDP only: a softer note", upstream: "BPG's own example allows UDP/53 only",
			policies: []runtime.Object{egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS},
				Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolUDP, intstr.FromInt32(53))}})},
			udp: true},
		{name: "podSelector without namespaceSelector: the pod's own namespace", upstream: "networking/v1 NetworkPolicyPeer.PodSelector",
			policies: []runtime.Object{egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{
				To:    []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}}}},
				Ports: dns53})},
			mistake: "has a podSelector peer without a namespaceSelector, which selects pods of namespace shop, not the DNS pods of kube-system"},
		{name: "named port dns over UDP", upstream: "endpoints.go resolves named ports against the peer pods' container ports (CoreDNS: dns/UDP)",
			policies: []runtime.Object{egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS},
				Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolUDP, intstr.FromString("dns")), port(corev1.ProtocolTCP, intstr.FromString("dns-tcp"))}})},
			udp: true, tcp: true},
		{name: "a port range holding 53", upstream: "NetworkPolicyPort.endPort",
			policies: []runtime.Object{egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromInt32(1)), EndPort: ptr.To[int32](1024)}}})},
			udp: true},
		{name: "ipBlock 0.0.0.0/0 on 53 reaches any resolver", upstream: "aws-samples sample-eks-nitro-sandbox allow-dns",
			policies: []runtime.Object{egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}}, Ports: dns53})},
			udp:      true, tcp: true},
		{name: "ANP domainNames alone does not allow the lookups", upstream: "NPEP-133 Expected Behavior",
			policies: []runtime.Object{object(KindApplicationNetworkPolicy, "shop", "fqdn", map[string]any{"podSelector": map[string]any{}, "policyTypes": list("Egress"),
				"egress": list(map[string]any{"to": list(map[string]any{"domainNames": list("api.example.com")})})})},
			mistake: "allows domainNames, which do not allow the DNS lookups they need"},
		{name: "ANP domainNames with a port-53 rule", upstream: "NPEP-133; applicationnetworkpolicy_resolver.go protocol defaults to TCP",
			policies: []runtime.Object{object(KindApplicationNetworkPolicy, "shop", "fqdn", map[string]any{"podSelector": map[string]any{}, "policyTypes": list("Egress"),
				"egress": list(map[string]any{"to": list(map[string]any{"domainNames": list("api.example.com")})},
					map[string]any{"ports": list(map[string]any{"protocol": "UDP", "port": int64(53)}, map[string]any{"port": int64(53)})})})},
			udp: true, tcp: true},
		{name: "Admin Deny cannot be reopened by a namespace policy", upstream: "evaluateFlow: an admin DENY returns BPF_DROP first",
			policies: []runtime.Object{cnp("lockdown", "Admin", 20, map[string]any{"action": "Deny", "to": list(everywhere)}),
				egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS}, Ports: dns53})},
			deny: "ClusterNetworkPolicy.networking.k8s.aws lockdown (Admin tier)"},
		{name: "Admin Accept for DNS at a lower number wins", upstream: "evaluateFlow: lowest priority number first",
			policies: []runtime.Object{cnp("lockdown", "Admin", 20, map[string]any{"action": "Deny", "to": list(everywhere)}),
				cnp("dns", "Admin", 10, map[string]any{"action": "Accept", "to": list(toKubeSystem), "ports": udp53})},
			udp: true},
		{name: "Admin Deny wins a tie", upstream: "evaluateFlow: Deny wins at equal priority",
			policies: []runtime.Object{cnp("dns", "Admin", 10, map[string]any{"action": "Accept", "to": list(toKubeSystem), "ports": udp53}),
				cnp("lockdown", "Admin", 10, map[string]any{"action": "Deny", "to": list(everywhere)})},
			deny: "ClusterNetworkPolicy.networking.k8s.aws lockdown (Admin tier)"},
		{name: "Admin Pass into a namespace default-deny without DNS", upstream: "evaluateFlow: PASS goes to the namespace tier",
			policies: []runtime.Object{cnp("delegate", "Admin", 5, map[string]any{"action": "Pass", "to": list(toKubeSystem), "ports": udp53}), egressNP("deny")},
			mistake:  "no egress rule of NetworkPolicy shop/deny allows port 53"},
		{name: "Baseline Deny with no namespace allow", upstream: "evaluateNamespacePolicyByLookUp: PASS for an unselected pod, then the baseline",
			policies: []runtime.Object{cnp("baseline-deny", "Baseline", 1, map[string]any{"action": "Deny", "to": list(everywhere)})},
			deny:     "ClusterNetworkPolicy.networking.k8s.aws baseline-deny (Baseline tier)"},
		{name: "Baseline Deny is not consulted for an egress-isolated pod", upstream: "evaluateFlow: the namespace tier decides for a selected pod",
			policies: []runtime.Object{cnp("baseline-deny", "Baseline", 1, map[string]any{"action": "Deny", "to": list(everywhere)}),
				egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS}, Ports: dns53})},
			udp: true, tcp: true},
		{name: "strict mode, unselected pod", upstream: "rpc_handler.go EnforceNpToPod: DEFAULT_DENY",
			want: strict, byDefault: true},
		{name: "strict mode with an Admin Accept for DNS", upstream: "evaluateFlow: the admin tier before the pod default",
			want:     strict,
			policies: []runtime.Object{cnp("dns", "Admin", 10, map[string]any{"action": "Accept", "to": list(toKubeSystem), "ports": udp53})},
			udp:      true},
		{name: "strict mode, pod selected by an ingress policy: egress opened", upstream: "policyendpoints_controller.go catch-all allow",
			want:     strict,
			policies: []runtime.Object{netpolObject("shop", "in", metav1.LabelSelector{}, networkingv1.PolicyTypeIngress)},
			udp:      true, tcp: true},
		{name: "Auto Mode: an allow aimed at DNS pods reaches nothing", upstream: "auto-networking.html CoreDNS considerations",
			target:   autoMode,
			policies: []runtime.Object{egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS}, Ports: dns53})},
			mistake:  "on EKS Auto Mode DNS is served on each node"},
		{name: "Auto Mode: port 53 to anywhere", upstream: "auto-networking.html",
			target:   autoMode,
			policies: []runtime.Object{egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{Ports: dns53})},
			udp:      true, tcp: true},
		{name: "a SIG Admin Accept may allow DNS: not read, silent", upstream: "network-policy-api v1alpha2: Admin Accept before the NetworkPolicy tier",
			policies: []runtime.Object{egressNP("deny"), object(KindClusterNetworkPolicy, "", "dns", map[string]any{"tier": "Admin", "priority": int64(1),
				"subject": map[string]any{"namespaces": map[string]any{}},
				"egress":  list(map[string]any{"action": "Accept", "to": list(map[string]any{"namespaces": map[string]any{}})})})},
			unmodelled: true},
		{name: "a Cilium policy selects the pod: not read, silent", upstream: "CiliumNetworkPolicy egress is Cilium's own semantics",
			policies: []runtime.Object{egressNP("deny"), object(KindCiliumNetworkPolicy, "shop", "c", map[string]any{
				"endpointSelector": map[string]any{}, "egress": list(map[string]any{"toEntities": list("world")})})},
			unmodelled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.target
			if target == nil {
				target = kubeDNS()
			}
			want := tt.want
			if want.Coverage == "" {
				want.Coverage = config.CoverageAny
			}
			pod := webPod()
			got := CheckDNS(pod, mustCompile(t, tt.policies...), want, target, nil)
			if got.UDP != tt.udp || got.TCP != tt.tcp || (got.Unmodelled != nil) != tt.unmodelled {
				t.Fatalf("%s: udp=%v tcp=%v unmodelled=%v, want %v %v %v", tt.upstream, got.UDP, got.TCP, got.Unmodelled, tt.udp, tt.tcp, tt.unmodelled)
			}
			b := got.Blocked
			if tt.unmodelled {
				return // the finding says nothing, whatever the walk found
			}
			if !strings.Contains(b.Mistake, tt.mistake) || (tt.mistake == "") != (b.Mistake == "") {
				t.Errorf("%s: mistake %q, want it to hold %q", tt.upstream, b.Mistake, tt.mistake)
			}
			deny := ""
			if b.Deny != nil {
				deny = b.Deny.String()
			}
			if deny != tt.deny {
				t.Errorf("%s: blocked by %q, want %q", tt.upstream, deny, tt.deny)
			}
			if b.ByDefault != tt.byDefault {
				t.Errorf("%s: by default %v, want %v", tt.upstream, b.ByDefault, tt.byDefault)
			}
			ix := NewIndex()
			ix.AssumeServed()
			for _, p := range tt.policies {
				ix.OnAdd(p, true)
			}
			if fromIndex := ix.CheckDNS(pod, want, target); fromIndex.UDP != got.UDP || fromIndex.TCP != got.TCP || fromIndex.Blocked.Mistake != got.Blocked.Mistake {
				t.Errorf("index %+v, pure %+v", fromIndex, got)
			}
		})
	}
}

// TestDNSFinding: the finding as the pod handler gives it, with the fix.
func TestDNSFinding(t *testing.T) {
	kyverno := egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{
		To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"name": "kube-system"}}}},
		Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolUDP, intstr.FromInt32(53))}})
	good := egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS}, Ports: dns53})
	webOnly := netpolObject("shop", "web-egress", metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, networkingv1.PolicyTypeEgress)
	const fix = "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: allow-dns, namespace: shop}, spec: {podSelector: %s, " +
		"policyTypes: %s, egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}], " +
		"ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]}]}}"
	tests := []struct {
		name, upstream string
		edit           func(*config.Config)
		indexed        []*networkingv1.NetworkPolicy
		want           ruletest.Answer
		wantDetail     string
	}{
		{name: "a correct kube-dns allow: silent", upstream: "NetworkPolicyPeer AND", indexed: []*networkingv1.NetworkPolicy{good}, want: ruletest.Allowed()},
		{name: "Kyverno's sample: warned with the fix", upstream: "kyverno/policies add-networkpolicy-dns",
			indexed: []*networkingv1.NetworkPolicy{kyverno},
			want:    ruletest.Warned("eksguard [networkPolicy] Pod web-1 has no DNS path (UDP 53): NetworkPolicy shop/allow-dns selects namespaces name=kub..."),
			wantDetail: "Pod web-1 has no DNS path (UDP 53): NetworkPolicy shop/allow-dns selects namespaces name=kube-system, which does " +
				"not take in namespace kube-system (namespace kube-system carries kubernetes.io/metadata.name=kube-system; nothing sets a name label); add the NetworkPolicy " +
				fmt.Sprintf(fix, "{}", "[Egress]")},
		{name: "a policy for some pods: the fix selects the pod's labels", upstream: "the fix isolates no pod that was not",
			indexed: []*networkingv1.NetworkPolicy{webOnly},
			wantDetail: "Pod web-1 has no DNS path (UDP 53): no egress rule of NetworkPolicy shop/web-egress allows port 53 to the cluster's DNS; " +
				"add the NetworkPolicy " + fmt.Sprintf(fix, "{matchLabels: {app: web}}", "[Egress]")},
		{name: "strict mode, no policy: the fix isolates ingress too", upstream: "the reconciler's catch-all allow for a selected pod",
			edit: func(c *config.Config) {
				c.Rules.NetworkPolicy.ClusterDefaultDeny = config.ClusterDefaultDeny{Ingress: true, Egress: true, Reason: "VPC CNI strict mode", Engine: config.EngineVPCCNI}
			},
			wantDetail: "Pod web-1 has no DNS path (UDP 53): the cluster's default-deny (VPC CNI strict mode) denies its egress and no policy allows DNS; " +
				"add the NetworkPolicy " + fmt.Sprintf(fix, "{matchLabels: {app: web}}", "[Ingress, Egress]")},
		{name: "dns off: silent", upstream: "rules.networkPolicy.dns.mode: off",
			edit:    func(c *config.Config) { c.Rules.NetworkPolicy.DNS.Mode = config.ModeOff },
			indexed: []*networkingv1.NetworkPolicy{kyverno}, want: ruletest.Allowed()},
		{name: "dns enforce: denied", upstream: "rules.networkPolicy.dns.mode: enforce",
			edit:    func(c *config.Config) { c.Rules.NetworkPolicy.DNS.Mode = config.ModeEnforce },
			indexed: []*networkingv1.NetworkPolicy{egressNP("deny")},
			want: ruletest.Denied("eksguard denied this Pod: [networkPolicy] metadata.labels: Pod web-1 has no DNS path (UDP 53): " +
				"no egress rule of NetworkPolicy shop/deny allows port 53 to the cluster's DNS; add the NetworkPolicy " + fmt.Sprintf(fix, "{}", "[Egress]"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := &liveReader{}
			for _, np := range tt.indexed {
				live.policies = append(live.policies, *np)
			}
			checker := newTestChecker(ruletest.CompilePolicy(t, tt.edit), tt.indexed, live)
			req := admissionRequest(admissionv1.Create, podKind, "shop", "web-1", podJSON(t, "web-1", map[string]string{"app": "web"}, nil), nil)
			answer := NewPodHandler(checker).Answer(context.Background(), req)
			if tt.want.Code != 0 {
				ruletest.CheckAnswer(t, answer.Response(), tt.want)
			}
			if tt.wantDetail != "" {
				var details []string
				for _, f := range answer.Findings {
					details = append(details, f.Detail)
				}
				if len(details) != 1 || details[0] != tt.wantDetail {
					t.Errorf("%s: details\n got %q\nwant %q", tt.upstream, details, tt.wantDetail)
				}
			}
		})
	}
}

// TestDNSDifferential holds CheckDNS to a brute-force reading of the
// NetworkPolicy API over generated policies: it sends a UDP and a TCP
// packet to each port of the CoreDNS pod, through every rule of every
// policy, with the API's own rules (SetDefaults for types and protocol,
// named ports resolved against the pod's container ports, peers from the
// type docs, ipBlock by address arithmetic over the resolver addresses a
// cluster may have).
func TestDNSDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 53))
	target := kubeDNS()
	pods := []labels.Set{{"app": "web"}, {"app": "db"}, {"app": "web", "tier": "fe"}}
	for world := 0; world < 400; world++ {
		var nps []*networkingv1.NetworkPolicy
		for i := 0; i < 1+rng.IntN(3); i++ {
			nps = append(nps, randomNP(rng, i))
		}
		strictMode := rng.IntN(4) == 0
		objs := make([]runtime.Object, len(nps))
		for i := range nps {
			objs[i] = nps[i]
		}
		compiled := mustCompile(t, objs...)
		for _, podLabels := range pods {
			pod := &Pod{Namespace: "shop", NamespaceLabels: labels.Set{corev1.LabelMetadataName: "shop"}, Labels: podLabels, ServiceAccount: "default"}
			want := Want{Coverage: config.CoverageAny}
			if strictMode {
				want.Declared, want.ByAgent = Isolation{Ingress: true, Egress: true}, true
			}
			got := CheckDNS(pod, compiled, want, target, nil)
			udp, tcp := bruteForceDNS(nps, podLabels, strictMode)
			if got.UDP != udp || got.TCP != tcp {
				t.Fatalf("world %d pod %v strict=%v: CheckDNS udp=%v tcp=%v, brute force %v %v; policies:\n%s",
					world, podLabels, strictMode, got.UDP, got.TCP, udp, tcp, describeNPs(nps))
			}
		}
	}
}

func randomNP(rng *rand.Rand, i int) *networkingv1.NetworkPolicy {
	selectors := []metav1.LabelSelector{{}, {MatchLabels: map[string]string{"app": "web"}}, {MatchLabels: map[string]string{"tier": "fe"}}}
	np := netpolObject("shop", fmt.Sprintf("np-%d", i), selectors[rng.IntN(len(selectors))])
	switch rng.IntN(4) {
	case 0:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	case 1:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	case 2:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	default:
		np.Spec.PolicyTypes = nil // defaulted from the rules
	}
	portChoices := []func() networkingv1.NetworkPolicyPort{
		func() networkingv1.NetworkPolicyPort { return port(corev1.ProtocolUDP, intstr.FromInt32(53)) },
		func() networkingv1.NetworkPolicyPort { return port(corev1.ProtocolTCP, intstr.FromInt32(53)) },
		func() networkingv1.NetworkPolicyPort { return port("", intstr.FromInt32(53)) },
		func() networkingv1.NetworkPolicyPort { return port(corev1.ProtocolUDP, intstr.FromInt32(443)) },
		func() networkingv1.NetworkPolicyPort { return port(corev1.ProtocolUDP, intstr.FromString("dns")) },
		func() networkingv1.NetworkPolicyPort { return port("", intstr.FromString("dns")) },
		func() networkingv1.NetworkPolicyPort { return port(corev1.ProtocolTCP, intstr.FromString("dns-tcp")) },
		func() networkingv1.NetworkPolicyPort {
			return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromInt32(50)), EndPort: ptr.To[int32](60)}
		},
		func() networkingv1.NetworkPolicyPort {
			return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolUDP)}
		},
	}
	nsSelectors := []*metav1.LabelSelector{nil, {}, {MatchLabels: map[string]string{corev1.LabelMetadataName: "kube-system"}},
		{MatchLabels: map[string]string{"name": "kube-system"}}, {MatchLabels: map[string]string{corev1.LabelMetadataName: "shop"}}}
	podSelectors := []*metav1.LabelSelector{nil, {}, {MatchLabels: map[string]string{"k8s-app": "kube-dns"}}, {MatchLabels: map[string]string{"app": "web"}}}
	cidrs := []networkingv1.IPBlock{{CIDR: "0.0.0.0/0"}, {CIDR: "::/0"}, {CIDR: "0.0.0.0/0", Except: []string{"10.100.0.0/16"}}, {CIDR: "10.0.0.0/8"}}
	for r := 0; r < rng.IntN(3); r++ {
		var rule networkingv1.NetworkPolicyEgressRule
		for p := 0; p < rng.IntN(3); p++ {
			rule.Ports = append(rule.Ports, portChoices[rng.IntN(len(portChoices))]())
		}
		for p := 0; p < rng.IntN(3); p++ {
			if rng.IntN(4) == 0 {
				block := cidrs[rng.IntN(len(cidrs))]
				rule.To = append(rule.To, networkingv1.NetworkPolicyPeer{IPBlock: &block})
				continue
			}
			peer := networkingv1.NetworkPolicyPeer{NamespaceSelector: nsSelectors[rng.IntN(len(nsSelectors))], PodSelector: podSelectors[rng.IntN(len(podSelectors))]}
			if peer.NamespaceSelector == nil && peer.PodSelector == nil {
				peer.PodSelector = &metav1.LabelSelector{}
			}
			rule.To = append(rule.To, peer)
		}
		np.Spec.Egress = append(np.Spec.Egress, rule)
	}
	return np
}

// coreDNSPorts are the CoreDNS add-on's container ports.
var coreDNSPorts = []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
	{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP}, {Name: "metrics", ContainerPort: 9153, Protocol: corev1.ProtocolTCP}}

// bruteForceDNS: can pod podLabels in shop send DNS over UDP and TCP to
// the CoreDNS pod (kube-system, k8s-app=kube-dns, resolved through an
// address eksguard cannot know: a peer's ipBlock counts when it holds one
// of the addresses EKS gives the kube-dns Service, or is a /0)?
func bruteForceDNS(nps []*networkingv1.NetworkPolicy, podLabels labels.Set, strictMode bool) (udp, tcp bool) {
	send := func(proto corev1.Protocol) bool {
		selected, isolated := false, false
		for _, np := range nps {
			sel, _ := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if !sel.Matches(podLabels) {
				continue
			}
			selected = true
			types := np.Spec.PolicyTypes
			if len(types) == 0 {
				types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
				if len(np.Spec.Egress) > 0 {
					types = append(types, networkingv1.PolicyTypeEgress)
				}
			}
			egress := false
			for _, ty := range types {
				egress = egress || ty == networkingv1.PolicyTypeEgress
			}
			if !egress {
				continue
			}
			isolated = true
			for _, rule := range np.Spec.Egress {
				if bruteRuleAllows(rule, proto) {
					return true
				}
			}
		}
		if isolated {
			return false
		}
		return !strictMode || selected
	}
	return send(corev1.ProtocolUDP), send(corev1.ProtocolTCP)
}

func bruteRuleAllows(rule networkingv1.NetworkPolicyEgressRule, proto corev1.Protocol) bool {
	portOK := len(rule.Ports) == 0
	for _, p := range rule.Ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		if p.Port == nil {
			portOK = true
			continue
		}
		for _, cp := range coreDNSPorts {
			if cp.Protocol != proto || cp.ContainerPort != 53 {
				continue
			}
			switch {
			case p.Port.Type == intstr.String:
				portOK = portOK || p.Port.StrVal == cp.Name
			case p.EndPort != nil:
				portOK = portOK || (p.Port.IntVal <= cp.ContainerPort && cp.ContainerPort <= *p.EndPort)
			default:
				portOK = portOK || p.Port.IntVal == cp.ContainerPort
			}
		}
	}
	if !portOK {
		return false
	}
	if len(rule.To) == 0 {
		return true
	}
	kubeSystem := labels.Set{corev1.LabelMetadataName: "kube-system"}
	dnsPod := labels.Set{"k8s-app": "kube-dns"}
	for _, peer := range rule.To {
		if peer.IPBlock != nil {
			_, block, _ := net.ParseCIDR(peer.IPBlock.CIDR)
			for _, addr := range []string{"10.100.0.10", "172.20.0.10", "fd00::a"} {
				ip := net.ParseIP(addr)
				in := block.Contains(ip)
				for _, ex := range peer.IPBlock.Except {
					if _, e, _ := net.ParseCIDR(ex); e.Contains(ip) {
						in = false
					}
				}
				if in {
					return true
				}
			}
			continue
		}
		nsOK := peer.NamespaceSelector == nil && false // the policy's own namespace is shop, never kube-system
		if peer.NamespaceSelector != nil {
			s, _ := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
			nsOK = s.Matches(kubeSystem)
		}
		podOK := true
		if peer.PodSelector != nil {
			s, _ := metav1.LabelSelectorAsSelector(peer.PodSelector)
			podOK = s.Matches(dnsPod)
		}
		if nsOK && podOK {
			return true
		}
	}
	return false
}

func describeNPs(nps []*networkingv1.NetworkPolicy) string {
	var b strings.Builder
	for _, np := range nps {
		fmt.Fprintf(&b, "  %s selector=%v types=%v egress=%+v\n", np.Name, np.Spec.PodSelector.MatchLabels, np.Spec.PolicyTypes, np.Spec.Egress)
	}
	return b.String()
}

// TestDNSSummariesShared: NetworkPolicies with the same DNS rules share one
// summary and one cached copy of the rules (the boilerplate DNS allow would
// otherwise cost more than the rest of each cached policy); others do not.
func TestDNSSummariesShared(t *testing.T) {
	rule := networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS}, Ports: dns53}
	a := egressNP("a", rule)
	b := egressNP("b", rule)
	b.Namespace = "other"
	c := egressNP("c", networkingv1.NetworkPolicyEgressRule{Ports: dns53})
	trimmed := func(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
		o, err := TrimNetworkPolicy(np)
		if err != nil {
			t.Fatal(err)
		}
		return o.(*networkingv1.NetworkPolicy)
	}
	ta, tb, tc := trimmed(a), trimmed(b), trimmed(c)
	if &ta.Spec.Egress[0] != &tb.Spec.Egress[0] {
		t.Error("equal DNS rules are cached twice")
	}
	if &ta.Spec.Egress[0] == &tc.Spec.Egress[0] {
		t.Error("different DNS rules share a cached copy")
	}
	ca, cb, cc := mustCompile(t, ta)[0], mustCompile(t, tb)[0], mustCompile(t, tc)[0]
	if ca.dns != cb.dns || ca.dns == cc.dns {
		t.Errorf("summaries: a %p, b %p, c %p: want a and b shared, c its own", ca.dns, cb.dns, cc.dns)
	}
	goruntime.KeepAlive([]any{ta, tb, tc})
}

// TestInternTableForgets: an interned value no one holds is collected and
// its entry removed, so the table does not grow with policy churn.
func TestInternTableForgets(t *testing.T) {
	var table internTable[dnsPolicy]
	func() { // the values are unreachable once this returns
		v, _ := table.intern("k", func() (*dnsPolicy, error) { return &dnsPolicy{priority: 7}, nil })
		again, _ := table.intern("k", func() (*dnsPolicy, error) { return &dnsPolicy{}, nil })
		if again != v {
			t.Fatal("an equal key made a second value")
		}
	}()
	for i := 0; i < 50 && table.len() > 0; i++ {
		goruntime.GC()
		time.Sleep(time.Millisecond)
	}
	if n := table.len(); n != 0 {
		t.Errorf("%d entries left after their value was collected", n)
	}
}

// TestDNSConfirmationReused: in a namespace whose DNS is blocked, the first
// warning is confirmed by a live read and the next admissions trust the
// index until the namespace's policies change.
func TestDNSConfirmationReused(t *testing.T) {
	deny := egressNP("deny")
	live := &liveReader{policies: []networkingv1.NetworkPolicy{*deny}}
	checker := newTestChecker(ruletest.CompilePolicy(t, nil), []*networkingv1.NetworkPolicy{deny}, live)
	admit := func(name string) {
		t.Helper()
		req := admissionRequest(admissionv1.Create, podKind, "shop", name, podJSON(t, name, map[string]string{"app": "web"}, nil), nil)
		if a := NewPodHandler(checker).Answer(context.Background(), req); len(a.Findings) != 1 || !strings.Contains(a.Findings[0].Detail, "has no DNS path") {
			t.Fatalf("%s: findings %+v, want the DNS warning", name, a.Findings)
		}
	}
	admit("web-1")
	admit("web-2")
	admit("web-3")
	if n := len(live.lists); n != 1 {
		t.Errorf("%d live lists for three admissions in an unchanged namespace, want 1", n)
	}
	// A change to the namespace's policies ends the confirmation.
	other := netpolObject("shop", "db", metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, networkingv1.PolicyTypeIngress)
	checker.Index.OnAdd(other, true)
	live.policies = append(live.policies, *other)
	admit("web-4")
	if n := len(live.lists); n != 2 {
		t.Errorf("%d live lists after the namespace changed, want 2", n)
	}
}
