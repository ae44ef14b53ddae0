package dataplane

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Lister lists every object of a kind (a caller that pages its lists gives
// its own; nil is one List call).
type Lister func(ctx context.Context, gvk schema.GroupVersionKind) ([]*unstructured.Unstructured, error)

// Read gets each source from a cluster: the aws-node DaemonSet and the
// amazon-vpc-cni ConfigMap by name (RBAC grants get on those names only),
// and the NodeClasses and NodePools where served. Absent (NotFound, a kind
// not served) is a fact; Forbidden makes the source unknown; any other
// error fails the read. outcome, when set, hears each source's result
// (nil on success), for a caller that reports refusals.
func Read(ctx context.Context, r client.Reader, list Lister, outcome func(Source, error)) (*Facts, error) {
	if list == nil {
		list = func(ctx context.Context, gvk schema.GroupVersionKind) ([]*unstructured.Unstructured, error) {
			l := &unstructured.UnstructuredList{}
			l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err := r.List(ctx, l); err != nil {
				return nil, err
			}
			items := make([]*unstructured.Unstructured, len(l.Items))
			for i := range l.Items {
				items[i] = &l.Items[i]
			}
			return items, nil
		}
	}
	b := NewBuilder()
	took := func(source Source, err error, add func()) error {
		if outcome != nil {
			outcome(source, err)
		}
		switch {
		case err == nil:
			add()
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			// Absent: no aws-node (Auto Mode, Fargate), or no Auto Mode CRDs.
		case apierrors.IsForbidden(err):
			b.Unread(source)
		default:
			return fmt.Errorf("reading %s: %w", source, err)
		}
		return nil
	}
	var ds appsv1.DaemonSet
	err := r.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: AWSNodeName}, &ds)
	if err := took(SourceAWSNode, err, func() { b.Add(&ds) }); err != nil {
		return nil, err
	}
	var cm corev1.ConfigMap
	err = r.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: VPCCNIConfigMapName}, &cm)
	if err := took(SourceVPCCNIConfig, err, func() { b.Add(&cm) }); err != nil {
		return nil, err
	}
	for _, kind := range []struct {
		source Source
		gvk    schema.GroupVersionKind
	}{{SourceNodeClasses, NodeClassGVK}, {SourceNodePools, NodePoolGVK}} {
		// Added once the whole list is read: a list refused half-way is unknown.
		items, err := list(ctx, kind.gvk)
		err = took(kind.source, err, func() {
			for _, u := range items {
				u.SetGroupVersionKind(kind.gvk)
				b.Add(u)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return b.Facts(), nil
}
