// Package decision turns rule findings into the one admission answer every
// eksguard webhook gives: a 403 denial with one readable reason for enforced
// findings, kubectl warnings for warn-mode findings, and metrics for both.
package decision

import (
	"fmt"
	"strings"

	jsonpatch "gomodules.xyz/jsonpatch/v2"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/config"
)

// MaxWarningLength is the longest warning eksguard returns; kubectl prints
// each warning on one line.
const MaxWarningLength = 120

// MaxDenialLength bounds a denial reason: an object with very many labels
// or ports must not make the answer (and the API server's event and audit
// log) megabytes long.
const MaxDenialLength = 4096

// Finding is one rule's result on one object, under the decision (effective
// mode, exclusion, exemption) that the policy gave for that object.
type Finding struct {
	Rule     config.RuleName
	Decision config.Decision
	// Errs are the violations; empty means the object complies.
	Errs field.ErrorList
	// Patches, set by mutating rules, fix Errs: in enforce mode the object
	// is admitted with these patches instead of being denied; in warn mode
	// Errs become warnings and the object is not patched.
	Patches []jsonpatch.JsonPatchOperation
}

// Outcome of a Finding, as recorded in metrics.
const (
	OutcomeAllowed  = "allowed"
	OutcomeDenied   = "denied"
	OutcomeWarned   = "warned"
	OutcomeMutated  = "mutated"
	OutcomeExempted = "exempted"
	OutcomeExcluded = "excluded"
	OutcomeOff      = "off"
)

// Outcome classifies a finding.
func (f Finding) Outcome() string {
	switch {
	case f.Decision.Excluded:
		return OutcomeExcluded
	case f.Decision.Exemption != "":
		return OutcomeExempted
	case f.Decision.Mode == config.ModeOff:
		return OutcomeOff
	case len(f.Errs) == 0:
		return OutcomeAllowed
	case f.Decision.Mode == config.ModeWarn:
		return OutcomeWarned
	case len(f.Patches) > 0:
		return OutcomeMutated
	default:
		return OutcomeDenied
	}
}

// Answer is the combined answer of every finding for one object.
type Answer struct {
	// Denial is the 403 reason; empty when the object is admitted.
	Denial   string
	Warnings []string
	// Patches of mutated findings; always empty when the object is denied.
	Patches []jsonpatch.JsonPatchOperation
}

// Allowed reports whether the object is admitted.
func (v Answer) Allowed() bool { return v.Denial == "" }

// Judge combines findings: enforced violations deny unless their finding
// carries patches (then they mutate), warn-mode violations warn, everything
// else is silent. It is pure; see Respond for metrics.
func Judge(kind string, findings ...Finding) Answer {
	var v Answer
	var reasons []string
	for _, f := range findings {
		switch f.Outcome() {
		case OutcomeDenied:
			for _, e := range f.Errs {
				reasons = append(reasons, DenialText(f.Rule, e))
			}
		case OutcomeWarned:
			for _, e := range f.Errs {
				v.Warnings = append(v.Warnings, WarningText(f.Rule, e))
			}
		case OutcomeMutated:
			v.Patches = append(v.Patches, f.Patches...)
		}
	}
	if len(reasons) > 0 {
		v.Denial = truncate(fmt.Sprintf("eksguard denied this %s: %s", kind, strings.Join(reasons, "; ")), MaxDenialLength)
		v.Patches = nil
	}
	return v
}

// DenialText is one violation in a denial reason: rule, field path, detail.
func DenialText(rule config.RuleName, e *field.Error) string {
	if e.Field == "" {
		return fmt.Sprintf("[%s] %s", rule, e.Detail)
	}
	return fmt.Sprintf("[%s] %s: %s", rule, e.Field, e.Detail)
}

// WarningText is one violation as a kubectl warning, cut to MaxWarningLength.
func WarningText(rule config.RuleName, e *field.Error) string {
	w := fmt.Sprintf("eksguard [%s] %s", rule, e.Detail)
	if len(w) > MaxWarningLength {
		w = w[:MaxWarningLength-3] + "..."
	}
	return w
}

// truncate cuts s to at most limit bytes, saying how much it left out.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	suffix := fmt.Sprintf("... (%d more bytes)", len(s)-limit)
	return s[:limit-len(suffix)] + suffix
}
