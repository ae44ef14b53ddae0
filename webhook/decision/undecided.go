package decision

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"

	"github.com/eksguard/eksguard/internal/logkeys"
)

// OutcomeUndecided is the metrics outcome of an admission a rule could
// not decide.
const OutcomeUndecided = "undecided"

// Undecided is the one answer every rule gives when it cannot decide (a
// namespace's labels unreadable, a live read failed). A rule that may deny
// (one of its modes enforces, and no dry run is on) fails closed with the
// reason; a rule that only warns admits the object with a warning saying it
// could not decide, so that a warn-only rule never blocks, whatever the
// failurePolicy of its webhook. what names the decision in the reason
// ("NetworkPolicy coverage"); modes are the rule's finding modes.
func Undecided(ctx context.Context, pol *config.Policy, kind string, rule config.RuleName, what string, err error, modes ...config.Mode) admission.Response {
	mayDeny := MayDeny(pol, modes...)
	recordUndecided(ctx, kind, rule, mayDeny, err)
	if mayDeny {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("eksguard could not decide on %s: %w", what, err))
	}
	return admission.Allowed("").WithWarnings(undecidedWarning(rule, what, err))
}

// MayDeny reports whether a rule with these finding modes can deny under
// pol: one of them enforces and no dry run is on.
func MayDeny(pol *config.Policy, modes ...config.Mode) bool {
	return !pol.Config.DryRun && slices.Contains(modes, config.ModeEnforce)
}

func undecidedWarning(rule config.RuleName, what string, err error) string {
	return WarningText(rule, &field.Error{Detail: fmt.Sprintf("could not decide on %s: %v", what, err)})
}

func recordUndecided(ctx context.Context, kind string, rule config.RuleName, mayDeny bool, err error) {
	mode := config.ModeWarn
	if mayDeny {
		mode = config.ModeEnforce
	}
	admissionDecisions.WithLabelValues(string(rule), kind, string(mode), OutcomeUndecided).Inc()
	logf.FromContext(ctx).Error(err, "a rule could not decide", logkeys.Rule, rule, logkeys.Kind, kind, logkeys.Mode, mode)
}
