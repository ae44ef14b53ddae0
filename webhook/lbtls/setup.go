package lbtls

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/eksguard/eksguard/webhook/decision"
)

// Webhook paths served by this package.
const (
	ServicePath = "/validate-v1-service-lbtls"
	IngressPath = "/validate-networking-v1-ingress-lbtls"
)

// SetupWithManager registers the Service and Ingress validators and the
// Ingress group-name index they use. The Ingress validator reads Ingresses
// of every namespace from the manager's cache (RBAC: list and watch
// networking.k8s.io ingresses cluster-wide).
func SetupWithManager(mgr manager.Manager, policies decision.Policies) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &networkingv1.Ingress{},
		IngressGroupNameField, IndexIngressGroupName); err != nil {
		return fmt.Errorf("indexing Ingresses by ALB group name: %w", err)
	}
	if err := builder.WebhookManagedBy(mgr, &corev1.Service{}).
		WithValidator(&ServiceValidator{Policies: policies}).
		WithValidatorCustomPath(ServicePath).
		Complete(); err != nil {
		return fmt.Errorf("registering the Service load-balancer TLS webhook: %w", err)
	}
	if err := builder.WebhookManagedBy(mgr, &networkingv1.Ingress{}).
		WithValidator(&IngressValidator{Policies: policies, Reader: mgr.GetClient()}).
		WithValidatorCustomPath(IngressPath).
		Complete(); err != nil {
		return fmt.Errorf("registering the Ingress load-balancer TLS webhook: %w", err)
	}
	return nil
}
