package decision

import (
	"context"
	"errors"
	"net/http"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/internal/logkeys"
)

// Record logs and counts every finding of one admission.
func Record(ctx context.Context, kind string, findings ...Finding) {
	// Checked once: building the log arguments costs allocations on every
	// admission even when the line is not written.
	log := logf.FromContext(ctx).V(1)
	logEnabled := log.Enabled()
	for _, f := range findings {
		outcome := f.Outcome()
		admissionDecisions.WithLabelValues(string(f.Rule), kind, string(f.Decision.Mode), outcome).Inc()
		if f.Decision.Exemption != "" {
			exemptionsApplied.WithLabelValues(string(f.Rule), f.Decision.Exemption).Inc()
		}
		if logEnabled && (outcome == OutcomeDenied || outcome == OutcomeWarned || outcome == OutcomeMutated || outcome == OutcomeExempted) {
			log.Info("admission finding", logkeys.Rule, f.Rule, logkeys.Kind, kind,
				logkeys.Mode, f.Decision.Mode, logkeys.Outcome, outcome,
				logkeys.Exemption, f.Decision.Exemption, logkeys.Reason, f.Errs.ToAggregate())
		}
	}
}

// Respond judges and records findings and builds the admission.Response
// for raw handlers, with the patches of mutated findings when admitted.
func Respond(ctx context.Context, kind string, findings ...Finding) admission.Response {
	Record(ctx, kind, findings...)
	v := Judge(kind, findings...)
	if !v.Allowed() {
		return admission.Denied(v.Denial).WithWarnings(v.Warnings...)
	}
	return admission.Patched("", v.Patches...).WithWarnings(v.Warnings...)
}

// maxErrorLength bounds the message of an answer to unreadable input: a
// decode error may quote much of a huge object.
const maxErrorLength = 1024

// BadRequest answers input eksguard cannot read, naming what was wrong.
func BadRequest(err error) admission.Response {
	return admission.Errored(http.StatusBadRequest, errors.New(truncate(err.Error(), maxErrorLength)))
}

// ErrUnsupportedKind is returned for a kind a handler does not serve.
var ErrUnsupportedKind = errors.New("unsupported kind")
