package decision

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
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
// ("NetworkPolicy coverage"); modes are the modes that can make the rule
// deny here (admit.Spec.Modes, or the decisions already made).
func Undecided(ctx context.Context, pol *config.Policy, kind string, rule config.RuleName, what string, err error, modes ...config.Mode) Answer {
	mayDeny := MayDeny(pol, modes...)
	recordUndecided(ctx, kind, rule, mayDeny, err)
	if mayDeny {
		return Answer{Kind: kind, Failure: &Failure{Code: http.StatusInternalServerError,
			Message: fmt.Sprintf("eksguard could not decide on %s: %v", what, err)}}
	}
	return Answer{Kind: kind, Findings: []Finding{{Rule: rule, Outcome: OutcomeWarned,
		Detail: fmt.Sprintf("could not decide on %s: %v", what, err)}}}
}

// MayDeny reports whether a rule with these finding modes can deny under
// pol: one of them enforces and no dry run is on.
func MayDeny(pol *config.Policy, modes ...config.Mode) bool {
	return !pol.Config.DryRun && slices.Contains(modes, config.ModeEnforce)
}

func recordUndecided(ctx context.Context, kind string, rule config.RuleName, mayDeny bool, err error) {
	mode := config.ModeWarn
	if mayDeny {
		mode = config.ModeEnforce
	}
	admissionDecisions.WithLabelValues(string(rule), kind, string(mode), OutcomeUndecided).Inc()
	logf.FromContext(ctx).Error(err, "a rule could not decide", logkeys.Rule, rule, logkeys.Kind, kind, logkeys.Mode, mode)
}
