package seccomp

import (
	"context"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/decision"
)

// podKinds is what both seccomp routes judge: the pod itself (the
// ephemeralcontainers subresource also carries the whole Pod).
var podKinds = []schema.GroupVersionKind{corev1.SchemeGroupVersion.WithKind("Pod")}

// Path serves Pod CREATE.
const Path = "/mutate-v1-pod-seccomp"

// NewHandler adds the RuntimeDefault profile to Pods on CREATE and reports
// explicit Unconfined profiles. It is a raw admission.Handler so that its
// patch is built from the request's own object (decoded case-sensitively,
// so the pod sees exactly the fields the patch paths address), never from
// a re-encoded copy that would rewrite unrelated fields. Dry-run requests
// get the same answer: the handler has no side effects. A pod's seccomp
// profiles cannot change after CREATE.
func NewHandler(decider decision.Decider) admission.Handler {
	return &decision.Handler[corev1.Pod]{
		Serves:     "v1 Pods",
		Kinds:      podKinds,
		Operations: []admissionv1.Operation{admissionv1.Create},
		Decode:     decodePod,
		Decider:    decider,
		Judge:      judge,
	}
}

// EphemeralContainersPath serves UPDATE of the pods/ephemeralcontainers subresource.
const EphemeralContainersPath = "/validate-v1-pod-ephemeralcontainers-seccomp"

// ephemeralContainers is the subresource that adds ephemeral containers.
const ephemeralContainers = "ephemeralcontainers"

// NewEphemeralContainersHandler judges ephemeral containers added to a
// running pod (CheckEphemeral) under the Unconfined setting: kubectl debug
// must not be a way to run Unconfined where pods cannot.
func NewEphemeralContainersHandler(decider decision.Decider) admission.Handler {
	return &decision.Handler[corev1.Pod]{
		Serves:     "v1 Pods (the ephemeralcontainers subresource)",
		Kinds:      podKinds,
		Operations: []admissionv1.Operation{admissionv1.Update},
		Decode:     decodePod,
		Decider:    decider,
		Judge:      judgeEphemeral,
	}
}

func judgeEphemeral(ctx context.Context, r decision.Review[corev1.Pod]) admission.Response {
	if r.SubResource != ephemeralContainers {
		return decision.Respond(ctx, r.Kind.Kind)
	}
	pod := r.Object
	if pod.Namespace == "" {
		pod.Namespace = r.Namespace
	}
	settings := r.Policy.Config.Rules.Seccomp
	d, err := r.Decider.Decide(ctx, r.Policy, pod, config.RuleSeccomp, settings.Unconfined)
	if err != nil {
		return decision.Undecided(ctx, r.Policy, r.Kind.Kind, config.RuleSeccomp, "the seccomp profile", err, settings.Unconfined)
	}
	return decision.Respond(ctx, r.Kind.Kind, decision.Finding{Rule: config.RuleSeccomp, Decision: d, Errs: CheckEphemeral(r.Old, pod)})
}

// decisions are the rule's decisions for one pod.
type decisions struct {
	// missing is for a pod without a profile; unconfined for Unconfined ones.
	missing, unconfined config.Decision
}

func judge(ctx context.Context, r decision.Review[corev1.Pod]) admission.Response {
	pod := r.Object
	// The object of a CREATE may omit its namespace; the request names it.
	if pod.Namespace == "" {
		pod.Namespace = r.Namespace
	}
	if mirrorFromItsNode(pod, r.UserInfo.Username) {
		return decision.Respond(ctx, r.Kind.Kind)
	}
	settings := r.Policy.Config.Rules.Seccomp
	d, err := r.Decider.DecideWithPolicy(ctx, r.Policy, pod, config.RuleSeccomp, settings.Mode, settings.Unconfined)
	if err != nil {
		return decision.Undecided(ctx, r.Policy, r.Kind.Kind, config.RuleSeccomp, "the seccomp profile", err, settings.Mode, settings.Unconfined)
	}
	ds := decisions{missing: d[0], unconfined: d[1]}
	result := Check(pod)
	return decision.Respond(ctx, r.Kind.Kind,
		decision.Finding{Rule: config.RuleSeccomp, Decision: ds.missing, Errs: result.Missing, Patches: result.Patches},
		decision.Finding{Rule: config.RuleSeccomp, Decision: ds.unconfined, Errs: result.Unconfined},
	)
}
