package netpol

import (
	"context"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	sigsjson "sigs.k8s.io/json"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
)

// podListPageSize bounds each page of the live pod list.
const podListPageSize = 500

// livePods selects pods that have not finished: those a policy change can
// expose. Succeeded and Failed pods have no network.
var livePods = fields.AndSelectors(
	fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
	fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)),
)

// serviceAccountUnknown: pod metadata lists do not carry the service account.
const serviceAccountUnknown = "the pod list eksguard reads holds metadata only, without the service account"

// NewPolicyChangeHandler warns, and never denies, when deleting a policy
// object of any counted kind, or changing what it selects or isolates,
// leaves running pods uncovered that it covered before. It reads the pods
// live, metadata only, and only on this path: those of the policy's
// namespace, or of every namespace for a cluster-scoped kind.
func NewPolicyChangeHandler(c *Checker) admit.Answerer {
	return &admit.Handler[storedPolicy]{
		Spec:   PolicyChanges,
		What:   what,
		Decode: decodeStoredPolicy,
		// A change that leaves every selection, and what the DNS step reads,
		// as it was uncovers nothing.
		Unchanged: func(old, obj *storedPolicy) bool {
			return reflect.DeepEqual(old.selections(), obj.selections()) && reflect.DeepEqual(old.dns(), obj.dns())
		},
		Decider: c.Decider,
		Judge:   c.judgePolicyChange,
	}
}

// storedPolicy is a policy object of a counted kind with its compilation;
// policy is nil when its selectors do not parse (it selects no pod).
type storedPolicy struct {
	object metav1.Object
	policy *Compiled
}

func (p *storedPolicy) selections() []Selection {
	if p.policy == nil {
		return nil
	}
	return p.policy.Selections
}

func (p *storedPolicy) dns() *dnsPolicy {
	if p.policy == nil {
		return nil
	}
	return p.policy.dns
}

func decodeStoredPolicy(gvk schema.GroupVersionKind, raw []byte) (*storedPolicy, error) {
	kind := KindFor(gvk)
	obj, err := decodePolicyObject(kind, raw)
	if err != nil {
		return nil, err
	}
	stored := &storedPolicy{}
	stored.object, _ = obj.(metav1.Object)
	if p, err := Compile(obj); err == nil {
		stored.policy = p
	}
	return stored, nil
}

func (c *Checker) judgePolicyChange(ctx context.Context, r *admit.Review[storedPolicy]) decision.Answer {
	old := r.Old.policy
	if old == nil {
		// It selected no pod, so changing it cannot uncover one.
		return r.Respond(ctx)
	}
	var updated *Compiled
	action := "Deleting"
	if r.Object != nil {
		action = "Changing"
		if updated = r.Object.policy; updated == nil {
			updated = &Compiled{Kind: old.Kind}
		}
	}
	meta := &metav1.ObjectMeta{Namespace: r.Namespace}
	if m := r.Old.object; m != nil {
		meta.Labels, meta.Annotations = m.GetLabels(), m.GetAnnotations()
	}
	d, err := decide(ctx, r.Snapshot, meta)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	// This check only ever warns: it must not stand in the way of removing a policy.
	for _, f := range []finding{findCoverage, findDNS} {
		if d[f].Mode == config.ModeEnforce {
			d[f].Mode = config.ModeWarn
		}
	}
	ruling := decision.Ruling{Rule: config.RuleNetworkPolicy, Decision: d[findCoverage]}
	if d[findCoverage].Mode == config.ModeOff {
		return r.Respond(ctx, ruling)
	}
	exposed, err := c.exposedPods(ctx, r.Snapshot, r.Old.object.GetUID(), old, updated, r.Policy.Config.Rules.NetworkPolicy, d)
	if err != nil {
		logf.FromContext(ctx).Error(err, "could not count the pods a policy change leaves uncovered",
			logkeys.Kind, old.Kind.Name, logkeys.Policy, types.NamespacedName{Namespace: old.Namespace, Name: old.Name})
		return r.Undecided(ctx, err)
	}
	if exposed.pods > 0 {
		ruling.Errs = field.ErrorList{field.Forbidden(nil, exposedDetail(action, old, exposed))}
	}
	rulings := []decision.Ruling{ruling}
	if exposed.dns.pods > 0 {
		rulings = append(rulings, decision.Ruling{Rule: config.RuleNetworkPolicy, Decision: d[findDNS],
			Errs: field.ErrorList{field.Forbidden(nil, dnsCutDetail(action, old, exposed.dns))}})
	}
	return r.Respond(ctx, rulings...)
}

// exposure counts the pods a change uncovers, and those whose DNS it cuts.
type exposure struct {
	pods       int
	namespaces map[string]bool
	dns        *exposure
}

// dnsCutDetail: the change leaves running pods with no UDP path to DNS.
func dnsCutDetail(action string, p *Compiled, e *exposure) string {
	return fmt.Sprintf("%s %s cuts DNS (UDP 53) for %s%s", action, p, podsText(e.pods), e.where())
}

// where names the namespaces of the pods counted.
func (e *exposure) where() string {
	if len(e.namespaces) == 1 {
		for ns := range e.namespaces {
			return " in namespace " + ns
		}
	}
	return fmt.Sprintf(" in %d namespaces", len(e.namespaces))
}

func exposedDetail(action string, p *Compiled, e exposure) string {
	if p.Kind == KindNetworkPolicy {
		return fmt.Sprintf("%s NetworkPolicy %s leaves %s in namespace %s uncovered", action, p.Name, podsText(e.pods), p.Namespace)
	}
	return fmt.Sprintf("%s %s leaves %s%s uncovered", action, p, podsText(e.pods), e.where())
}

// exposedPods counts the live pods that the policies covered with old and
// no longer cover with updated (nil: deleted). The other policies come
// from the index.
func (c *Checker) exposedPods(ctx context.Context, namespaces namespaceLabels, uid types.UID, old, updated *Compiled, settings config.NetworkPolicySettings, d decisions) (exposure, error) {
	tiers := c.Index.Tiers()
	// Pod metadata shows Fargate (its label), not Windows or hybrid nodes:
	// every other pod is judged as on EC2 Linux nodes.
	want := wantFor(where{Compute: ComputeNode}, &placement{}, &settings, c.DataPlane.Load())
	var target *dnsTarget
	if dnsJudged(d) {
		target = dnsTargetFor(ctx, namespaces, &settings)
	}
	type scope struct {
		before, after []*Compiled
		labels        labels.Set
	}
	scopes := map[string]*scope{}
	scopeOf := func(namespace string) (*scope, error) {
		if s, ok := scopes[namespace]; ok {
			return s, nil
		}
		s := &scope{}
		for _, e := range c.Index.Snapshot(namespace) {
			if e.UID != uid {
				s.before = append(s.before, e.Policy)
			}
		}
		s.after = append(s.after, s.before...)
		s.before = append(s.before, old)
		if updated != nil {
			s.after = append(s.after, updated)
		}
		set, err := namespaces.NamespaceLabels(ctx, namespace)
		if err != nil {
			return nil, err
		}
		s.labels = set
		scopes[namespace] = s
		return s, nil
	}

	e := exposure{namespaces: map[string]bool{}, dns: &exposure{namespaces: map[string]bool{}}}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	// old.Namespace is "" for a cluster-scoped kind: every namespace.
	opts := &client.ListOptions{Namespace: old.Namespace, FieldSelector: livePods, Limit: podListPageSize}
	unknown := map[string]string{ciliumServiceAccountKey: serviceAccountUnknown}
	for {
		if err := c.Live.List(ctx, list, opts); err != nil {
			return exposure{}, fmt.Errorf("listing the pods of namespace %q: %w", old.Namespace, err)
		}
		for i := range list.Items {
			item := &list.Items[i]
			if item.DeletionTimestamp != nil {
				continue
			}
			s, err := scopeOf(item.Namespace)
			if err != nil {
				return exposure{}, err
			}
			pod := &Pod{Namespace: item.Namespace, NamespaceLabels: s.labels, Labels: item.Labels, Unknown: unknown}
			// Only pods the old policy selects can lose coverage through it.
			if !selectsAny(old, pod) {
				continue
			}
			if _, fargate := item.Labels[FargateProfileLabel]; fargate {
				continue
			}
			if CheckCoverage(pod, s.before, want, tiers).Covered && !CheckCoverage(pod, s.after, want, tiers).Covered {
				e.pods++
				e.namespaces[item.Namespace] = true
			}
			if target != nil {
				before, after := CheckDNS(pod, s.before, want, target, tiers), CheckDNS(pod, s.after, want, target, tiers)
				if before.UDP && !after.UDP && after.Unmodelled == nil {
					e.dns.pods++
					e.dns.namespaces[item.Namespace] = true
				}
			}
		}
		if list.Continue == "" {
			return e, nil
		}
		opts.Continue = list.Continue
	}
}

// selectsAny reports whether a selection of p surely selects pod.
func selectsAny(p *Compiled, pod *Pod) bool {
	for i := range p.Selections {
		if m, _ := p.Selections[i].match(pod); m == matches {
			return true
		}
	}
	return false
}

// decodePolicyObject decodes a stored object of kind, case-sensitively as
// the API server does.
func decodePolicyObject(kind *PolicyKind, raw []byte) (runtime.Object, error) {
	if kind == KindNetworkPolicy {
		var np networkingv1.NetworkPolicy
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &np); err != nil {
			return nil, err
		}
		return &np, nil
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	u.SetGroupVersionKind(kind.GVK)
	return u, nil
}

func podsText(n int) string {
	if n == 1 {
		return "1 pod"
	}
	return fmt.Sprintf("%d pods", n)
}
