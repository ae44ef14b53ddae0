package netpol

import (
	"reflect"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/eksguard/eksguard/config"
)

// object builds a stored object of a custom kind.
func object(kind *PolicyKind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetGroupVersionKind(kind.GVK)
	u.SetNamespace(namespace)
	u.SetName(name)
	u.SetUID(uid(namespace, name))
	u.SetResourceVersion("1")
	return u
}

func selector(matchLabels map[string]any) map[string]any {
	return map[string]any{"matchLabels": matchLabels}
}

func list(items ...any) []any { return items }

// webPod is app=web in namespace shop (labels team=a, name label set).
func webPod() *Pod {
	return &Pod{
		Namespace:       "shop",
		NamespaceLabels: labels.Set{"kubernetes.io/metadata.name": "shop", "team": "a"},
		Labels:          labels.Set{"app": "web"},
		ServiceAccount:  "default",
	}
}

// TestSourceIsolation compiles one object of each kind and asks what it
// isolates for webPod. Each case names the upstream rule it encodes.
func TestSourceIsolation(t *testing.T) {
	allIngress := map[string]any{"namespaces": map[string]any{}}
	everywhere := map[string]any{"networks": list("0.0.0.0/0", "::/0")}
	shopSubject := map[string]any{"namespaces": selector(map[string]any{"team": "a"})}
	runSourceCases(t, []sourceCase{
		// ApplicationNetworkPolicy (aws-network-policy-agent deriveDefaultPodIsolation;
		// controller pkg/policyendpoints/manager.go copies policyTypes verbatim).
		{name: "ANP: listed type isolates", upstream: "deriveDefaultPodIsolation: d in podIsolation",
			obj:  object(KindApplicationNetworkPolicy, "shop", "a", map[string]any{"podSelector": map[string]any{}, "policyTypes": list("Egress")}),
			want: Isolation{Egress: true}},
		{name: "ANP: no types, no rules isolates nothing (no defaulting)", upstream: "ANP CRD has no default; manager.go copies policyTypes",
			obj: object(KindApplicationNetworkPolicy, "shop", "a", map[string]any{"podSelector": map[string]any{}})},
		{name: "ANP: rules isolate their direction", upstream: "deriveDefaultPodIsolation: d has resolved rules",
			obj:  object(KindApplicationNetworkPolicy, "shop", "a", map[string]any{"podSelector": map[string]any{}, "ingress": list(map[string]any{})}),
			want: Isolation{Ingress: true}},
		{name: "ANP: other namespace selects nothing", upstream: "applicationnetworkpolicy_resolver.go: podSelector scoped to the policy's namespace",
			obj: object(KindApplicationNetworkPolicy, "other", "a", map[string]any{"podSelector": map[string]any{}, "policyTypes": list("Ingress")})},

		// EKS ClusterNetworkPolicy (tc.v4egress.bpf.c evaluateFlow: only a matching Deny drops).
		{name: "AWS CNP: Baseline Deny from all namespaces isolates ingress", upstream: "evaluateFlow baseline tier Deny",
			obj: object(KindAWSClusterNetworkPolicy, "", "b", map[string]any{"tier": "Baseline", "subject": shopSubject,
				"ingress": list(map[string]any{"action": "Deny", "from": list(allIngress)})}),
			want: Isolation{Ingress: true}},
		{name: "AWS CNP: Accept rules alone isolate nothing", upstream: "api-overview.md: no implicit isolation",
			obj: object(KindAWSClusterNetworkPolicy, "", "b", map[string]any{"tier": "Admin", "subject": shopSubject,
				"ingress": list(map[string]any{"action": "Accept", "from": list(allIngress)})})},
		{name: "AWS CNP: Deny on some ports is no catch-all", upstream: "evaluateFlow matches ports before Deny",
			obj: object(KindAWSClusterNetworkPolicy, "", "b", map[string]any{"tier": "Admin", "subject": shopSubject,
				"ingress": list(map[string]any{"action": "Deny", "from": list(allIngress),
					"ports": list(map[string]any{"portNumber": map[string]any{"protocol": "TCP", "port": int64(80)}})})})},
		{name: "AWS CNP: Deny from one namespace is no catch-all", upstream: "practical coverage rule: peer namespaces: {}",
			obj: object(KindAWSClusterNetworkPolicy, "", "b", map[string]any{"tier": "Admin", "subject": shopSubject,
				"ingress": list(map[string]any{"action": "Deny", "from": list(map[string]any{"namespaces": selector(map[string]any{"team": "b"})})})})},
		{name: "AWS CNP: egress Deny to 0.0.0.0/0 and ::/0 isolates egress", upstream: "v1alpha2 egress peer networks: cluster traffic is checked too",
			obj: object(KindAWSClusterNetworkPolicy, "", "b", map[string]any{"tier": "Admin", "subject": shopSubject,
				"egress": list(map[string]any{"action": "Deny", "to": list(everywhere)})}),
			want: Isolation{Egress: true}},
		{name: "AWS CNP: egress Deny to 0.0.0.0/0 only leaves IPv6", upstream: "practical coverage rule: 0.0.0.0/0 and ::/0",
			obj: object(KindAWSClusterNetworkPolicy, "", "b", map[string]any{"tier": "Admin", "subject": shopSubject,
				"egress": list(map[string]any{"action": "Deny", "to": list(map[string]any{"networks": list("0.0.0.0/0")})})})},
		{name: "AWS CNP: egress Deny to all namespaces leaves the outside", upstream: "egress leaves the cluster",
			obj: object(KindAWSClusterNetworkPolicy, "", "b", map[string]any{"tier": "Admin", "subject": shopSubject,
				"egress": list(map[string]any{"action": "Deny", "to": list(allIngress)})})},
		{name: "AWS CNP: subject by other namespace labels", upstream: "subject.namespaces matches namespace labels",
			obj: object(KindAWSClusterNetworkPolicy, "", "b", map[string]any{"tier": "Admin",
				"subject": map[string]any{"namespaces": selector(map[string]any{"team": "b"})},
				"ingress": list(map[string]any{"action": "Deny", "from": list(allIngress)})})},
		{name: "AWS CNP: subject pods ANDs namespace and pod selectors", upstream: "subject.pods: both required, ANDed",
			obj: object(KindAWSClusterNetworkPolicy, "", "b", map[string]any{"tier": "Admin",
				"subject": map[string]any{"pods": map[string]any{"namespaceSelector": map[string]any{}, "podSelector": selector(map[string]any{"app": "web"})}},
				"ingress": list(map[string]any{"action": "Deny", "from": list(map[string]any{"pods": map[string]any{"namespaceSelector": map[string]any{}, "podSelector": map[string]any{}}})})}),
			want: Isolation{Ingress: true}},

		// SIG Network ClusterNetworkPolicy v1alpha2: the same rule, typed API.
		{name: "SIG CNP: Admin Deny from all namespaces", upstream: "network-policy-api v1alpha2 ClusterNetworkPolicyIngressRule Deny",
			obj: object(KindClusterNetworkPolicy, "", "c", map[string]any{"tier": "Admin", "priority": int64(1), "subject": shopSubject,
				"ingress": list(map[string]any{"action": "Deny", "from": list(allIngress)})}),
			want: Isolation{Ingress: true}},
		{name: "SIG CNP: Deny limited by protocols is no catch-all", upstream: "v1alpha2 rule protocols",
			obj: object(KindClusterNetworkPolicy, "", "c", map[string]any{"tier": "Admin", "priority": int64(1), "subject": shopSubject,
				"ingress": list(map[string]any{"action": "Deny", "from": list(allIngress),
					"protocols": list(map[string]any{"tcp": map[string]any{"destinationPort": map[string]any{"number": int64(80)}}})})})},
		{name: "SIG CNP: Pass isolates nothing", upstream: "v1alpha2 Pass delegates to the NetworkPolicy tier",
			obj: object(KindClusterNetworkPolicy, "", "c", map[string]any{"tier": "Admin", "priority": int64(1), "subject": shopSubject,
				"ingress": list(map[string]any{"action": "Pass", "from": list(allIngress)})})},

		// Cilium (pkg/policy/api/rule.go, pkg/k8s/apis/cilium.io/utils ParseToCiliumRule).
		{name: "CNP: {} selects the policy's namespace, ingress rules isolate ingress", upstream: "ParseToCiliumRule adds the namespace match",
			obj:  object(KindCiliumNetworkPolicy, "shop", "d", map[string]any{"endpointSelector": map[string]any{}, "ingress": list(map[string]any{})}),
			want: Isolation{Ingress: true}},
		{name: "CNP: other namespace", upstream: "ParseToCiliumRule adds the namespace match",
			obj: object(KindCiliumNetworkPolicy, "other", "d", map[string]any{"endpointSelector": map[string]any{}, "ingress": list(map[string]any{})})},
		{name: "CNP: k8s: prefix stripped", upstream: "NewESFromK8sLabelSelector source prefixes",
			obj:  object(KindCiliumNetworkPolicy, "shop", "d", map[string]any{"endpointSelector": selector(map[string]any{"k8s:app": "web"}), "egressDeny": list(map[string]any{})}),
			want: Isolation{Egress: true}},
		{name: "CNP: reserved: key never matches a pod", upstream: "reserved labels are not pod labels",
			obj: object(KindCiliumNetworkPolicy, "shop", "d", map[string]any{"endpointSelector": selector(map[string]any{"reserved:host": ""}), "ingress": list(map[string]any{})})},
		{name: "CNP: enableDefaultDeny false keeps the direction open", upstream: "rule.go EnableDefaultDeny",
			obj: object(KindCiliumNetworkPolicy, "shop", "d", map[string]any{"endpointSelector": map[string]any{}, "ingress": list(map[string]any{}),
				"enableDefaultDeny": map[string]any{"ingress": false}})},
		{name: "CNP: enableDefaultDeny true isolates a direction without rules", upstream: "Sanitize keeps an explicit EnableDefaultDeny",
			obj: object(KindCiliumNetworkPolicy, "shop", "d", map[string]any{"endpointSelector": map[string]any{}, "ingress": list(map[string]any{}),
				"enableDefaultDeny": map[string]any{"egress": true}}),
			want: Isolation{Ingress: true, Egress: true}},
		{name: "CNP: a rule with no direction is invalid", upstream: "CFP #35558: Valid=False",
			obj: object(KindCiliumNetworkPolicy, "shop", "d", map[string]any{"endpointSelector": map[string]any{}, "enableDefaultDeny": map[string]any{"ingress": true}})},
		{name: "CNP: specs entries count", upstream: "CiliumNetworkPolicy spec and specs",
			obj: &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
				"metadata": map[string]any{"namespace": "shop", "name": "d"},
				"specs": list(
					map[string]any{"endpointSelector": selector(map[string]any{"app": "db"}), "ingress": list(map[string]any{})},
					map[string]any{"endpointSelector": selector(map[string]any{"app": "web"}), "egress": list(map[string]any{})}),
			}},
			want: Isolation{Egress: true}},
		{name: "CNP: service account key", upstream: "io.cilium.k8s.policy.serviceaccount",
			obj:  object(KindCiliumNetworkPolicy, "shop", "d", map[string]any{"endpointSelector": selector(map[string]any{"io.cilium.k8s.policy.serviceaccount": "web-sa"}), "ingress": list(map[string]any{})}),
			pod:  func(p *Pod) { p.ServiceAccount = "web-sa" },
			want: Isolation{Ingress: true}},
		{name: "CNP: node selector rules select nodes, not pods", upstream: "rule.go NodeSelector (host firewall)",
			obj: object(KindCiliumClusterwideNetworkPolicy, "", "e", map[string]any{"nodeSelector": map[string]any{}, "ingress": list(map[string]any{})})},
		{name: "CCNP: {} selects every namespace", upstream: "CCNP endpointSelector without a namespace match",
			obj:  object(KindCiliumClusterwideNetworkPolicy, "", "e", map[string]any{"endpointSelector": map[string]any{}, "egress": list(map[string]any{})}),
			want: Isolation{Egress: true}},
		{name: "CCNP: namespace key is the namespace name", upstream: "io.kubernetes.pod.namespace",
			obj: object(KindCiliumClusterwideNetworkPolicy, "", "e", map[string]any{"endpointSelector": selector(map[string]any{"k8s:io.kubernetes.pod.namespace": "other"}),
				"ingress": list(map[string]any{})})},
		{name: "CCNP: namespace label key", upstream: "io.cilium.k8s.namespace.labels.<key>",
			obj: object(KindCiliumClusterwideNetworkPolicy, "", "e", map[string]any{"endpointSelector": selector(map[string]any{"io.cilium.k8s.namespace.labels.team": "a"}),
				"ingress": list(map[string]any{})}),
			want: Isolation{Ingress: true}},
	})
}

// sourceCase is one object of a kind, compiled, and what it isolates for
// webPod (changed by pod) under the Calico tiers given.
type sourceCase struct {
	name     string
	upstream string
	obj      runtime.Object
	tiers    []*unstructured.Unstructured
	pod      func(*Pod)
	want     Isolation
	// wantKey is the label key of an uncounted, uncertain selection.
	wantKey string
}

func runSourceCases(t *testing.T, cases []sourceCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.obj)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			pod := webPod()
			if tt.pod != nil {
				tt.pod(pod)
			}
			var tiers *Tiers
			if tt.tiers != nil {
				tiers = TiersFrom(tt.tiers)
			}
			got := CheckCoverage(pod, []*Compiled{p}, Want{Coverage: config.CoverageBoth}, tiers)
			if got.Isolation != tt.want {
				t.Errorf("%s: isolation %+v, want %+v", tt.upstream, got.Isolation, tt.want)
			}
			var key string
			if got.Uncertain != nil {
				key = got.Uncertain.Key
			}
			if key != tt.wantKey {
				t.Errorf("%s: uncertain key %q, want %q", tt.upstream, key, tt.wantKey)
			}
		})
	}
}

// TestPolicyStrings: messages name the kind (unique across groups), the
// object and the tier.
func TestPolicyStrings(t *testing.T) {
	tests := []struct {
		obj  runtime.Object
		want string
	}{
		{object(KindApplicationNetworkPolicy, "demo", "web-egress", map[string]any{"podSelector": map[string]any{}}), "ApplicationNetworkPolicy demo/web-egress"},
		{object(KindAWSClusterNetworkPolicy, "", "base", map[string]any{"tier": "Baseline", "subject": map[string]any{"namespaces": map[string]any{}}}),
			"ClusterNetworkPolicy.networking.k8s.aws base (Baseline tier)"},
		{object(KindClusterNetworkPolicy, "", "adm", map[string]any{"tier": "Admin", "priority": int64(1), "subject": map[string]any{"namespaces": map[string]any{}}}),
			"ClusterNetworkPolicy.policy.networking.k8s.io adm (Admin tier)"},
		{object(KindCiliumClusterwideNetworkPolicy, "", "c", map[string]any{}), "CiliumClusterwideNetworkPolicy c"},
	}
	for _, tt := range tests {
		p, err := Compile(tt.obj)
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		if got := p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// TestCompileRejects: objects of kinds eksguard never counts, and
// selectors that do not parse.
func TestCompileRejects(t *testing.T) {
	pe := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "networking.k8s.aws/v1alpha1", "kind": "PolicyEndpoint"}}
	staged := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "projectcalico.org/v3", "kind": "StagedNetworkPolicy"}}
	antrea := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "crd.antrea.io/v1beta1", "kind": "ClusterNetworkPolicy"}}
	bad := object(KindApplicationNetworkPolicy, "shop", "x", map[string]any{"podSelector": map[string]any{
		"matchExpressions": list(map[string]any{"key": "app", "operator": "In"})}})
	for _, obj := range []runtime.Object{pe, staged, antrea, bad} {
		if _, err := Compile(obj); err == nil {
			t.Errorf("Compile(%s) succeeded, want an error", obj.GetObjectKind().GroupVersionKind())
		}
	}
}

// TestTrimNetworkPolicy: the cached NetworkPolicy keeps what
// compileNetworkPolicy reads, so it compiles to the same selection as the
// whole object (SetDefaults_NetworkPolicy's policyTypes included), and
// drops the rest.
func TestTrimNetworkPolicy(t *testing.T) {
	meta := metav1.ObjectMeta{Namespace: "shop", Name: "p", UID: "u1", ResourceVersion: "7",
		Labels:        map[string]string{"app.kubernetes.io/managed-by": "kubectl"},
		Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"big":"copy"}`},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}
	selector := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}}}}
	// rule can carry DNS (every port, to a network that may hold the
	// resolver): the DNS step keeps it. https cannot: it goes.
	rule := networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}}}
	https := networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(443))}}}
	dnsRules := []networkingv1.NetworkPolicyEgressRule{rule}
	for _, tt := range []struct {
		name       string
		spec       networkingv1.NetworkPolicySpec
		wantTypes  []networkingv1.PolicyType
		wantEgress []networkingv1.NetworkPolicyEgressRule
	}{
		{"both types listed", networkingv1.NetworkPolicySpec{PodSelector: selector, Egress: []networkingv1.NetworkPolicyEgressRule{rule, https},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress}},
			[]networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, dnsRules},
		{"SetDefaults_NetworkPolicy: no types and egress rules", networkingv1.NetworkPolicySpec{PodSelector: selector,
			Egress: []networkingv1.NetworkPolicyEgressRule{https, rule}}, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, dnsRules},
		{"SetDefaults_NetworkPolicy: no types, no rules", networkingv1.NetworkPolicySpec{PodSelector: selector},
			[]networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, nil},
		{"Egress only, with rules", networkingv1.NetworkPolicySpec{PodSelector: selector, Egress: []networkingv1.NetworkPolicyEgressRule{rule},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, dnsRules},
		{"Ingress only: egress rules are never read", networkingv1.NetworkPolicySpec{PodSelector: selector, Egress: []networkingv1.NetworkPolicyEgressRule{rule},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			np := &networkingv1.NetworkPolicy{ObjectMeta: meta, Spec: tt.spec}
			got, err := TrimNetworkPolicy(np.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			want := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "p", UID: "u1", ResourceVersion: "7"},
				Spec: networkingv1.NetworkPolicySpec{PodSelector: selector, PolicyTypes: tt.wantTypes, Egress: tt.wantEgress}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("trimmed:\n got %+v\nwant %+v", got, want)
			}
			full, _ := Compile(np)
			slim, _ := Compile(got.(*networkingv1.NetworkPolicy))
			if !reflect.DeepEqual(full, slim) {
				t.Errorf("compiled differently:\n got %+v\nwant %+v", slim, full)
			}
		})
	}
}

// TestTrimNetworkPolicyCompactsMatchLabels: the cached selector writes
// matchLabels as single-value In expressions, and selects the same pods.
func TestTrimNetworkPolicyCompactsMatchLabels(t *testing.T) {
	np := netpolObject("shop", "web", metav1.LabelSelector{
		MatchLabels:      map[string]string{"app": "web", "team": "a"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"db"}}},
	}, networkingv1.PolicyTypeIngress)
	got, err := TrimNetworkPolicy(np.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	want := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}},
		{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: []string{"a"}},
		{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"db"}},
	}}
	if sel := got.(*networkingv1.NetworkPolicy).Spec.PodSelector; !reflect.DeepEqual(sel, want) {
		t.Fatalf("selector %+v, want %+v", sel, want)
	}
	for _, pod := range []labels.Set{{"app": "web", "team": "a"}, {"app": "web", "team": "a", "tier": "db"}, {"app": "web"}, {"team": "a", "app": "api"}} {
		full, slim := covers(mustCompile(t, np), pod, config.CoverageAny), covers(mustCompile(t, got.(*networkingv1.NetworkPolicy)), pod, config.CoverageAny)
		if full != slim {
			t.Errorf("pod %v: the whole policy covers it %v, the cached one %v", pod, full, slim)
		}
	}
}
