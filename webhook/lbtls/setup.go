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

// Readers are what the rule's handlers read in the webhook.
type Readers struct {
	// Classes reads IngressClasses and IngressClassParams.
	Classes *ClusterClasses
	// Ingresses reads the members of an ALB group.
	Ingresses client.Reader
	// ACK reads ACK's elbv2 LoadBalancers, Listeners and Rules.
	ACK ACKObjects
	// Gateways reads the Gateway API objects and LoadBalancerConfigurations.
	Gateways GatewayAPI
}

// SetupWithManager adds the Ingress indexes the Ingress validator reads
// (group name and class name), has watcher watch both IngressClassParams
// kinds, ACK LoadBalancers, the Gateway API kinds and the LBC's
// LoadBalancerConfigurations where served, and returns the readers the
// validators read (RBAC: list and watch each of those cluster-wide). The caller adds
// watcher to mgr. The validators themselves are routes of the webhook
// package.
func SetupWithManager(mgr manager.Manager, watcher *served.Watcher) (Readers, error) {
	ctx := context.Background()
	reader, err := indexIngresses(ctx, mgr)
	if err != nil {
		return Readers{}, err
	}
	classes := NewClusterClasses(mgr.GetCache())
	informer, err := mgr.GetCache().GetInformer(ctx, &networkingv1.IngressClass{}, cache.BlockUntilSynced(false))
	if err != nil {
		return Readers{}, fmt.Errorf("getting the IngressClass informer: %w", err)
	}
	if _, err := informer.AddEventHandler(classes.ClassesChanged()); err != nil {
		return Readers{}, fmt.Errorf("watching IngressClasses: %w", err)
	}
	ack := NewACKStores()
	gateways := NewGatewayStores()
	for _, kind := range append(append(classes.paramsKinds(), ack.Targets()...), gateways.Targets()...) {
		if err := watcher.Watch(kind); err != nil {
			return Readers{}, fmt.Errorf("watching %s: %w", kind.GVR, err)
		}
	}
	return Readers{Classes: classes, Ingresses: reader, ACK: ack, Gateways: gateways}, nil
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
