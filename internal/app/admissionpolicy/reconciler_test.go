package admissionpolicy

import (
	"context"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

func mapper(served bool) meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	if served {
		m.Add(admissionregistrationv1.SchemeGroupVersion.WithKind(Kind.Kind), meta.RESTScopeRoot)
	}
	return m
}

// TestReconcile: where served, the policy in force is written and bound
// while seccomp enforces, unbound otherwise, owned by the mutating webhook
// configuration; where not served, nothing is written.
func TestReconcile(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	owner := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "eksguard", UID: "mwc-uid"}}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(owner).Build()
	exists := func(obj client.Object) bool {
		err := c.Get(ctx, client.ObjectKey{Name: "eksguard-seccomp"}, obj)
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}

	r := &Reconciler{Reader: c, Writer: c, Mapper: mapper(false), Name: "eksguard-seccomp", Owner: "eksguard", Now: func() time.Time { return now }}
	if _, err := r.Reconcile(ctx, ruletest.CompilePolicy(t, nil)); err != nil {
		t.Fatal(err)
	}
	if exists(&admissionregistrationv1.MutatingAdmissionPolicy{}) {
		t.Error("an API server without v1 MutatingAdmissionPolicies was given one")
	}

	r.Mapper = mapper(true)
	until, err := r.Reconcile(ctx, ruletest.CompilePolicy(t, func(cfg *config.Config) {
		cfg.Exemptions = []config.Exemption{{Name: "a", Rules: []config.RuleName{config.RuleSeccomp}, Namespaces: []string{"x"}, Reason: "r", Expires: "2026-12-24"}}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC); !until.Equal(want) {
		t.Errorf("next change %v, want the exemption's expiry %v", until, want)
	}
	var policy admissionregistrationv1.MutatingAdmissionPolicy
	if !exists(&policy) || !exists(&admissionregistrationv1.MutatingAdmissionPolicyBinding{}) {
		t.Fatal("enforce: want the policy and its binding")
	}
	if o := policy.OwnerReferences; len(o) != 1 || o[0].UID != "mwc-uid" || o[0].Kind != "MutatingWebhookConfiguration" {
		t.Errorf("owners %+v", o)
	}

	if _, err := r.Reconcile(ctx, ruletest.CompilePolicy(t, func(cfg *config.Config) { cfg.Rules.Seccomp.Mode = config.ModeWarn })); err != nil {
		t.Fatal(err)
	}
	if !exists(&admissionregistrationv1.MutatingAdmissionPolicy{}) || exists(&admissionregistrationv1.MutatingAdmissionPolicyBinding{}) {
		t.Error("warn: want the policy kept and unbound")
	}
	rv := func() string {
		var p admissionregistrationv1.MutatingAdmissionPolicy
		exists(&p)
		return p.ResourceVersion
	}
	before := rv()
	if _, err := r.Reconcile(ctx, ruletest.CompilePolicy(t, func(cfg *config.Config) { cfg.Rules.Seccomp.Mode = config.ModeWarn })); err != nil {
		t.Fatal(err)
	}
	if after := rv(); after != before {
		t.Errorf("an unchanged rendering was written again (resourceVersion %s -> %s)", before, after)
	}
}
