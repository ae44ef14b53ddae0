package decision

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/eksguard/eksguard/config"
)

// TestUndecided: enforce fails closed with the reason; warn, off and dry
// run admit with one warning; with several finding modes one enforcing is
// enough to fail closed.
func TestUndecided(t *testing.T) {
	err := errors.New("namespace labels unreadable")
	policy := func(dryRun bool) *config.Policy {
		cfg := config.Defaults()
		cfg.DryRun = dryRun
		p, compileErr := config.Compile(cfg, "eksguard-system")
		if compileErr != nil {
			t.Fatal(compileErr)
		}
		return p
	}
	const warning = "eksguard [seccomp] could not decide on the profile: namespace labels unreadable"
	for _, tt := range []struct {
		name      string
		dryRun    bool
		modes     []config.Mode
		wantError bool
	}{
		{name: "enforce", modes: []config.Mode{config.ModeEnforce}, wantError: true},
		{name: "warn", modes: []config.Mode{config.ModeWarn}},
		{name: "off", modes: []config.Mode{config.ModeOff}},
		{name: "enforce under dry run", dryRun: true, modes: []config.Mode{config.ModeEnforce}},
		{name: "one of two enforces", modes: []config.Mode{config.ModeWarn, config.ModeEnforce}, wantError: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := Undecided(context.Background(), policy(tt.dryRun), "Pod", config.RuleSeccomp, "the profile", err, tt.modes...).Response()
			if tt.wantError {
				if resp.Allowed || resp.Result.Code != http.StatusInternalServerError ||
					resp.Result.Message != "eksguard could not decide on the profile: namespace labels unreadable" {
					t.Errorf("handler answer %+v, want a 500 with the reason", resp.Result)
				}
				return
			}
			if !resp.Allowed || len(resp.Warnings) != 1 || resp.Warnings[0] != warning {
				t.Errorf("handler answer allowed=%t warnings=%q, want admitted with %q", resp.Allowed, resp.Warnings, warning)
			}
		})
	}
}
