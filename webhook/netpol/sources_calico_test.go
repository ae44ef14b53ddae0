package netpol

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func calicoNP(namespace string, spec map[string]any) *unstructured.Unstructured {
	return object(KindCalicoNetworkPolicy, namespace, "np", spec)
}

func calicoGNP(spec map[string]any) *unstructured.Unstructured {
	return object(KindCalicoGlobalNetworkPolicy, "", "gnp", spec)
}

func tier(name, action string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"defaultAction": action}}}
	u.SetGroupVersionKind(CalicoTierGVK)
	u.SetName(name)
	return u
}

// TestCalicoIsolation compiles Calico policies and asks what they isolate
// for webPod (app=web in shop, namespace labels team=a, service account
// default), under the tiers given. Each case names the Calico rule it
// encodes.
func TestCalicoIsolation(t *testing.T) {
	deny := map[string]any{"action": "Deny"}
	allow := map[string]any{"action": "Allow"}
	pass := map[string]any{"action": "Pass"}
	fromWeb := map[string]any{"action": "Allow", "source": map[string]any{"selector": "app == 'api'"}}
	runSourceCases(t, []sourceCase{
		// Selection (docs reference/resources/networkpolicy.mdx, globalnetworkpolicy.mdx).
		{name: "NP: empty selector is all() in its namespace", upstream: "networkpolicy.mdx: selector default all()",
			obj: calicoNP("shop", map[string]any{"types": []any{"Ingress"}}), want: Isolation{Ingress: true}},
		{name: "NP: another namespace's policy", upstream: "NetworkPolicy selects workloads of its namespace",
			obj: calicoNP("other", map[string]any{"types": []any{"Ingress"}})},
		{name: "NP: selector on the pod's labels", upstream: "selector: app == 'web'",
			obj: calicoNP("shop", map[string]any{"selector": "app == 'web'", "types": []any{"Egress"}}), want: Isolation{Egress: true}},
		{name: "NP: != is true when the label is absent", upstream: "ast.go LabelNeNode",
			obj: calicoNP("shop", map[string]any{"selector": "tier != 'db'", "types": []any{"Ingress"}}), want: Isolation{Ingress: true}},
		{name: "NP: selector that does not match", upstream: "selector: app == 'db'",
			obj: calicoNP("shop", map[string]any{"selector": "app == 'db'", "types": []any{"Ingress"}})},
		{name: "NP: automatic namespace label", upstream: "calico-labels.mdx projectcalico.org/namespace",
			obj: calicoNP("shop", map[string]any{"selector": "projectcalico.org/namespace == 'shop' && projectcalico.org/orchestrator == 'k8s'",
				"types": []any{"Ingress"}}), want: Isolation{Ingress: true}},
		{name: "NP: automatic service account label", upstream: "workload_endpoint_default.go projectcalico.org/serviceaccount",
			obj: calicoNP("shop", map[string]any{"selector": "projectcalico.org/serviceaccount == 'default'", "types": []any{"Ingress"}}), want: Isolation{Ingress: true}},
		{name: "NP: serviceAccountSelector on the name", upstream: "serviceAccountSelector: projectcalico.org/name",
			obj: calicoNP("shop", map[string]any{"serviceAccountSelector": "projectcalico.org/name == 'default'", "types": []any{"Ingress"}}), want: Isolation{Ingress: true}},
		{name: "NP: serviceAccountSelector on another name", upstream: "serviceAccountSelector: projectcalico.org/name",
			obj: calicoNP("shop", map[string]any{"serviceAccountSelector": "projectcalico.org/name == 'api'", "types": []any{"Ingress"}})},
		{name: "NP: serviceAccountSelector on labels is not counted", upstream: "serviceAccountSelector reads ServiceAccount labels",
			obj: calicoNP("shop", map[string]any{"serviceAccountSelector": "role == 'frontend'", "types": []any{"Ingress"}}), wantKey: calicoServiceAccountKeys},
		{name: "NP: a hash label's value is unknown", upstream: "pod-template-hash set by the Deployment controller",
			obj: calicoNP("shop", map[string]any{"selector": "pod-template-hash == 'abc'", "types": []any{"Ingress"}}),
			pod: func(p *Pod) { p.Unknown = map[string]string{"pod-template-hash": "hash"} }, wantKey: "pod-template-hash"},
		{name: "NP: has() of a hash label is known", upstream: "ast.go LabelHasNode",
			obj: calicoNP("shop", map[string]any{"selector": "has(pod-template-hash)", "types": []any{"Ingress"}}),
			pod: func(p *Pod) { p.Unknown = map[string]string{"pod-template-hash": "hash"} }, want: Isolation{Ingress: true}},
		{name: "GNP: all() selects every namespace", upstream: "globalnetworkpolicy.mdx",
			obj: calicoGNP(map[string]any{"selector": "all()", "types": []any{"Ingress", "Egress"}}), want: Isolation{Ingress: true, Egress: true}},
		{name: "GNP: namespaceSelector on labels", upstream: "globalnetworkpolicy.mdx namespaceSelector",
			obj: calicoGNP(map[string]any{"namespaceSelector": "team == 'a'", "types": []any{"Ingress"}}), want: Isolation{Ingress: true}},
		{name: "GNP: namespaceSelector on the name", upstream: "projectcalico.org/name is the namespace's name",
			obj: calicoGNP(map[string]any{"namespaceSelector": "projectcalico.org/name in {'shop', 'web'}", "types": []any{"Ingress"}}), want: Isolation{Ingress: true}},
		{name: "GNP: namespaceSelector that does not match", upstream: "globalnetworkpolicy.mdx namespaceSelector",
			obj: calicoGNP(map[string]any{"namespaceSelector": "team == 'b'", "types": []any{"Ingress"}})},
		{name: "GNP: doNotTrack applies to host endpoints only", upstream: "globalnetworkpolicy.mdx doNotTrack",
			obj: calicoGNP(map[string]any{"doNotTrack": true, "applyOnForward": true, "types": []any{"Ingress"}})},
		{name: "GNP: preDNAT applies to host endpoints only", upstream: "globalnetworkpolicy.mdx preDNAT",
			obj: calicoGNP(map[string]any{"preDNAT": true, "applyOnForward": true, "types": []any{"Ingress"}})},
		// types, defaulted as Calico defaults them (networkpolicy.mdx "types").
		{name: "types default to Ingress", upstream: "types: default Ingress",
			obj: calicoNP("shop", map[string]any{}), want: Isolation{Ingress: true}},
		{name: "types default to Egress with only egress rules", upstream: "types: Egress when only egress rules",
			obj: calicoNP("shop", map[string]any{"egress": []any{allow}}), want: Isolation{Egress: true}},
		{name: "types default to both with rules in both", upstream: "types: both when both",
			obj: calicoNP("shop", map[string]any{"ingress": []any{allow}, "egress": []any{allow}}), want: Isolation{Ingress: true, Egress: true}},
		// Tiers (tiered-policy.mdx; felix tierprocessor.go, rules/policy.go).
		{name: "the default tier drops what no rule takes", upstream: "Tier defaultAction Deny (default)",
			obj: calicoNP("shop", map[string]any{"ingress": []any{fromWeb}, "types": []any{"Ingress"}}), want: Isolation{Ingress: true}},
		{name: "a Pass tier isolates nothing by itself", upstream: "Tier defaultAction Pass",
			obj:   calicoNP("shop", map[string]any{"tier": "platform", "ingress": []any{fromWeb}, "types": []any{"Ingress"}}),
			tiers: []*unstructured.Unstructured{tier("platform", "Pass")}},
		{name: "a Pass tier isolates with a catch-all Deny", upstream: "rules/policy.go Deny is final",
			obj:   calicoNP("shop", map[string]any{"tier": "platform", "ingress": []any{fromWeb, deny}, "egress": []any{deny}, "types": []any{"Ingress", "Egress"}}),
			tiers: []*unstructured.Unstructured{tier("platform", "Pass")}, want: Isolation{Ingress: true, Egress: true}},
		{name: "a Deny rule with criteria is no catch-all", upstream: "rules/policy.go: matches only its criteria",
			obj: calicoNP("shop", map[string]any{"tier": "platform", "ingress": []any{map[string]any{"action": "Deny", "protocol": "TCP"}},
				"types": []any{"Ingress"}}),
			tiers: []*unstructured.Unstructured{tier("platform", "Pass")}},
		{name: "a Log rule is not final", upstream: "rules/policy.go Log continues",
			obj: calicoNP("shop", map[string]any{"tier": "platform", "ingress": []any{map[string]any{"action": "Log"}, deny},
				"types": []any{"Ingress"}}),
			tiers: []*unstructured.Unstructured{tier("platform", "Pass")}, want: Isolation{Ingress: true}},
		{name: "kube-admin passes when no Tier says otherwise", upstream: "tiered-policy.mdx kube-admin defaultAction Pass",
			obj: calicoGNP(map[string]any{"tier": "kube-admin", "types": []any{"Ingress"}})},
		{name: "a Tier object overrides the built-in default", upstream: "Tier.spec.defaultAction",
			obj:   calicoGNP(map[string]any{"tier": "kube-admin", "types": []any{"Ingress"}}),
			tiers: []*unstructured.Unstructured{tier("kube-admin", "Deny")}, want: Isolation{Ingress: true}},
		{name: "a catch-all Pass first hands everything on", upstream: "Pass goes to the next tier",
			obj:  calicoNP("shop", map[string]any{"ingress": []any{pass, deny}, "egress": []any{allow}, "types": []any{"Ingress", "Egress"}}),
			want: Isolation{Egress: true}},
	})
}

// TestCalicoCompileErrors: selectors Calico refuses select no pod, with
// the reason.
func TestCalicoCompileErrors(t *testing.T) {
	for _, tt := range []struct {
		spec map[string]any
		want string
	}{
		{map[string]any{"selector": "app =="}, "spec.selector: "},
		// CRD CEL rules of networkpolicy.go / globalnetworkpolicy.go.
		{map[string]any{"selector": "global()"}, "spec.selector: global() selects no workload in a policy's own selectors"},
		{map[string]any{"serviceAccountSelector": "a in {"}, "spec.serviceAccountSelector: "},
	} {
		_, err := Compile(calicoNP("shop", tt.spec))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Compile(%v): %v, want an error starting %q", tt.spec, err, tt.want)
		}
	}
	if _, err := Compile(calicoGNP(map[string]any{"namespaceSelector": "global()"})); err == nil {
		t.Error("a namespaceSelector with global() compiled")
	}
}

// TestCalicoStagedKindsNeverCount: Staged* kinds do not enforce (docs
// staged-network-policies.mdx), so they are not counted kinds.
func TestCalicoStagedKindsNeverCount(t *testing.T) {
	for _, kind := range []string{"StagedNetworkPolicy", "StagedGlobalNetworkPolicy", "StagedKubernetesNetworkPolicy"} {
		if k := KindFor(schema.GroupVersionKind{Group: "projectcalico.org", Version: "v3", Kind: kind}); k != nil {
			t.Errorf("%s is counted as %s", kind, k.Name)
		}
	}
	// Nor is Calico's storage group.
	if k := KindFor(schema.GroupVersionKind{Group: "crd.projectcalico.org", Version: "v1", Kind: "NetworkPolicy"}); k != nil {
		t.Errorf("crd.projectcalico.org/v1 NetworkPolicy is counted as %s", k.Name)
	}
}
