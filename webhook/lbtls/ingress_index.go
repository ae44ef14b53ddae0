package lbtls

import (
	"context"
	"fmt"
	"slices"

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

// ingressIndexes are the Ingress index fields and their functions: the
// informer's indexes, the cache's field indexes, and the live lookups.
var ingressIndexes = map[string]client.IndexerFunc{
	IngressGroupNameField: IndexIngressGroupName,
	IngressClassNameField: IndexIngressClassName,
}

// ingressIndexers are the informer indexes of IndexedIngresses.
var ingressIndexers = func() toolscache.Indexers {
	out := toolscache.Indexers{}
	for field, index := range ingressIndexes {
		out[field] = indexFunc(index)
	}
	return out
}()

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

// liveIngresses answers listIngresses' index lookups from one live list of
// every Ingress (the API server has no field selector on annotations),
// read once per admission, a page at a time, and trimmed as the cache is.
type liveIngresses struct {
	api    client.Reader
	all    []*networkingv1.Ingress
	loaded bool
}

// liveIngressPage bounds each page of the live list.
const liveIngressPage = 500

var _ client.Reader = &liveIngresses{}

// Get implements client.Reader; the group lookups never get one object.
func (l *liveIngresses) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return fmt.Errorf("live Ingress reader: no Get")
}

// List implements client.Reader for an IngressList matching one index field.
func (l *liveIngresses) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	out, ok := list.(*networkingv1.IngressList)
	o := (&client.ListOptions{}).ApplyOptions(opts)
	if !ok || o.FieldSelector == nil {
		return fmt.Errorf("live Ingress reader: only index lookups of Ingresses")
	}
	reqs := o.FieldSelector.Requirements()
	if len(reqs) != 1 || ingressIndexes[reqs[0].Field] == nil {
		return fmt.Errorf("live Ingress reader: unsupported selector %s", o.FieldSelector)
	}
	if err := l.load(ctx); err != nil {
		return err
	}
	index, value := ingressIndexes[reqs[0].Field], reqs[0].Value
	for _, ing := range l.all {
		if slices.Contains(index(ing), value) {
			out.Items = append(out.Items, *ing)
		}
	}
	return nil
}

func (l *liveIngresses) load(ctx context.Context) error {
	if l.loaded {
		return nil
	}
	opts := &client.ListOptions{Limit: liveIngressPage}
	for {
		var page networkingv1.IngressList
		if err := l.api.List(ctx, &page, opts); err != nil {
			return fmt.Errorf("listing Ingresses live: %w", err)
		}
		for i := range page.Items {
			trimmed, _ := TrimIngress(&page.Items[i])
			l.all = append(l.all, trimmed.(*networkingv1.Ingress))
		}
		if page.Continue == "" {
			l.loaded = true
			return nil
		}
		opts.Continue = page.Continue
	}
}
