package webhook

import (
	"os"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/eksguard/eksguard/webhook/netpol"
)

// TestReadmePathTable: the README's table of webhook paths is the one the
// route table renders.
func TestReadmePathTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := PathTable(); !strings.Contains(string(readme), want) {
		t.Errorf("README.md lacks the path table of webhook.Routes; it should read:\n%s", want)
	}
}

// TestRoutes: names and paths are unique, mutating routes come first (the
// offline engine relies on that order), and every route has a handler.
func TestRoutes(t *testing.T) {
	names, paths := map[string]bool{}, map[string]bool{}
	seenValidating := false
	for _, r := range Routes {
		if names[r.Name] || paths[r.Path] {
			t.Errorf("route %s %s repeats a name or path", r.Name, r.Path)
		}
		names[r.Name], paths[r.Path] = true, true
		if r.Mutating && seenValidating {
			t.Errorf("mutating route %s after a validating one", r.Name)
		}
		seenValidating = seenValidating || !r.Mutating
		if r.Webhook(Handlers{Coverage: &netpol.Checker{}}) == nil || len(r.Rules()) == 0 {
			t.Errorf("route %s has no handler or no rules", r.Name)
		}
		if r.Mutating && r.WarnOnly {
			t.Errorf("route %s is both mutating and warn-only", r.Name)
		}
	}
}

// TestAdmits: a route admits the kinds it lists, on CREATE only.
func TestAdmits(t *testing.T) {
	for _, r := range Routes {
		creates := false
		for _, op := range r.Operations {
			creates = creates || op == admissionregistrationv1.Create
		}
		for _, k := range r.Kinds {
			if got := r.Admits(k.GVK); got != creates {
				t.Errorf("%s Admits(%s) = %t, want %t", r.Name, k.GVK, got, creates)
			}
		}
	}
}
