package failurepolicy

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/webhook"
)

// configurations are eksguard's two webhook configurations with every
// route's entry failing closed, plus an entry eksguard does not serve.
func configurations() []client.Object {
	m := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "eksguard"}}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "eksguard"}}
	for _, r := range webhook.Routes {
		if r.Mutating {
			m.Webhooks = append(m.Webhooks, admissionregistrationv1.MutatingWebhook{Name: r.Name, FailurePolicy: ptr.To(admissionregistrationv1.Fail)})
		} else {
			v.Webhooks = append(v.Webhooks, admissionregistrationv1.ValidatingWebhook{Name: r.Name, FailurePolicy: ptr.To(admissionregistrationv1.Fail)})
		}
	}
	v.Webhooks = append(v.Webhooks, admissionregistrationv1.ValidatingWebhook{Name: "someone.else.io", FailurePolicy: ptr.To(admissionregistrationv1.Fail)})
	return []client.Object{m, v}
}

func livePolicies(t *testing.T, c client.Client) map[string]admissionregistrationv1.FailurePolicyType {
	t.Helper()
	out := map[string]admissionregistrationv1.FailurePolicyType{}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := c.Get(context.Background(), client.ObjectKey{Name: "eksguard"}, &m); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), client.ObjectKey{Name: "eksguard"}, &v); err != nil {
		t.Fatal(err)
	}
	for _, w := range m.Webhooks {
		out[w.Name] = *w.FailurePolicy
	}
	for _, w := range v.Webhooks {
		out[w.Name] = *w.FailurePolicy
	}
	return out
}

// TestReconcile: every route's entry gets the failure policy the policy in
// force asks for, others' entries are left alone; with reconciliation off
// nothing is written and the gauge counts the entries that disagree.
func TestReconcile(t *testing.T) {
	warnNetpol := ruletest.CompilePolicy(t, func(c *config.Config) { c.Rules.NetworkPolicy.Mode = config.ModeWarn })
	for _, patch := range []bool{true, false} {
		c := fake.NewClientBuilder().WithObjects(configurations()...).Build()
		r := &Reconciler{Reader: c, Writer: c, Store: config.NewStore(warnNetpol), Name: "eksguard",
			Enforcing: admissionregistrationv1.Fail, Patch: patch}
		if err := r.reconcile(context.Background(), warnNetpol); err != nil {
			t.Fatal(err)
		}
		got := livePolicies(t, c)
		want := Desired(warnNetpol, admissionregistrationv1.Fail)
		differ := 0
		for name, fp := range want {
			if got[name] != fp {
				differ++
			}
		}
		if got["someone.else.io"] != admissionregistrationv1.Fail {
			t.Errorf("patch=%t: an entry eksguard does not serve was changed", patch)
		}
		if patch && differ != 0 {
			t.Errorf("after a pass %d entries still differ: %v", differ, got)
		}
		// Under warn for NetworkPolicy: its entries, the mutation, the two
		// warn-only and the Unconfined (warn) entries open; TLS stays closed.
		if !patch && differ != 6 {
			t.Errorf("reconciliation off: %d entries differ, want 6 (%v)", differ, got)
		}
		if n := testutil.ToFloat64(mismatches); (patch && n != 0) || (!patch && n != 6) {
			t.Errorf("patch=%t: %s = %v", patch, MetricMismatches, n)
		}
	}
}

// TestRepairOnChange: a configuration re-applied with other failure
// policies (a helm upgrade, a GitOps sync) is repaired as soon as its watch
// event arrives, well before the resync.
func TestRepairOnChange(t *testing.T) {
	warnNetpol := ruletest.CompilePolicy(t, func(c *config.Config) { c.Rules.NetworkPolicy.Mode = config.ModeWarn })
	c := fake.NewClientBuilder().WithObjects(configurations()...).Build()
	r := &Reconciler{Reader: c, Writer: c, Watcher: c, Store: config.NewStore(warnNetpol), Name: "eksguard",
		Enforcing: admissionregistrationv1.Fail, Patch: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Start(ctx) }()
	want := Desired(warnNetpol, admissionregistrationv1.Fail)
	converged := func() bool {
		got := livePolicies(t, c)
		for name, fp := range want {
			if got[name] != fp {
				return false
			}
		}
		return true
	}
	waitUntil := func(what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second) // the resync is 30 s away
		for !converged() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not repaired within 5 s: %v", what, livePolicies(t, c))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitUntil("first pass")
	// Re-applied as rendered for another policy: every entry fails closed.
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := c.Get(ctx, client.ObjectKey{Name: "eksguard"}, &v); err != nil {
		t.Fatal(err)
	}
	for i := range v.Webhooks {
		v.Webhooks[i].FailurePolicy = ptr.To(admissionregistrationv1.Fail)
	}
	if err := c.Update(ctx, &v); err != nil {
		t.Fatal(err)
	}
	waitUntil("after the re-apply")
}
