package lbtls

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/eksguard/eksguard/internal/lib/served"
)

// Webhook paths served by this package.
const (
	ServicePath = "/validate-v1-service-lbtls"
	IngressPath = "/validate-networking-v1-ingress-lbtls"
)

// SetupWithManager adds the Ingress indexes the Ingress validator reads
// (group name and class name), has watcher watch IngressClassParams where
// served, and returns the Classes and the Ingress reader the validator
// reads (RBAC: list and watch Ingresses, IngressClasses and
// IngressClassParams cluster-wide). The caller adds watcher to mgr. The
// validators themselves are routes of the webhook package.
func SetupWithManager(mgr manager.Manager, watcher *served.Watcher) (*ClusterClasses, client.Reader, error) {
	ctx := context.Background()
	reader, err := indexIngresses(ctx, mgr)
	if err != nil {
		return nil, nil, err
	}
	classes := NewClusterClasses(mgr.GetCache())
	informer, err := mgr.GetCache().GetInformer(ctx, &networkingv1.IngressClass{}, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, nil, fmt.Errorf("getting the IngressClass informer: %w", err)
	}
	if _, err := informer.AddEventHandler(classes.ClassesChanged()); err != nil {
		return nil, nil, fmt.Errorf("watching IngressClasses: %w", err)
	}
	for _, kind := range classes.paramsKinds() {
		if err := watcher.Watch(kind); err != nil {
			return nil, nil, fmt.Errorf("watching %s: %w", kind.GVR, err)
		}
	}
	return classes, reader, nil
}

// indexIngresses indexes Ingresses by IngressGroupNameField and
// IngressClassNameField: in the informer's own store when it exposes one
// (the validator then reads the cached objects), else as the cache's field
// indexes, which List reads.
func indexIngresses(ctx context.Context, mgr manager.Manager) (client.Reader, error) {
	informer, err := mgr.GetCache().GetInformer(ctx, &networkingv1.Ingress{}, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("getting the Ingress informer: %w", err)
	}
	switch indexed, err := NewIndexedIngresses(mgr.GetClient(), informer); {
	case err != nil:
		return nil, err
	case indexed != nil:
		return indexed, nil
	}
	for field, index := range ingressIndexes {
		if err := mgr.GetFieldIndexer().IndexField(ctx, &networkingv1.Ingress{}, field, index); err != nil {
			return nil, fmt.Errorf("indexing Ingresses by %s: %w", field, err)
		}
	}
	return mgr.GetClient(), nil
}
