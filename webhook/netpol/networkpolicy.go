package netpol

import (
	"context"
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/decision"
)

// NetworkPolicyPath serves NetworkPolicy UPDATE and DELETE.
const NetworkPolicyPath = "/validate-networking-v1-networkpolicy"

// podListPageSize bounds each page of the live pod list.
const podListPageSize = 500

// livePods selects pods that have not finished: those a policy change can
// expose. Succeeded and Failed pods have no network.
var livePods = fields.AndSelectors(
	fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
	fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)),
)

// NetworkPolicyValidator warns, and never denies, when deleting a
// NetworkPolicy or changing its podSelector or policyTypes leaves pods of the
// namespace uncovered that it covered before. It reads the namespace's pods
// live, metadata only, and only on this path.
type NetworkPolicyValidator struct {
	*Checker
}

var _ admission.Handler = &NetworkPolicyValidator{}

// Handle implements admission.Handler.
func (v *NetworkPolicyValidator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Kind.Group != networkingv1.GroupName || req.Kind.Kind != "NetworkPolicy" {
		return decision.BadRequest(fmt.Errorf("%w %s: this webhook serves networking.k8s.io/v1 NetworkPolicies",
			decision.ErrUnsupportedKind, req.Kind))
	}
	if req.Operation != admissionv1.Update && req.Operation != admissionv1.Delete {
		return decision.Respond(ctx, req.Kind.Kind)
	}
	old, err := decodeNetworkPolicy(req.OldObject.Raw)
	if err != nil {
		return decision.BadRequest(fmt.Errorf("decoding the old NetworkPolicy: %w", err))
	}
	var updated *networkingv1.NetworkPolicy
	action := "Deleting"
	if req.Operation == admissionv1.Update {
		if updated, err = decodeNetworkPolicy(req.Object.Raw); err != nil {
			return decision.BadRequest(fmt.Errorf("decoding the NetworkPolicy: %w", err))
		}
		if equality.Semantic.DeepEqual(old.Spec.PodSelector, updated.Spec.PodSelector) &&
			PolicyIsolation(&old.Spec) == PolicyIsolation(&updated.Spec) {
			return decision.Respond(ctx, req.Kind.Kind)
		}
		action = "Changing"
	}
	old.Namespace = req.Namespace

	pol := v.Policies.Source.Current()
	d, err := v.decide(ctx, pol, old)
	if err != nil {
		logf.FromContext(ctx).Error(err, "could not decide on a NetworkPolicy change")
		return decision.Respond(ctx, req.Kind.Kind)
	}
	// This check only ever warns: it must not stand in the way of removing a policy.
	if d.Mode == config.ModeEnforce {
		d.Mode = config.ModeWarn
	}
	finding := decision.Finding{Rule: config.RuleNetworkPolicy, Decision: d}
	if d.Mode == config.ModeOff {
		return decision.Respond(ctx, req.Kind.Kind, finding)
	}
	exposed, err := v.exposedPods(ctx, old, updated, pol.Config.Rules.NetworkPolicy.Coverage)
	if err != nil {
		logf.FromContext(ctx).Error(err, "could not count the pods a NetworkPolicy change leaves uncovered",
			logKeyNetworkPolicy, client.ObjectKeyFromObject(old))
		return decision.Respond(ctx, req.Kind.Kind)
	}
	if exposed > 0 {
		finding.Errs = field.ErrorList{field.Forbidden(nil, fmt.Sprintf(
			"%s NetworkPolicy %s leaves %s in namespace %s uncovered",
			action, old.Name, podsText(exposed), old.Namespace))}
	}
	return decision.Respond(ctx, req.Kind.Kind, finding)
}

// exposedPods counts the namespace's live pods that the policies covered
// with old and no longer cover with updated (nil: deleted). The other
// policies come from the index.
func (v *NetworkPolicyValidator) exposedPods(ctx context.Context, old, updated *networkingv1.NetworkPolicy, coverage config.Coverage) (int, error) {
	before, err := Compile(old)
	if err != nil {
		return 0, fmt.Errorf("compiling the old NetworkPolicy: %w", err)
	}
	var policiesBefore, policiesAfter []Compiled
	for _, e := range v.Index.Snapshot(old.Namespace) {
		if e.UID != old.UID {
			policiesBefore = append(policiesBefore, e.Compiled)
		}
	}
	policiesAfter = append(policiesAfter, policiesBefore...)
	policiesBefore = append(policiesBefore, before)
	if updated != nil {
		after, err := Compile(updated)
		if err != nil {
			return 0, fmt.Errorf("compiling the NetworkPolicy: %w", err)
		}
		policiesAfter = append(policiesAfter, after)
	}

	exposed := 0
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	opts := &client.ListOptions{Namespace: old.Namespace, FieldSelector: livePods, Limit: podListPageSize}
	for {
		if err := v.Live.List(ctx, list, opts); err != nil {
			return 0, fmt.Errorf("listing the pods of namespace %q: %w", old.Namespace, err)
		}
		for i := range list.Items {
			pod := &list.Items[i]
			podLabels := labels.Set(pod.Labels)
			// Only pods the old policy selects can lose coverage through it.
			if pod.DeletionTimestamp != nil || !before.Selector.Matches(podLabels) {
				continue
			}
			if Covers(policiesBefore, podLabels, coverage) && !Covers(policiesAfter, podLabels, coverage) {
				exposed++
			}
		}
		if list.Continue == "" {
			return exposed, nil
		}
		opts.Continue = list.Continue
	}
}

func decodeNetworkPolicy(raw []byte) (*networkingv1.NetworkPolicy, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("the request has no object")
	}
	var np networkingv1.NetworkPolicy
	if err := json.Unmarshal(raw, &np); err != nil {
		return nil, err
	}
	return &np, nil
}

func podsText(n int) string {
	if n == 1 {
		return "1 pod"
	}
	return fmt.Sprintf("%d pods", n)
}
