package netpol

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/webhook/decision"
)

// The reference below decides coverage over mixed policy kinds from the
// kinds' documentation alone (POLICY-KINDS.md: NetworkPolicy, EKS
// ApplicationNetworkPolicy and ClusterNetworkPolicy, Cilium), written out by
// hand: it shares no code with the rule. Each generated policy keeps its
// plain description next to the object the rule compiles.

// refPolicy is a generated policy as the reference reads it.
type refPolicy struct {
	kind      string // "np", "anp", "cnp", "awscnp"
	namespace string
	// selector over pod labels (keys without Cilium prefixes), and for
	// awscnp over namespace labels.
	selector metav1.LabelSelector
	types    []string
	// ingressRules, egressRules: counts of allow rules (np egress, anp,
	// cilium); ingressDeny, egressDeny: Cilium deny rules.
	ingressRules, egressRules, ingressDeny, egressDeny int
	// ciliumDefaultDeny: nil, or explicit values per direction.
	ciliumDefaultDeny map[string]bool
	// awscnp rules: (action, catches all peers, has ports), per direction.
	awsIngress, awsEgress []refClusterRule
	// calico: the tier passes what the policy does not take; its rules in
	// order, per direction; calicoGlobal selects namespaces by selector.
	calicoPassTier              bool
	calicoIngress, calicoEgress []refCalicoRule
	calicoGlobal                bool
}

// refCalicoRule is a Calico rule: its action, and whether it has no match
// criteria.
type refCalicoRule struct {
	action   string
	catchAll bool
}

type refClusterRule struct {
	deny, catchAll, ports bool
}

func (p refPolicy) directions() (ingress, egress bool) {
	listed := func(t string) bool {
		for _, x := range p.types {
			if x == t {
				return true
			}
		}
		return false
	}
	switch p.kind {
	case "np":
		if len(p.types) == 0 {
			return true, p.egressRules > 0
		}
		return listed("Ingress"), listed("Egress")
	case "anp":
		return listed("Ingress") || p.ingressRules > 0, listed("Egress") || p.egressRules > 0
	case "cnp":
		hasIn, hasOut := p.ingressRules+p.ingressDeny > 0, p.egressRules+p.egressDeny > 0
		if !hasIn && !hasOut {
			return false, false
		}
		ingress, egress = hasIn, hasOut
		if v, ok := p.ciliumDefaultDeny["ingress"]; ok {
			ingress = v
		}
		if v, ok := p.ciliumDefaultDeny["egress"]; ok {
			egress = v
		}
		return ingress, egress
	case "calico":
		// Calico's types default (networkpolicy.mdx): Ingress, plus Egress
		// with egress rules, or Egress alone with only egress rules.
		in, out := listed("Ingress"), listed("Egress")
		if len(p.types) == 0 {
			in, out = len(p.calicoIngress) > 0 || len(p.calicoEgress) == 0, len(p.calicoEgress) > 0
		}
		// A tier that drops what its policies do not take isolates unless a
		// catch-all Pass goes first; one that passes isolates only with a
		// catch-all Deny or Allow first (tiered-policy.mdx).
		decides := func(rules []refCalicoRule) bool {
			first := ""
			for _, r := range rules {
				if r.catchAll && r.action != "Log" {
					first = r.action
					break
				}
			}
			if p.calicoPassTier {
				return first == "Deny" || first == "Allow"
			}
			return first != "Pass"
		}
		return in && decides(p.calicoIngress), out && decides(p.calicoEgress)
	case "awscnp":
		for _, r := range p.awsIngress {
			ingress = ingress || (r.deny && r.catchAll && !r.ports)
		}
		for _, r := range p.awsEgress {
			egress = egress || (r.deny && r.catchAll && !r.ports)
		}
		return ingress, egress
	}
	panic(p.kind)
}

func refCoveredKinds(policies []refPolicy, namespace string, nsLabels, podLabels map[string]string, coverage string) bool {
	ingress, egress := false, false
	for _, p := range policies {
		if p.kind == "awscnp" || (p.kind == "calico" && p.calicoGlobal) {
			if !referenceSelects(p.selector, nsLabels) {
				continue
			}
		} else if p.namespace != namespace || !referenceSelects(p.selector, podLabels) {
			continue
		}
		i, e := p.directions()
		ingress, egress = ingress || i, egress || e
	}
	return referenceSatisfies(ingress, egress, coverage)
}

// mixedPolicy generates one policy of a random kind: its reference form and
// its stored object.
func (g *generator) mixedPolicy(i int) (refPolicy, runtime.Object) {
	switch g.rnd.Intn(5) {
	case 4:
		return g.calicoPolicy(i)
	case 0:
		np := g.policy(i)
		return refPolicy{kind: "np", namespace: np.Namespace, selector: np.Spec.PodSelector,
			types: policyTypeStrings(np), egressRules: len(np.Spec.Egress)}, np
	case 1:
		ref := refPolicy{kind: "anp", namespace: g.pick(g.namespaces), selector: g.policy(i).Spec.PodSelector,
			types: g.someTypes(), ingressRules: g.rnd.Intn(2), egressRules: g.rnd.Intn(2)}
		spec := map[string]any{"podSelector": selectorObject(ref.selector, nil), "ingress": emptyRules(ref.ingressRules), "egress": emptyRules(ref.egressRules)}
		if ref.types != nil {
			spec["policyTypes"] = anySlice(ref.types)
		}
		return ref, object(KindApplicationNetworkPolicy, ref.namespace, fmt.Sprintf("anp-%d", i), spec)
	case 2:
		ref := refPolicy{kind: "cnp", namespace: g.pick(g.namespaces), selector: g.policy(i).Spec.PodSelector,
			ingressRules: g.rnd.Intn(2), egressRules: g.rnd.Intn(2), ingressDeny: g.rnd.Intn(2), egressDeny: g.rnd.Intn(2)}
		spec := map[string]any{
			"endpointSelector": selectorObject(ref.selector, func(k string) string { return []string{"", "k8s:", "any:"}[g.rnd.Intn(3)] + k }),
			"ingress":          emptyRules(ref.ingressRules), "ingressDeny": emptyRules(ref.ingressDeny),
			"egress": emptyRules(ref.egressRules), "egressDeny": emptyRules(ref.egressDeny),
		}
		if g.rnd.Intn(3) == 0 {
			ref.ciliumDefaultDeny = map[string]bool{}
			dd := map[string]any{}
			for _, d := range []string{"ingress", "egress"} {
				if g.rnd.Intn(2) == 0 {
					v := g.rnd.Intn(2) == 0
					ref.ciliumDefaultDeny[d], dd[d] = v, v
				}
			}
			spec["enableDefaultDeny"] = dd
		}
		return ref, object(KindCiliumNetworkPolicy, ref.namespace, fmt.Sprintf("cnp-%d", i), spec)
	default:
		ref := refPolicy{kind: "awscnp", selector: g.namespaceSelector()}
		spec := map[string]any{"tier": []string{"Admin", "Baseline"}[g.rnd.Intn(2)], "priority": int64(i),
			"subject": map[string]any{"namespaces": selectorObject(ref.selector, nil)}}
		for _, dir := range []string{"ingress", "egress"} {
			var rules []any
			for range g.rnd.Intn(3) {
				r := refClusterRule{deny: g.rnd.Intn(2) == 0, catchAll: g.rnd.Intn(2) == 0, ports: g.rnd.Intn(3) == 0}
				rule := map[string]any{"action": map[bool]string{true: "Deny", false: "Accept"}[r.deny]}
				peer := map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"tier": "x"}}}
				if r.catchAll && dir == "ingress" {
					peer = map[string]any{"namespaces": map[string]any{}}
				} else if dir == "egress" {
					peer = map[string]any{"networks": list("10.0.0.0/8")}
					if r.catchAll {
						peer = map[string]any{"networks": list("0.0.0.0/0", "::/0")}
					}
				}
				rule[map[string]string{"ingress": "from", "egress": "to"}[dir]] = list(peer)
				if r.ports {
					rule["ports"] = list(map[string]any{"portNumber": map[string]any{"protocol": "TCP", "port": int64(443)}})
				}
				rules = append(rules, rule)
				if dir == "ingress" {
					ref.awsIngress = append(ref.awsIngress, r)
				} else {
					ref.awsEgress = append(ref.awsEgress, r)
				}
			}
			spec[dir] = rules
		}
		return ref, object(KindAWSClusterNetworkPolicy, "", fmt.Sprintf("awscnp-%d", i), spec)
	}
}

// calicoPolicy generates a Calico NetworkPolicy selecting pods, or a
// GlobalNetworkPolicy selecting namespaces, in the default tier or in
// "platform" (which passes), with rules that may or may not catch all.
func (g *generator) calicoPolicy(i int) (refPolicy, runtime.Object) {
	ref := refPolicy{kind: "calico", types: g.someTypes(), calicoPassTier: g.rnd.Intn(2) == 0, calicoGlobal: g.rnd.Intn(3) == 0}
	spec := map[string]any{}
	if ref.calicoGlobal {
		ref.selector = g.namespaceSelector()
		spec["namespaceSelector"] = calicoExpression(ref.selector, g.rnd.Intn(2) == 0)
	} else {
		ref.namespace, ref.selector = g.pick(g.namespaces), g.policy(i).Spec.PodSelector
		spec["selector"] = calicoExpression(ref.selector, g.rnd.Intn(2) == 0)
	}
	if ref.types != nil {
		spec["types"] = anySlice(ref.types)
	}
	if ref.calicoPassTier {
		spec["tier"] = "platform"
	}
	for _, dir := range []string{"ingress", "egress"} {
		var rules []any
		for range g.rnd.Intn(3) {
			r := refCalicoRule{action: g.pick([]string{"Allow", "Deny", "Pass", "Log"}), catchAll: g.rnd.Intn(2) == 0}
			rule := map[string]any{"action": r.action}
			if !r.catchAll {
				rule["protocol"] = "TCP"
			}
			rules = append(rules, rule)
			if dir == "ingress" {
				ref.calicoIngress = append(ref.calicoIngress, r)
			} else {
				ref.calicoEgress = append(ref.calicoEgress, r)
			}
		}
		if rules != nil {
			spec[dir] = rules
		}
	}
	kind, name := KindCalicoNetworkPolicy, fmt.Sprintf("calico-%d", i)
	if ref.calicoGlobal {
		kind = KindCalicoGlobalNetworkPolicy
	}
	return ref, object(kind, ref.namespace, name, spec)
}

// calicoExpression writes a label selector in Calico's selector language
// (selector.mdx), by hand: each term joined with &&; the empty selector is
// all(), or an empty string.
func calicoExpression(sel metav1.LabelSelector, explicitAll bool) string {
	var terms []string
	for _, k := range slices.Sorted(maps.Keys(sel.MatchLabels)) {
		terms = append(terms, fmt.Sprintf("%s == '%s'", k, sel.MatchLabels[k]))
	}
	quoted := func(values []string) string {
		var q []string
		for _, v := range values {
			q = append(q, `"`+v+`"`)
		}
		return strings.Join(q, ", ")
	}
	for _, e := range sel.MatchExpressions {
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			terms = append(terms, fmt.Sprintf("%s in {%s}", e.Key, quoted(e.Values)))
		case metav1.LabelSelectorOpNotIn:
			terms = append(terms, fmt.Sprintf("%s not in {%s}", e.Key, quoted(e.Values)))
		case metav1.LabelSelectorOpExists:
			terms = append(terms, fmt.Sprintf("has(%s)", e.Key))
		case metav1.LabelSelectorOpDoesNotExist:
			terms = append(terms, fmt.Sprintf("!has(%s)", e.Key))
		}
	}
	if len(terms) == 0 && explicitAll {
		return "all()"
	}
	return strings.Join(terms, " && ")
}

func (g *generator) someTypes() []string {
	return [][]string{nil, {"Ingress"}, {"Egress"}, {"Ingress", "Egress"}}[g.rnd.Intn(4)]
}

// namespaceSelector selects by the generated namespace labels.
func (g *generator) namespaceSelector() metav1.LabelSelector {
	switch g.rnd.Intn(4) {
	case 0:
		return metav1.LabelSelector{}
	case 1:
		return metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: g.pick(g.namespaces)}}
	case 2:
		return metav1.LabelSelector{MatchLabels: map[string]string{"stage": g.pick([]string{"prod", "dev"})}}
	}
	return metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "stage", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"prod"}}}}
}

func policyTypeStrings(np *networkingv1.NetworkPolicy) []string {
	var out []string
	for _, t := range np.Spec.PolicyTypes {
		out = append(out, string(t))
	}
	return out
}

// selectorObject writes sel as stored JSON, with keys passed through prefix.
func selectorObject(sel metav1.LabelSelector, prefix func(string) string) map[string]any {
	if prefix == nil {
		prefix = func(k string) string { return k }
	}
	out := map[string]any{}
	if len(sel.MatchLabels) > 0 {
		ml := map[string]any{}
		for k, v := range sel.MatchLabels {
			ml[prefix(k)] = v
		}
		out["matchLabels"] = ml
	}
	var exprs []any
	for _, e := range sel.MatchExpressions {
		expr := map[string]any{"key": prefix(e.Key), "operator": string(e.Operator)}
		if len(e.Values) > 0 {
			expr["values"] = anySlice(e.Values)
		}
		exprs = append(exprs, expr)
	}
	if exprs != nil {
		out["matchExpressions"] = exprs
	}
	return out
}

func emptyRules(n int) []any {
	out := []any{}
	for range n {
		out = append(out, map[string]any{})
	}
	return out
}

func anySlice(in []string) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}

// kindsReader is the live API for TestDifferentialPolicyKinds: the
// namespaces' labels and every policy object, typed or unstructured.
type kindsReader struct {
	namespaceLabels map[string]map[string]string
	objects         []runtime.Object
}

func (r *kindsReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return errors.New("unexpected Get")
	}
	m.SetName(key.Name)
	m.SetLabels(r.namespaceLabels[key.Name])
	return nil
}

func (r *kindsReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	o := client.ListOptions{}
	o.ApplyOptions(opts)
	switch l := list.(type) {
	case *networkingv1.NetworkPolicyList:
		for _, obj := range r.objects {
			if np, ok := obj.(*networkingv1.NetworkPolicy); ok && np.Namespace == o.Namespace {
				l.Items = append(l.Items, *np)
			}
		}
	case *unstructured.UnstructuredList:
		// By group, version and kind: three kinds are named ClusterNetworkPolicy.
		gvk := l.GroupVersionKind().GroupVersion().WithKind(strings.TrimSuffix(l.GetKind(), "List"))
		for _, obj := range r.objects {
			if u, ok := obj.(*unstructured.Unstructured); ok && u.GroupVersionKind() == gvk && (o.Namespace == "" || u.GetNamespace() == o.Namespace) {
				l.Items = append(l.Items, *u)
			}
		}
	default:
		return fmt.Errorf("unexpected list %T", list)
	}
	return nil
}

// TestDifferentialPolicyKinds compares eksguard's verdicts with the
// reference over random mixes of NetworkPolicies, ApplicationNetworkPolicies,
// CiliumNetworkPolicies, EKS ClusterNetworkPolicies and Calico
// NetworkPolicies and GlobalNetworkPolicies (in a tier that drops and one
// that passes): through the index,
// and through the pod handler with an empty index (its live read).
func TestDifferentialPolicyKinds(t *testing.T) {
	g := newGenerator(20261201)
	nsLabels := map[string]map[string]string{
		"shop": {corev1.LabelMetadataName: "shop", "stage": "prod"},
		"blog": {corev1.LabelMetadataName: "blog", "stage": "dev"},
		"ops":  {corev1.LabelMetadataName: "ops"},
	}
	pols := policiesByCoverage(t)
	const worlds, podsPerWorld = 200, 20
	verdicts := map[bool]int{}
	filtered := map[string]int{} // by kind, the policies the index's scan can pass over unread
	for world := range worlds {
		var refs []refPolicy
		live := &kindsReader{namespaceLabels: nsLabels}
		for i := range g.rnd.Intn(10) {
			ref, obj := g.mixedPolicy(i)
			refs = append(refs, ref)
			live.objects = append(live.objects, obj)
		}
		full, empty := NewIndex(), NewIndex()
		// The tier the generated Calico policies name besides the default.
		platform := TiersFrom([]*unstructured.Unstructured{tier("platform", "Pass")})
		full.SetTiers(platform)
		empty.SetTiers(platform)
		for _, obj := range live.objects {
			full.OnAdd(obj, true)
		}
		for _, b := range full.namespaces {
			for i := range b.hot {
				if b.hot[i].filters {
					filtered[b.policies[i].Kind.Name]++
				}
			}
		}
		empty.AssumeServed()
		for p := range podsPerWorld {
			namespace, podLabels := g.pick(g.namespaces), g.podLabels()
			pod := &Pod{Namespace: namespace, NamespaceLabels: nsLabels[namespace], Labels: podLabels, ServiceAccount: "default"}
			for _, coverage := range config.Coverages {
				want := refCoveredKinds(refs, namespace, nsLabels[namespace], podLabels, string(coverage))
				verdicts[want]++
				got := full.CheckCoverage(pod, Want{Coverage: coverage})
				if got.Covered != want {
					t.Fatalf("world %d pod %d %v in %s, coverage %s: index says %t, reference %t; policies: %+v",
						world, p, podLabels, namespace, coverage, got.Covered, want, refs)
				}
				// The index's scan (hotEntry included) is the pure rule over
				// the same policies in the same order, to the last count.
				var policies []*Compiled
				for _, e := range full.Snapshot(namespace) {
					policies = append(policies, e.Policy)
				}
				if pure := CheckCoverage(pod, policies, Want{Coverage: coverage}, full.Tiers()); !reflect.DeepEqual(got, pure) {
					t.Fatalf("world %d pod %d %v in %s, coverage %s: index %+v, the rule over its snapshot %+v",
						world, p, podLabels, namespace, coverage, got, pure)
				}
				checker := &Checker{Index: empty, Live: live,
					Decider: withNamespaces(ruletest.Decider(pols[coverage]), live)}
				raw := mustJSON(t, &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
					ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: namespace, Labels: podLabels}})
				resp := NewPodHandler(checker).Handle(context.Background(),
					admissionRequest(admissionv1.Create, podKind, namespace, "p", raw, nil))
				if resp.Allowed != want {
					t.Fatalf("world %d pod %d %v in %s, coverage %s: handler allowed=%t (%s), reference %t; policies: %+v",
						world, p, podLabels, namespace, coverage, resp.Allowed, ruletest.AnswerOf(resp), want, refs)
				}
			}
		}
	}
	for _, kind := range []string{"NetworkPolicy", "NetworkPolicy.projectcalico.org"} {
		if filtered[kind] < 50 {
			t.Errorf("only %d generated %s objects had a hot entry that filters (%v): the scan's shortcut is barely exercised", filtered[kind], kind, filtered)
		}
	}
	if verdicts[true] < 2000 || verdicts[false] < 2000 {
		t.Errorf("verdicts are lopsided: %d covered, %d uncovered", verdicts[true], verdicts[false])
	}
	t.Logf("%d covered, %d uncovered verdicts agree", verdicts[true], verdicts[false])
}

func withNamespaces(p decision.Decider, r client.Reader) decision.Decider {
	p.Namespaces = r
	return p
}
