package decision

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	jsonpatch "gomodules.xyz/jsonpatch/v2"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/config"
)

// Rulings that carry patches: enforce mutates, warn warns, and a denial by
// any ruling drops every patch; the answer holds them as findings.
func TestComposeWithPatches(t *testing.T) {
	add := jsonpatch.NewOperation("add", "/spec/securityContext/seccompProfile", map[string]string{"type": "RuntimeDefault"})
	missing := field.ErrorList{field.Required(field.NewPath("spec", "securityContext", "seccompProfile"), "pod has no seccomp profile")}
	unconfined := field.ErrorList{field.Invalid(field.NewPath("spec", "containers").Index(0).Child("securityContext", "seccompProfile", "type"),
		"Unconfined", `container "app" runs Unconfined`)}
	mutating := func(mode config.Mode) Ruling {
		return Ruling{Rule: config.RuleSeccomp, Decision: config.Decision{Mode: mode}, Errs: missing, Patches: []jsonpatch.JsonPatchOperation{add}}
	}
	tests := []struct {
		name        string
		rulings     []Ruling
		wantOutcome []string
		want        wantAnswer
	}{
		{
			name:        "enforce mutates",
			rulings:     []Ruling{mutating(config.ModeEnforce)},
			wantOutcome: []string{OutcomeMutated},
			want:        wantAnswer{Patches: []jsonpatch.JsonPatchOperation{add}},
		},
		{
			name:        "warn warns and does not patch",
			rulings:     []Ruling{mutating(config.ModeWarn)},
			wantOutcome: []string{OutcomeWarned},
			want:        wantAnswer{Warnings: []string{"eksguard [seccomp] pod has no seccomp profile"}},
		},
		{
			name:        "off does nothing",
			rulings:     []Ruling{mutating(config.ModeOff)},
			wantOutcome: []string{OutcomeOff},
		},
		{
			name: "nothing to fix",
			rulings: []Ruling{{Rule: config.RuleSeccomp, Decision: config.Decision{Mode: config.ModeEnforce},
				Patches: []jsonpatch.JsonPatchOperation{add}}},
			wantOutcome: []string{OutcomeAllowed},
		},
		{
			name: "a denial drops the patches",
			rulings: []Ruling{mutating(config.ModeEnforce),
				{Rule: config.RuleSeccomp, Decision: config.Decision{Mode: config.ModeEnforce}, Errs: unconfined}},
			wantOutcome: []string{OutcomeMutated, OutcomeDenied},
			want: wantAnswer{Denial: `eksguard denied this Pod: [seccomp] spec.containers[0].securityContext.seccompProfile.type: ` +
				`container "app" runs Unconfined`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var outcomes []string
			for _, r := range tc.rulings {
				outcomes = append(outcomes, r.Outcome())
			}
			if !reflect.DeepEqual(outcomes, tc.wantOutcome) {
				t.Errorf("outcomes: got %q, want %q", outcomes, tc.wantOutcome)
			}
			a := Compose("Pod", tc.rulings...)
			if got := (wantAnswer{Denial: a.Denial(), Warnings: a.Warnings(), Patches: a.Patches()}); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("answer:\n got %+v\nwant %+v", got, tc.want)
			}
			resp := Respond(context.Background(), "Pod", tc.rulings...).Response()
			wantCode := int32(http.StatusOK)
			if tc.want.Denial != "" {
				wantCode = http.StatusForbidden
			}
			if resp.Allowed != (tc.want.Denial == "") || resp.Result.Code != wantCode || resp.Result.Message != tc.want.Denial ||
				!reflect.DeepEqual(resp.Patches, tc.want.Patches) || !reflect.DeepEqual(resp.Warnings, tc.want.Warnings) {
				t.Errorf("response: allowed=%t code=%d message=%q patches=%v warnings=%q, want %+v",
					resp.Allowed, resp.Result.Code, resp.Result.Message, resp.Patches, resp.Warnings, tc.want)
			}
		})
	}
}

// wantAnswer is an answer as the webhook renders it.
type wantAnswer struct {
	Denial   string
	Warnings []string
	Patches  []jsonpatch.JsonPatchOperation
}

// TestFindings: each violation is a finding with its rule, outcome, field
// and detail; a mutated ruling's patches go with its first finding.
func TestFindings(t *testing.T) {
	add := jsonpatch.NewOperation("add", "/spec/securityContext", map[string]string{})
	a := Compose("Pod",
		Ruling{Rule: config.RuleSeccomp, Decision: config.Decision{Mode: config.ModeEnforce},
			Errs: field.ErrorList{field.Required(field.NewPath("spec", "securityContext"), "missing")}, Patches: []jsonpatch.JsonPatchOperation{add}},
		Ruling{Rule: config.RuleNetworkPolicy, Decision: config.Decision{Mode: config.ModeWarn},
			Errs: field.ErrorList{field.Forbidden(nil, "uncovered"), field.Forbidden(field.NewPath("metadata"), "again")}},
		Ruling{Rule: config.RuleLoadBalancerTLS, Decision: config.Decision{Mode: config.ModeEnforce, Exemption: "legacy"},
			Errs: field.ErrorList{field.Forbidden(nil, "exempted, not a finding")}},
	)
	want := []Finding{
		{Rule: config.RuleSeccomp, Outcome: OutcomeMutated, Field: "spec.securityContext", Detail: "missing", Patches: []jsonpatch.JsonPatchOperation{add}},
		{Rule: config.RuleNetworkPolicy, Outcome: OutcomeWarned, Detail: "uncovered"},
		{Rule: config.RuleNetworkPolicy, Outcome: OutcomeWarned, Field: "metadata", Detail: "again"},
	}
	if !reflect.DeepEqual(a.Findings, want) || a.Kind != "Pod" || a.Denied() {
		t.Errorf("answer %+v, want findings %+v", a, want)
	}
}

// TestAnswerBounds: a denial is cut to MaxDenialLength, saying how much it
// left out, and so is the message for unreadable input.
func TestAnswerBounds(t *testing.T) {
	long := field.ErrorList{field.Forbidden(field.NewPath("spec"), strings.Repeat("x", 10000))}
	denial := Compose("Pod", Ruling{Rule: config.RuleSeccomp, Decision: config.Decision{Mode: config.ModeEnforce}, Errs: long}).Denial()
	if len(denial) != MaxDenialLength || !strings.HasSuffix(denial, "more bytes)") {
		t.Errorf("denial of %d bytes ending %q, want %d ending with the count left out", len(denial), denial[len(denial)-30:], MaxDenialLength)
	}
	resp := BadRequest("Pod", errors.New(strings.Repeat("y", 100000))).Response()
	if n := len(resp.Result.Message); n != maxErrorLength {
		t.Errorf("bad-request message of %d bytes, want %d", n, maxErrorLength)
	}
}
