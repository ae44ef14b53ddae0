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

// Ruling is one rule's verdict on one object under the decision (effective
// mode, exclusion, exemption) that the policy gave for that object.
type Ruling struct {
	Rule     config.RuleName
	Decision config.Decision
	// Errs are the violations; empty means the object complies.
	Errs field.ErrorList
	// Patches, set by mutating rules, fix Errs: in enforce mode the object
	// is admitted with these patches instead of being denied; in warn mode
	// Errs become warnings and the object is not patched.
	Patches []jsonpatch.JsonPatchOperation
}

// Outcome of a Ruling, as recorded in metrics and carried by findings.
const (
	OutcomeAllowed  = "allowed"
	OutcomeDenied   = "denied"
	OutcomeWarned   = "warned"
	OutcomeMutated  = "mutated"
	OutcomeExempted = "exempted"
	OutcomeExcluded = "excluded"
	OutcomeOff      = "off"
)

// Outcome classifies a ruling.
func (r Ruling) Outcome() string {
	switch {
	case r.Decision.Excluded:
		return OutcomeExcluded
	case r.Decision.Exemption != "":
		return OutcomeExempted
	case r.Decision.Mode == config.ModeOff:
		return OutcomeOff
	case len(r.Errs) == 0:
		return OutcomeAllowed
	case r.Decision.Mode == config.ModeWarn:
		return OutcomeWarned
	case len(r.Patches) > 0:
		return OutcomeMutated
	default:
		return OutcomeDenied
	}
}

// Finding is one thing eksguard says about an object, as data: every
// output renders it, none parses it back.
type Finding struct {
	Rule config.RuleName `json:"rule"`
	// Outcome is OutcomeDenied, OutcomeWarned or OutcomeMutated.
	Outcome string `json:"outcome"`
	// Field is the path of the offending field; empty when no one field is.
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail"`
	// Patches are what a mutated finding changes, made by its Rule.
	Patches []jsonpatch.JsonPatchOperation `json:"patches,omitempty"`
}

// Answer is eksguard's answer for one object, as data.
type Answer struct {
	// Kind names the object in the denial ("eksguard denied this Pod").
	Kind string
	// Findings are the denied, warned and mutated findings, in rule order.
	// The patches of mutated findings are applied only if nothing is denied.
	Findings []Finding
	// Failure, when set, is why no verdict was given: input nobody can read
	// (400) or a rule that could not decide and may deny (500).
	Failure *Failure
}

// Failure is an answer without a verdict.
type Failure struct {
	Code    int32
	Message string
}

// Compose combines rulings: enforced violations deny unless their ruling
// carries patches (then they mutate), warn-mode violations warn, everything
// else is silent. It is pure; Respond also records the rulings in metrics and logs.
func Compose(kind string, rulings ...Ruling) Answer {
	a := Answer{Kind: kind}
	for _, r := range rulings {
		switch outcome := r.Outcome(); outcome {
		case OutcomeDenied, OutcomeWarned:
			for _, e := range r.Errs {
				a.Findings = append(a.Findings, Finding{Rule: r.Rule, Outcome: outcome, Field: fieldOf(e), Detail: e.Detail})
			}
		case OutcomeMutated:
			// The patches are the ruling's, given once with its first violation.
			for i, e := range r.Errs {
				f := Finding{Rule: r.Rule, Outcome: outcome, Field: fieldOf(e), Detail: e.Detail}
				if i == 0 {
					f.Patches = r.Patches
				}
				a.Findings = append(a.Findings, f)
			}
		}
	}
	return a
}

// fieldOf is the path of e; empty for an error of no one field (a nil
// path, which field.Error spells "<nil>").
func fieldOf(e *field.Error) string {
	if e.Field == "<nil>" {
		return ""
	}
	return e.Field
}

// Denied reports whether the object is refused: a failure or a denied finding.
func (a Answer) Denied() bool { return a.Failure != nil || a.has(OutcomeDenied) }

func (a Answer) has(outcome string) bool {
	for _, f := range a.Findings {
		if f.Outcome == outcome {
			return true
		}
	}
	return false
}

// Denial is the 403 reason, every denied finding in one line; empty when
// nothing is denied.
func (a Answer) Denial() string {
	var reasons []string
	for _, f := range a.Findings {
		if f.Outcome == OutcomeDenied {
			reasons = append(reasons, f.DenialText())
		}
	}
	if len(reasons) == 0 {
		return ""
	}
	return truncate(fmt.Sprintf("eksguard denied this %s: %s", a.Kind, strings.Join(reasons, "; ")), MaxDenialLength)
}

// Warnings are the warned findings as kubectl warnings.
func (a Answer) Warnings() []string {
	var out []string
	for _, f := range a.Findings {
		if f.Outcome == OutcomeWarned {
			out = append(out, f.WarningText())
		}
	}
	return out
}

// Patches are the patches the object is admitted with: none when it is denied.
func (a Answer) Patches() []jsonpatch.JsonPatchOperation {
	if a.Denied() {
		return nil
	}
	var out []jsonpatch.JsonPatchOperation
	for _, f := range a.Findings {
		if f.Outcome == OutcomeMutated {
			out = append(out, f.Patches...)
		}
	}
	return out
}

// DenialText is the finding in a denial reason: rule, field path, detail.
func (f Finding) DenialText() string {
	return fmt.Sprintf("[%s] %s", f.Rule, f.FieldDetail())
}

// FieldDetail is the detail, after the field path when there is one.
func (f Finding) FieldDetail() string {
	if f.Field == "" {
		return f.Detail
	}
	return f.Field + ": " + f.Detail
}

// WarningText is the finding as a kubectl warning, cut to MaxWarningLength.
func (f Finding) WarningText() string {
	w := fmt.Sprintf("eksguard [%s] %s", f.Rule, f.Detail)
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
