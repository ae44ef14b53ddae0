package decision

import (
	"context"
	"errors"
	"net/http"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/internal/lib/logkeys"
)

// record logs and counts every ruling of one admission.
func record(ctx context.Context, kind string, rulings ...Ruling) {
	// Checked once: building the log arguments costs allocations on every
	// admission even when the line is not written.
	log := logf.FromContext(ctx).V(1)
	logEnabled := log.Enabled()
	for _, r := range rulings {
		outcome := r.Outcome()
		admissionDecisions.WithLabelValues(string(r.Rule), kind, string(r.Decision.Mode), outcome).Inc()
		if r.Decision.Exemption != "" {
			exemptionsApplied.WithLabelValues(string(r.Rule), r.Decision.Exemption).Inc()
		}
		if logEnabled && (outcome == OutcomeDenied || outcome == OutcomeWarned || outcome == OutcomeMutated || outcome == OutcomeExempted) {
			log.Info("admission finding", logkeys.Rule, r.Rule, logkeys.Kind, kind,
				logkeys.Mode, r.Decision.Mode, logkeys.Outcome, outcome,
				logkeys.Exemption, r.Decision.Exemption, logkeys.Reason, r.Errs.ToAggregate())
		}
	}
}

// Respond records rulings and composes them: what a rule's handler returns.
func Respond(ctx context.Context, kind string, rulings ...Ruling) Answer {
	record(ctx, kind, rulings...)
	return Compose(kind, rulings...)
}

// Response renders the answer as the webhook gives it: a failure's code
// and message, a 403 with the denial, or the object admitted with the
// patches of mutated findings; warnings in every case but a failure's.
func (a Answer) Response() admission.Response {
	if a.Failure != nil {
		return admission.Errored(a.Failure.Code, errors.New(a.Failure.Message))
	}
	if denial := a.Denial(); denial != "" {
		return admission.Denied(denial).WithWarnings(a.Warnings()...)
	}
	return admission.Patched("", a.Patches()...).WithWarnings(a.Warnings()...)
}

// maxErrorLength bounds the message of an answer to unreadable input: a
// decode error may quote much of a huge object.
const maxErrorLength = 1024

// BadRequest answers input eksguard cannot read, naming what was wrong.
func BadRequest(kind string, err error) Answer {
	return Answer{Kind: kind, Failure: &Failure{Code: http.StatusBadRequest, Message: truncate(err.Error(), maxErrorLength)}}
}

// ErrUnsupportedKind is returned for a kind a handler does not serve.
var ErrUnsupportedKind = errors.New("unsupported kind")
