package netpol

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/eksguard/eksguard/internal/lib/served"
	"github.com/eksguard/eksguard/webhook/decision"
)

// ReadyCheckName is the /readyz check that passes once the policy index
// holds the initial list of every watched kind.
const ReadyCheckName = "networkpolicy-index"

// SetupWithManager feeds the policy index: NetworkPolicies from the
// manager's cache, the custom kinds from the informers watcher runs while
// their CRDs are served. It gates readiness on the index and returns the
// checker the coverage routes share. apiReader must read live from the API
// server; the caller adds watcher to mgr.
func SetupWithManager(mgr manager.Manager, decider decision.Decider, apiReader client.Reader,
	watcher *served.Watcher) (*Checker, error) {
	index := NewIndex()
	servingIndex.Store(index)
	// Before the manager starts, GetInformer only registers the informer;
	// BlockUntilSynced(false) keeps it from waiting should it already run.
	informer, err := mgr.GetCache().GetInformer(context.Background(), &networkingv1.NetworkPolicy{}, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("getting the NetworkPolicy informer: %w", err)
	}
	if _, err := index.watch(KindNetworkPolicy, informer); err != nil {
		return nil, fmt.Errorf("indexing NetworkPolicies: %w", err)
	}
	setKindWatched(KindNetworkPolicy, true)

	if err := watchCustomKinds(watcher, index); err != nil {
		return nil, fmt.Errorf("watching the custom policy kinds: %w", err)
	}
	if err := mgr.AddReadyzCheck(ReadyCheckName, index.ReadyCheck); err != nil {
		return nil, fmt.Errorf("adding the %s readiness check: %w", ReadyCheckName, err)
	}

	return &Checker{Decider: decider, Index: index, Live: apiReader}, nil
}
