package netpol

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/eksguard/eksguard/webhook/decision"
)

// ReadyCheckName is the /readyz check that passes once the policy index
// holds the initial list of every watched kind.
const ReadyCheckName = "networkpolicy-index"

// SetupWithManager feeds the policy index: NetworkPolicies from the
// manager's cache, the custom kinds from informers that discovery starts
// and stops (prompted by a metadata-only watch of CRDs). It gates readiness
// on the index and returns the checker the coverage routes share.
// apiReader must read live from the API server; disc and dyn discover and
// watch the custom kinds.
func SetupWithManager(mgr manager.Manager, decider decision.Decider, apiReader client.Reader,
	disc discovery.DiscoveryInterface, dyn dynamic.Interface) (*Checker, error) {
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

	watcher := newKindWatcher(index, disc, dyn)
	if err := mgr.Add(watcher); err != nil {
		return nil, fmt.Errorf("adding the policy kind watcher: %w", err)
	}
	crds := &metav1.PartialObjectMetadata{}
	crds.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	crdInformer, err := mgr.GetCache().GetInformer(context.Background(), crds, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("getting the CustomResourceDefinition informer: %w", err)
	}
	if _, err := crdInformer.AddEventHandler(watcher.crdHandler()); err != nil {
		return nil, fmt.Errorf("watching CustomResourceDefinitions: %w", err)
	}
	if err := mgr.AddReadyzCheck(ReadyCheckName, index.ReadyCheck); err != nil {
		return nil, fmt.Errorf("adding the %s readiness check: %w", ReadyCheckName, err)
	}

	return &Checker{Decider: decider, Index: index, Live: apiReader}, nil
}
