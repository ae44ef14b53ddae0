package lbtls

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Webhook paths served by this package.
const (
	ServicePath = "/validate-v1-service-lbtls"
	IngressPath = "/validate-networking-v1-ingress-lbtls"
)

// SetupWithManager adds the Ingress group-name index the Ingress validator
// reads through the manager's cache (RBAC: list and watch
// networking.k8s.io ingresses cluster-wide). The validators themselves are
// routes of the webhook package.
func SetupWithManager(mgr manager.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &networkingv1.Ingress{},
		IngressGroupNameField, IndexIngressGroupName); err != nil {
		return fmt.Errorf("indexing Ingresses by ALB group name: %w", err)
	}
	return nil
}
