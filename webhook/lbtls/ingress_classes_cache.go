package lbtls

// The webhook's Classes: IngressClasses from the manager's cache, and
// IngressClassParams from an informer that runs only while the API server
// serves the kind (the LBC's CRD may be installed before or after eksguard,
// or not at all), started and stopped by a served.Watcher.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/internal/lib/served"
)

// ingressClassParamsResource is the kind's resource name.
const ingressClassParamsResource = "ingressclassparams"

// ClusterClasses reads IngressClasses from a cache and IngressClassParams
// of both kinds from the informers a served.Watcher runs while each kind is
// served (paramsKinds).
type ClusterClasses struct {
	// Reader is the manager's cache, which holds IngressClasses.
	Reader client.Reader

	// paramsStores hold the IngressClassParams of each kind, while served.
	paramsStores map[schema.GroupVersionKind]*served.Store

	// classes is the IngressClasses as last listed; changed, set by the
	// IngressClass informer's events, says to list them again. Classes
	// change rarely and every Ingress admission reads them.
	classes atomic.Pointer[IngressClasses]
	changed atomic.Bool

	// params are converted IngressClassParams by name and resourceVersion.
	params     sync.Map
	paramsSize atomic.Int64
}

// NewClusterClasses makes the webhook's Classes; register paramsKinds with
// the served.Watcher to read IngressClassParams.
func NewClusterClasses(reader client.Reader) *ClusterClasses {
	return &ClusterClasses{Reader: reader, paramsStores: map[schema.GroupVersionKind]*served.Store{
		IngressClassParamsGVK: served.NewStore(IngressClassParamsGVK.GroupVersion().WithResource(ingressClassParamsResource),
			IngressClassParamsGVK.Kind, trimClassParams, nil),
		AutoModeIngressClassParamsGVK: served.NewStore(AutoModeIngressClassParamsGVK.GroupVersion().WithResource(ingressClassParamsResource),
			AutoModeIngressClassParamsGVK.Kind, trimAutoModeClassParams, nil),
	}}
}

// paramsKinds are the IngressClassParams kinds for a served.Watcher.
func (c *ClusterClasses) paramsKinds() []served.Target {
	return []served.Target{c.paramsKind(IngressClassParamsGVK), c.paramsKind(AutoModeIngressClassParamsGVK)}
}

func (c *ClusterClasses) paramsKind(kind schema.GroupVersionKind) served.Target {
	return c.paramsStores[kind].Target()
}

// IngressClasses implements Classes.
func (c *ClusterClasses) IngressClasses(ctx context.Context) (IngressClasses, error) {
	if cached := c.classes.Load(); cached != nil && !c.changed.Load() {
		return *cached, nil
	}
	// Cleared before listing: an event during the list lists again.
	c.changed.Store(false)
	var list networkingv1.IngressClassList
	if err := c.Reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		c.changed.Store(true)
		return IngressClasses{}, fmt.Errorf("listing IngressClasses: %w", err)
	}
	classes := NewIngressClasses(list.Items)
	c.classes.Store(&classes)
	return classes, nil
}

// ClassesChanged is the IngressClass informer's event handler: the next
// IngressClasses lists them again.
func (c *ClusterClasses) ClassesChanged() toolscache.ResourceEventHandler {
	mark := func() { c.changed.Store(true) }
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { mark() },
		UpdateFunc: func(any, any) { mark() },
		DeleteFunc: func(any) { mark() },
	}
}

// ClassParams implements Classes.
func (c *ClusterClasses) ClassParams(_ context.Context, kind schema.GroupVersionKind, name string) (*ClassParams, error) {
	store, ok := c.paramsStores[kind]
	if !ok {
		return nil, fmt.Errorf("%w: %s is no IngressClassParams kind", ErrNoClassParams, kind)
	}
	obj, found, err := store.Get(name)
	if errors.Is(err, served.ErrNotServed) {
		return nil, fmt.Errorf("%w: %w", ErrNoClassParams, err)
	}
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w %q", ErrNoClassParams, name)
	}
	return c.paramsOf(obj.(*unstructured.Unstructured))
}

// paramsOf is ClassParamsFrom(u), converted once per resourceVersion: an
// admission of a group member reads the params of every member's class.
// The result is shared and must not be modified.
func (c *ClusterClasses) paramsOf(u *unstructured.Unstructured) (*ClassParams, error) {
	key := u.GetAPIVersion() + "/" + u.GetName() + "/" + u.GetResourceVersion()
	if p, ok := c.params.Load(key); ok {
		return p.(*ClassParams), nil
	}
	p, err := ClassParamsFrom(u)
	if err != nil {
		return nil, err
	}
	// Bounded: superseded versions are dropped when it is full.
	if c.paramsSize.Add(1) > maxParamsMemo {
		c.params.Clear()
		c.paramsSize.Store(1)
	}
	c.params.Store(key, p)
	return p, nil
}

// maxParamsMemo bounds paramsOf's memo; clusters have a few IngressClassParams.
const maxParamsMemo = 1024

// trimClassParams keeps the name and the spec fields ClassParamsFrom reads.
var trimClassParams = served.KeepSpec(classParamsFields...)

// classParamsFields are the spec fields of classParamsSpec.
var classParamsFields = []string{"sslPolicy", "certificateArn", "sslRedirectPort", "group", "scheme", "namespaceSelector"}

// trimAutoModeClassParams keeps the spec fields of autoModeClassParamsSpec.
var trimAutoModeClassParams = served.KeepSpec("certificateARNs", "group", "scheme", "namespaceSelector")

// TrimIngressClass is the cache transform of IngressClasses: name, creation
// time, the default-class annotation and the spec.
func TrimIngressClass(obj any) (any, error) {
	class, ok := obj.(*networkingv1.IngressClass)
	if !ok {
		return obj, nil
	}
	trimmed := &networkingv1.IngressClass{Spec: class.Spec}
	trimmed.Name, trimmed.UID, trimmed.ResourceVersion = class.Name, class.UID, class.ResourceVersion
	trimmed.CreationTimestamp = class.CreationTimestamp
	if v, ok := class.Annotations[networkingv1.AnnotationIsDefaultIngressClass]; ok {
		trimmed.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: v}
	}
	return trimmed, nil
}
