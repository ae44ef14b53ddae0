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

// Findings that carry patches: enforce mutates, warn warns, and a denial by
// any finding drops every patch.
func TestJudgeWithPatches(t *testing.T) {
	add := jsonpatch.NewOperation("add", "/spec/securityContext/seccompProfile", map[string]string{"type": "RuntimeDefault"})
	missing := field.ErrorList{field.Required(field.NewPath("spec", "securityContext", "seccompProfile"), "pod has no seccomp profile")}
	unconfined := field.ErrorList{field.Invalid(field.NewPath("spec", "containers").Index(0).Child("securityContext", "seccompProfile", "type"),
		"Unconfined", `container "app" runs Unconfined`)}
	mutating := func(mode config.Mode) Finding {
		return Finding{Rule: config.RuleSeccomp, Decision: config.Decision{Mode: mode}, Errs: missing, Patches: []jsonpatch.JsonPatchOperation{add}}
	}
	tests := []struct {
		name        string
		findings    []Finding
		wantOutcome []string
		want        Answer
	}{
		{
			name:        "enforce mutates",
			findings:    []Finding{mutating(config.ModeEnforce)},
			wantOutcome: []string{OutcomeMutated},
			want:        Answer{Patches: []jsonpatch.JsonPatchOperation{add}},
		},
		{
			name:        "warn warns and does not patch",
			findings:    []Finding{mutating(config.ModeWarn)},
			wantOutcome: []string{OutcomeWarned},
			want:        Answer{Warnings: []string{"eksguard [seccomp] pod has no seccomp profile"}},
		},
		{
			name:        "off does nothing",
			findings:    []Finding{mutating(config.ModeOff)},
			wantOutcome: []string{OutcomeOff},
		},
		{
			name: "nothing to fix",
			findings: []Finding{{Rule: config.RuleSeccomp, Decision: config.Decision{Mode: config.ModeEnforce},
				Patches: []jsonpatch.JsonPatchOperation{add}}},
			wantOutcome: []string{OutcomeAllowed},
		},
		{
			name: "a denial drops the patches",
			findings: []Finding{mutating(config.ModeEnforce),
				{Rule: config.RuleSeccomp, Decision: config.Decision{Mode: config.ModeEnforce}, Errs: unconfined}},
			wantOutcome: []string{OutcomeMutated, OutcomeDenied},
			want: Answer{Denial: `eksguard denied this Pod: [seccomp] spec.containers[0].securityContext.seccompProfile.type: ` +
				`container "app" runs Unconfined`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var outcomes []string
			for _, f := range tc.findings {
				outcomes = append(outcomes, f.Outcome())
			}
			if !reflect.DeepEqual(outcomes, tc.wantOutcome) {
				t.Errorf("outcomes: got %q, want %q", outcomes, tc.wantOutcome)
			}
			if got := Judge("Pod", tc.findings...); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("verdict:\n got %+v\nwant %+v", got, tc.want)
			}
			resp := Respond(context.Background(), "Pod", tc.findings...)
			wantCode := int32(http.StatusOK)
			if !tc.want.Allowed() {
				wantCode = http.StatusForbidden
			}
			if resp.Allowed != tc.want.Allowed() || resp.Result.Code != wantCode || resp.Result.Message != tc.want.Denial ||
				!reflect.DeepEqual(resp.Patches, tc.want.Patches) || !reflect.DeepEqual(resp.Warnings, tc.want.Warnings) {
				t.Errorf("response: allowed=%t code=%d message=%q patches=%v warnings=%q, want the verdict %+v",
					resp.Allowed, resp.Result.Code, resp.Result.Message, resp.Patches, resp.Warnings, tc.want)
			}
		})
	}
}

// TestAnswerBounds: a denial is cut to MaxDenialLength, saying how much it
// left out, and so is the message for unreadable input.
func TestAnswerBounds(t *testing.T) {
	long := field.ErrorList{field.Forbidden(field.NewPath("spec"), strings.Repeat("x", 10000))}
	a := Judge("Pod", Finding{Rule: config.RuleSeccomp, Decision: config.Decision{Mode: config.ModeEnforce}, Errs: long})
	if len(a.Denial) != MaxDenialLength || !strings.HasSuffix(a.Denial, "more bytes)") {
		t.Errorf("denial of %d bytes ending %q, want %d ending with the count left out", len(a.Denial), a.Denial[len(a.Denial)-30:], MaxDenialLength)
	}
	resp := BadRequest(errors.New(strings.Repeat("y", 100000)))
	if n := len(resp.Result.Message); n != maxErrorLength {
		t.Errorf("bad-request message of %d bytes, want %d", n, maxErrorLength)
	}
}
