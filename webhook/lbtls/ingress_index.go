package lbtls

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// IngressGroupNameField indexes Ingresses by their ALB group name, so that
// the validator finds the other members of a group in the cache.
const IngressGroupNameField = "lbtls.ingressGroupName"

// IndexIngressGroupName is the field index function of IngressGroupNameField.
func IndexIngressGroupName(obj client.Object) []string {
	if name := obj.GetAnnotations()[AnnotationGroupName]; name != "" {
		return []string{name}
	}
	return nil
}

// IngressClassNameField indexes Ingresses by spec.ingressClassName (when no
// class annotation overrides it), so that the validator finds the Ingresses
// whose IngressClassParams put them in a group.
const IngressClassNameField = "lbtls.ingressClassName"

// IndexIngressClassName is the field index function of IngressClassNameField.
func IndexIngressClassName(obj client.Object) []string {
	ing, ok := obj.(*networkingv1.Ingress)
	if !ok || ing.Spec.IngressClassName == nil {
		return nil
	}
	if _, annotated := ing.Annotations[AnnotationIngressClass]; annotated {
		return nil
	}
	return []string{*ing.Spec.IngressClassName}
}

// IndexedIngresses is a client.Reader of Ingresses whose informer also
// indexes them by IngressGroupNameField and IngressClassNameField, so that
// the validator takes a group's members from the store itself: the cached
// objects, which it must not modify, instead of a list of their copies,
// which costs every admission of a member. Its reader has no field
// indexes: listIngresses reads the informer's.
type IndexedIngresses struct {
	client.Reader
	indexer toolscache.Indexer
}

// NewIndexedIngresses adds the indexes to informer. It returns nil for an
// informer that does not expose its store (a multi-namespace cache): the
// validator then lists through reader, with field indexes.
func NewIndexedIngresses(reader client.Reader, informer cache.Informer) (*IndexedIngresses, error) {
	store, ok := informer.(interface{ GetIndexer() toolscache.Indexer })
	if !ok {
		return nil, nil
	}
	if err := informer.AddIndexers(ingressIndexers); err != nil {
		return nil, fmt.Errorf("indexing Ingresses: %w", err)
	}
	return &IndexedIngresses{Reader: reader, indexer: store.GetIndexer()}, nil
}

// ingressIndexers are the informer indexes of IndexedIngresses.
var ingressIndexers = toolscache.Indexers{
	IngressGroupNameField: indexFunc(IndexIngressGroupName),
	IngressClassNameField: indexFunc(IndexIngressClassName),
}

func indexFunc(f func(client.Object) []string) toolscache.IndexFunc {
	return func(obj any) ([]string, error) {
		o, ok := obj.(client.Object)
		if !ok {
			return nil, nil
		}
		return f(o), nil
	}
}

// listIngresses returns the Ingresses whose index field has value: from the
// informer's index when reader is IndexedIngresses, else listed. The
// result must not be modified.
func listIngresses(ctx context.Context, reader client.Reader, field, value string) ([]*networkingv1.Ingress, error) {
	if ix, ok := reader.(*IndexedIngresses); ok {
		objs, err := ix.indexer.ByIndex(field, value)
		if err != nil {
			return nil, err
		}
		out := make([]*networkingv1.Ingress, 0, len(objs))
		for _, o := range objs {
			if ing, ok := o.(*networkingv1.Ingress); ok {
				out = append(out, ing)
			}
		}
		return out, nil
	}
	var list networkingv1.IngressList
	if err := reader.List(ctx, &list, client.MatchingFields{field: value}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]*networkingv1.Ingress, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}
