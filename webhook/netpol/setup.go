package netpol

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/eksguard/eksguard/webhook/decision"
)

// ReadyCheckName is the /readyz check that passes once the NetworkPolicy
// index holds the informer's initial list.
const ReadyCheckName = "networkpolicy-index"

// SetupWithManager feeds a NetworkPolicy index from the manager's cache,
// gates readiness on its sync, and registers the coverage webhooks.
// apiReader must read live from the API server.
func SetupWithManager(mgr manager.Manager, policies decision.Policies, apiReader client.Reader) error {
	index := NewIndex()
	// Before the manager starts, GetInformer only registers the informer;
	// BlockUntilSynced(false) keeps it from waiting should it already run.
	informer, err := mgr.GetCache().GetInformer(context.Background(), &networkingv1.NetworkPolicy{}, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("getting the NetworkPolicy informer: %w", err)
	}
	if err := index.registerWith(informer); err != nil {
		return fmt.Errorf("indexing NetworkPolicies: %w", err)
	}
	if err := mgr.AddReadyzCheck(ReadyCheckName, index.ReadyCheck); err != nil {
		return fmt.Errorf("adding the %s readiness check: %w", ReadyCheckName, err)
	}

	checker := &Checker{Policies: policies, Index: index, Live: apiReader}
	server := mgr.GetWebhookServer()
	server.Register(PodPath, &webhook.Admission{Handler: &PodValidator{Checker: checker}})
	server.Register(WorkloadPath, &webhook.Admission{Handler: &WorkloadValidator{Checker: checker}})
	server.Register(NetworkPolicyPath, &webhook.Admission{Handler: &NetworkPolicyValidator{Checker: checker}})
	return nil
}
