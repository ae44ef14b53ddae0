package netpol

import (
	"context"
	"fmt"
	"reflect"

	admissionv1 "k8s.io/api/admission/v1"
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
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	sigsjson "sigs.k8s.io/json"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/logkeys"
	"github.com/eksguard/eksguard/webhook/decision"
)

// PolicyChangePath serves UPDATE and DELETE of every kind of Kinds.
const PolicyChangePath = "/validate-policy-change"

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

// PolicyChangeValidator warns, and never denies, when deleting a policy
// object of any counted kind, or changing what it selects or isolates,
// leaves running pods uncovered that it covered before. It reads the pods
// live, metadata only, and only on this path: those of the policy's
// namespace, or of every namespace for a cluster-scoped kind.
type PolicyChangeValidator struct {
	*Checker
}

var _ admission.Handler = &PolicyChangeValidator{}

// Handle implements admission.Handler.
func (v *PolicyChangeValidator) Handle(ctx context.Context, req admission.Request) admission.Response {
	kind := KindFor(schema.GroupVersionKind(req.Kind))
	if kind == nil {
		return decision.BadRequest(fmt.Errorf("%w %s: this webhook serves the policy kinds that isolate pods",
			decision.ErrUnsupportedKind, req.Kind))
	}
	if req.Operation != admissionv1.Update && req.Operation != admissionv1.Delete {
		return decision.Respond(ctx, req.Kind.Kind)
	}
	oldObj, err := decodePolicyObject(kind, req.OldObject.Raw)
	if err != nil {
		return decision.BadRequest(fmt.Errorf("decoding the old %s: %w", kind.GVK.Kind, err))
	}
	old, err := Compile(oldObj)
	if err != nil {
		// It selected no pod, so changing it cannot uncover one.
		return decision.Respond(ctx, req.Kind.Kind)
	}
	var updated *Policy
	action := "Deleting"
	if req.Operation == admissionv1.Update {
		newObj, err := decodePolicyObject(kind, req.Object.Raw)
		if err != nil {
			return decision.BadRequest(fmt.Errorf("decoding the %s: %w", kind.GVK.Kind, err))
		}
		if updated, err = Compile(newObj); err != nil {
			updated = &Policy{Kind: kind}
		}
		if reflect.DeepEqual(old.Selections, updated.Selections) {
			return decision.Respond(ctx, req.Kind.Kind)
		}
		action = "Changing"
	}
	meta := &metav1.ObjectMeta{Namespace: req.Namespace}
	if m, ok := oldObj.(metav1.Object); ok {
		meta.Labels, meta.Annotations = m.GetLabels(), m.GetAnnotations()
	}

	pol := v.Policies.Source.Current()
	d, err := v.decide(ctx, pol, meta)
	if err != nil {
		logf.FromContext(ctx).Error(err, "could not decide on a policy change")
		return decision.Respond(ctx, req.Kind.Kind)
	}
	// This check only ever warns: it must not stand in the way of removing a policy.
	if d.coverage.Mode == config.ModeEnforce {
		d.coverage.Mode = config.ModeWarn
	}
	finding := decision.Finding{Rule: config.RuleNetworkPolicy, Decision: d.coverage}
	if d.coverage.Mode == config.ModeOff {
		return decision.Respond(ctx, req.Kind.Kind, finding)
	}
	exposed, err := v.exposedPods(ctx, oldObjUID(oldObj), old, updated, pol.Config.Rules.NetworkPolicy)
	if err != nil {
		logf.FromContext(ctx).Error(err, "could not count the pods a policy change leaves uncovered",
			logkeys.Kind, kind.Name, logkeys.Policy, types.NamespacedName{Namespace: old.Namespace, Name: old.Name})
		return decision.Respond(ctx, req.Kind.Kind)
	}
	if exposed.pods > 0 {
		finding.Errs = field.ErrorList{field.Forbidden(nil, exposedDetail(action, old, exposed))}
	}
	return decision.Respond(ctx, req.Kind.Kind, finding)
}

// exposure counts the pods a change uncovers.
type exposure struct {
	pods       int
	namespaces map[string]bool
}

func exposedDetail(action string, p *Policy, e exposure) string {
	if p.Kind == KindNetworkPolicy {
		return fmt.Sprintf("%s NetworkPolicy %s leaves %s in namespace %s uncovered", action, p.Name, podsText(e.pods), p.Namespace)
	}
	where := ""
	if len(e.namespaces) == 1 {
		for ns := range e.namespaces {
			where = " in namespace " + ns
		}
	} else {
		where = fmt.Sprintf(" in %d namespaces", len(e.namespaces))
	}
	return fmt.Sprintf("%s %s leaves %s%s uncovered", action, p, podsText(e.pods), where)
}

// exposedPods counts the live pods that the policies covered with old and
// no longer cover with updated (nil: deleted). The other policies come
// from the index.
func (v *PolicyChangeValidator) exposedPods(ctx context.Context, uid types.UID, old, updated *Policy, settings config.NetworkPolicySettings) (exposure, error) {
	declared := declaredIsolation(settings)
	type scope struct {
		before, after []*Policy
		labels        labels.Set
	}
	scopes := map[string]*scope{}
	scopeOf := func(namespace string) (*scope, error) {
		if s, ok := scopes[namespace]; ok {
			return s, nil
		}
		s := &scope{}
		for _, e := range v.Index.Snapshot(namespace) {
			if e.UID != uid {
				s.before = append(s.before, e.Policy)
			}
		}
		s.after = append(s.after, s.before...)
		s.before = append(s.before, old)
		if updated != nil {
			s.after = append(s.after, updated)
		}
		set, err := v.Policies.NamespaceLabels(ctx, namespace)
		if err != nil {
			return nil, err
		}
		s.labels = set
		scopes[namespace] = s
		return s, nil
	}

	e := exposure{namespaces: map[string]bool{}}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	// old.Namespace is "" for a cluster-scoped kind: every namespace.
	opts := &client.ListOptions{Namespace: old.Namespace, FieldSelector: livePods, Limit: podListPageSize}
	unknown := map[string]string{ciliumServiceAccountKey: serviceAccountUnknown}
	for {
		if err := v.Live.List(ctx, list, opts); err != nil {
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
			if Evaluate(pod, s.before, settings.Coverage, declared).Covered && !Evaluate(pod, s.after, settings.Coverage, declared).Covered {
				e.pods++
				e.namespaces[item.Namespace] = true
			}
		}
		if list.Continue == "" {
			return e, nil
		}
		opts.Continue = list.Continue
	}
}

// selectsAny reports whether a selection of p surely selects pod.
func selectsAny(p *Policy, pod *Pod) bool {
	for i := range p.Selections {
		if m, _ := p.Selections[i].match(pod); m == matches {
			return true
		}
	}
	return false
}

// decodePolicyObject decodes a stored object of kind, case-sensitively as
// the API server does.
func decodePolicyObject(kind *Kind, raw []byte) (runtime.Object, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("the request has no object")
	}
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

func oldObjUID(obj runtime.Object) types.UID {
	if m, ok := obj.(metav1.Object); ok {
		return m.GetUID()
	}
	return ""
}

func podsText(n int) string {
	if n == 1 {
		return "1 pod"
	}
	return fmt.Sprintf("%d pods", n)
}
