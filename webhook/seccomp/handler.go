package seccomp

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/decision"
)

// Path serves Pod CREATE.
const Path = "/mutate-v1-pod-seccomp"

// Handler adds the RuntimeDefault profile to Pods on CREATE and reports
// explicit Unconfined profiles. It is a raw admission.Handler so that its
// patch is built from the request's own object, never from a re-encoded
// copy that would rewrite unrelated fields. Dry-run requests get the same
// answer: the handler has no side effects.
type Handler struct {
	Policies decision.Policies
}

var _ admission.Handler = &Handler{}

// Handle implements admission.Handler.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Kind.Group != "" || req.Kind.Version != "v1" || req.Kind.Kind != "Pod" {
		return decision.BadRequest(fmt.Errorf("%w %s: this webhook serves v1 Pods", decision.ErrUnsupportedKind, req.Kind))
	}
	// A pod's seccomp profiles cannot change after CREATE.
	if req.Operation != admissionv1.Create {
		return decision.Respond(ctx, req.Kind.Kind)
	}
	pod, err := decodePod(req.Object.Raw)
	if err != nil {
		return decision.BadRequest(fmt.Errorf("decoding the Pod: %w", err))
	}
	// The object of a CREATE may omit its namespace; the request names it.
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}

	pol := h.Policies.Source.Current()
	settings := pol.Config.Rules.Seccomp
	decisions, err := h.Policies.DecideWithPolicy(ctx, pol, pod, config.RuleSeccomp, settings.Mode, settings.Unconfined)
	if err != nil {
		return decision.Undecided(ctx, pol, req.Kind.Kind, config.RuleSeccomp, "the seccomp profile", err, settings.Mode, settings.Unconfined)
	}
	result := Check(pod)
	return decision.Respond(ctx, req.Kind.Kind,
		decision.Finding{Rule: config.RuleSeccomp, Decision: decisions[0], Errs: result.Missing, Patches: result.Patches},
		decision.Finding{Rule: config.RuleSeccomp, Decision: decisions[1], Errs: result.Unconfined},
	)
}

// decodePod decodes as the API server does: field names are case-sensitive,
// so the decoded pod sees exactly the fields that the patch paths address.
func decodePod(raw []byte) (*corev1.Pod, error) {
	if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, errors.New("the request has no object")
	}
	var pod corev1.Pod
	if err := utiljson.Unmarshal(raw, &pod); err != nil {
		return nil, err
	}
	return &pod, nil
}
