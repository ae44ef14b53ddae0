package test

import (
	"context"
	"fmt"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/internal/testkit/charttest"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
)

// failurePolicyTimeout bounds the wait for the reconciler (it looks at the
// policy every second).
const failurePolicyTimeout = 20 * time.Second

// liveFailurePolicies reads the failure policy of every entry of the test
// bed's validating configuration from the API server.
func liveFailurePolicies(t *testing.T) map[string]admissionregistrationv1.FailurePolicyType {
	t.Helper()
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: testbed.ConfigurationName}, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]admissionregistrationv1.FailurePolicyType{}
	for _, w := range v.Webhooks {
		out[w.Name] = *w.FailurePolicy
	}
	return out
}

// expectFailurePolicies waits until the named entries have the failure policies given.
func expectFailurePolicies(t *testing.T, want map[string]admissionregistrationv1.FailurePolicyType) {
	t.Helper()
	eventually(t, failurePolicyTimeout, func() error {
		got := liveFailurePolicies(t)
		for name, fp := range want {
			if got[name] != fp {
				return fmt.Errorf("%s has failurePolicy %s, want %s (all: %v)", name, got[name], fp, got)
			}
		}
		return nil
	})
}

// TestFailurePolicyFollowsThePolicy: a ConfigMap edit that makes a rule
// warn opens its webhook entries within seconds, so a down eksguard no
// longer blocks; dry run opens every entry; back on the enforcing defaults
// they close again.
func TestFailurePolicyFollowsThePolicy(t *testing.T) {
	const fail, ignore = admissionregistrationv1.Fail, admissionregistrationv1.Ignore
	expectFailurePolicies(t, map[string]admissionregistrationv1.FailurePolicyType{
		charttest.PodNetpolWebhook: fail, charttest.ServiceTLSWebhook: fail, charttest.NetpolChangeWebhook: ignore, charttest.EphemeralWebhook: ignore,
	})
	applyPolicy(t, `
apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  networkPolicy:
    mode: warn
  seccomp:
    unconfined: enforce
`)
	expectFailurePolicies(t, map[string]admissionregistrationv1.FailurePolicyType{
		charttest.PodNetpolWebhook: ignore, charttest.WorkloadNetpolWebhook: ignore, charttest.ServiceTLSWebhook: fail, charttest.EphemeralWebhook: fail,
	})
	applyPolicy(t, `
apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
dryRun: true
`)
	expectFailurePolicies(t, map[string]admissionregistrationv1.FailurePolicyType{
		charttest.PodNetpolWebhook: ignore, charttest.WorkloadNetpolWebhook: ignore, charttest.ServiceTLSWebhook: ignore, charttest.IngressTLSWebhook: ignore, charttest.ACKListenerTLSWebhook: ignore, charttest.ACKRuleTLSWebhook: ignore, charttest.GatewayTLSWebhook: ignore, charttest.ListenerSetTLSWebhook: ignore, charttest.RouteTLSWebhook: ignore, charttest.GatewayConfigWebhook: ignore,
	})
	deletePolicy(t)
	expectFailurePolicies(t, map[string]admissionregistrationv1.FailurePolicyType{
		charttest.PodNetpolWebhook: fail, charttest.WorkloadNetpolWebhook: fail, charttest.ServiceTLSWebhook: fail, charttest.EphemeralWebhook: ignore,
	})
}
