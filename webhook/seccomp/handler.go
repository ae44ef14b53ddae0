package seccomp

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/resource"
)

// what names the rule's decision in an undecided answer.
const what = "the seccomp profile"

// Pods is what NewHandler mutates: Pod CREATE. It never denies (no Modes):
// the mutation only patches, and FinalPods judges what is admitted.
var Pods = &admit.Spec{Rule: config.RuleSeccomp, Kinds: []resource.Kind{resource.Pod}, Operations: resource.Create}

// FinalPods is what NewFinalHandler judges: the pod as every mutating
// webhook has left it, which the mode (a missing profile) and the
// Unconfined setting can deny. A later mutating webhook may remove the
// profile or set Unconfined after eksguard's mutation, and the mutation
// fails open: only a validating entry holds either way.
var FinalPods = &admit.Spec{Rule: config.RuleSeccomp, Kinds: []resource.Kind{resource.Pod}, Operations: resource.Create,
	Modes: func(s config.RuleSettings) []config.Mode { return []config.Mode{s.Seccomp.Mode, s.Seccomp.Unconfined} }}

// EphemeralContainers is what NewEphemeralContainersHandler judges: UPDATE
// of the subresource, which the Unconfined setting decides.
var EphemeralContainers = &admit.Spec{Rule: config.RuleSeccomp, Kinds: []resource.Kind{resource.PodEphemeralContainers},
	Operations: resource.Update, Modes: func(s config.RuleSettings) []config.Mode { return []config.Mode{s.Seccomp.Unconfined} }}

// NewHandler adds the RuntimeDefault profile to Pods and reports explicit
// Unconfined profiles. Its patch is built from the request's own object
// (decoded case-sensitively, so the pod sees exactly the fields the patch
// paths address), never from a re-encoded copy that would rewrite
// unrelated fields. Dry-run requests get the same answer: the handler has
// no side effects. A pod's seccomp profiles cannot change after CREATE.
func NewHandler(decider decision.Decider) admit.Answerer {
	return &admit.Handler[corev1.Pod]{Spec: Pods, What: what, Decode: decodePod, Decider: decider, Judge: judge}
}

// NewEphemeralContainersHandler judges ephemeral containers added to a
// running pod (CheckEphemeral) under the Unconfined setting: kubectl debug
// must not be a way to run Unconfined where pods cannot.
func NewEphemeralContainersHandler(decider decision.Decider) admit.Answerer {
	return &admit.Handler[corev1.Pod]{Spec: EphemeralContainers, What: what, Decode: decodePod, Decider: decider, Judge: judgeEphemeral}
}

func judgeEphemeral(ctx context.Context, r *admit.Review[corev1.Pod]) decision.Answer {
	d, err := r.Decide(ctx, r.Object, config.RuleSeccomp)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	unconfined := d.For(r.Policy.Config.Rules.Seccomp.Unconfined)
	return r.Respond(ctx, decision.Ruling{Rule: config.RuleSeccomp, Decision: unconfined, Errs: CheckEphemeral(r.Old, r.Object)})
}

// judge is the mutation: under enforce, the patch that adds the missing
// profile, and nothing else (what cannot be patched, and every warning,
// is FinalPods').
func judge(ctx context.Context, r *admit.Review[corev1.Pod]) decision.Answer {
	pod := r.Object
	if mirrorFromItsNode(pod, r.UserInfo.Username) {
		return r.Respond(ctx)
	}
	d, err := r.Decide(ctx, pod, config.RuleSeccomp)
	if err != nil {
		// No patch; FinalPods answers for the pod, failing as the mode says.
		logf.FromContext(ctx).Error(err, "not mutating a pod eksguard could not decide on")
		return r.Respond(ctx)
	}
	result := Check(pod)
	missing := decision.Ruling{Rule: config.RuleSeccomp, Decision: d.For(r.Policy.Config.Rules.Seccomp.Mode),
		Errs: result.Missing, Patches: result.Patches}
	if missing.Decision.Mode != config.ModeEnforce || len(result.Patches) == 0 {
		missing.Errs, missing.Patches = nil, nil
	}
	return r.Respond(ctx, missing)
}

// NewFinalHandler judges the pod that is admitted, after every mutation:
// a missing profile under the mode (under enforce, eksguard's mutation did
// not apply: eksguard was unreachable, or a later webhook removed it), and
// explicit Unconfined profiles under the Unconfined setting.
func NewFinalHandler(decider decision.Decider) admit.Answerer {
	return &admit.Handler[corev1.Pod]{Spec: FinalPods, What: what, Decode: decodePod, Decider: decider, Judge: judgeFinal}
}

func judgeFinal(ctx context.Context, r *admit.Review[corev1.Pod]) decision.Answer {
	pod := r.Object
	if mirrorFromItsNode(pod, r.UserInfo.Username) {
		return r.Respond(ctx)
	}
	d, err := r.Decide(ctx, pod, config.RuleSeccomp)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	settings := r.Policy.Config.Rules.Seccomp
	result := Check(pod)
	missing := decision.Ruling{Rule: config.RuleSeccomp, Decision: d.For(settings.Mode), Errs: result.Missing}
	if missing.Decision.Mode == config.ModeEnforce && len(result.Patches) > 0 {
		missing.Errs = field.ErrorList{field.Required(podSeccompPath, "pod has no seccomp profile: eksguard's mutation did not apply "+
			"(eksguard unreachable, or a later webhook removed it); set spec.securityContext.seccompProfile.type: RuntimeDefault")}
	}
	return r.Respond(ctx, missing,
		decision.Ruling{Rule: config.RuleSeccomp, Decision: d.For(settings.Unconfined), Errs: result.Unconfined})
}
