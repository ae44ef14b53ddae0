package lbtls

// The webhook's Classes: IngressClasses from the manager's cache, and
// IngressClassParams from an informer that runs only while the API server
// serves the kind (the LBC's CRD may be installed before or after eksguard,
// or not at all).

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/internal/logkeys"
)

// ingressClassParamsResource is the kind's resource name.
const ingressClassParamsResource = "ingressclassparams"

// paramsRediscoverEvery is how often the watcher asks discovery whether
// IngressClassParams is served.
const paramsRediscoverEvery = 30 * time.Second

var classesLog = logf.Log.WithName("ingress-classes")

// ClusterClasses reads IngressClasses from a cache and IngressClassParams
// from its own informer; it is a manager.Runnable that starts and stops
// that informer as discovery finds the kind served or not.
type ClusterClasses struct {
	// Reader is the manager's cache, which holds IngressClasses.
	Reader    client.Reader
	discovery discovery.DiscoveryInterface
	dynamic   dynamic.Interface

	mu       sync.Mutex
	informer toolscache.SharedIndexInformer
	stop     context.CancelFunc

	// classes is the IngressClasses as last listed; changed, set by the
	// IngressClass informer's events, says to list them again. Classes
	// change rarely and every Ingress admission reads them.
	classes atomic.Pointer[IngressClasses]
	changed atomic.Bool

	// params are converted IngressClassParams by name and resourceVersion.
	params     sync.Map
	paramsSize atomic.Int64
}

// NewClusterClasses makes the webhook's Classes.
func NewClusterClasses(reader client.Reader, disc discovery.DiscoveryInterface, dyn dynamic.Interface) *ClusterClasses {
	return &ClusterClasses{Reader: reader, discovery: disc, dynamic: dyn}
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
func (c *ClusterClasses) ClassParams(_ context.Context, name string) (*ClassParams, error) {
	c.mu.Lock()
	informer := c.informer
	c.mu.Unlock()
	if informer == nil {
		return nil, fmt.Errorf("%w: the API server does not serve %s", ErrNoClassParams, IngressClassParamsGVK.GroupVersion())
	}
	if !informer.HasSynced() {
		return nil, fmt.Errorf("IngressClassParams are not in the cache yet")
	}
	obj, ok, err := informer.GetStore().GetByKey(name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrNoClassParams, name)
	}
	return c.paramsOf(obj.(*unstructured.Unstructured))
}

// paramsOf is ClassParamsFrom(u), converted once per resourceVersion: an
// admission of a group member reads the params of every member's class.
// The result is shared and must not be modified.
func (c *ClusterClasses) paramsOf(u *unstructured.Unstructured) (*ClassParams, error) {
	key := u.GetName() + "/" + u.GetResourceVersion()
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

// NeedLeaderElection implements manager.LeaderElectionRunnable: every
// replica answers admissions.
func (c *ClusterClasses) NeedLeaderElection() bool { return false }

// Start implements manager.Runnable.
func (c *ClusterClasses) Start(ctx context.Context) error {
	defer c.set(ctx, false)
	ticker := time.NewTicker(paramsRediscoverEvery)
	defer ticker.Stop()
	for {
		c.reconcile(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (c *ClusterClasses) reconcile(ctx context.Context) {
	gv := IngressClassParamsGVK.GroupVersion().String()
	resources, err := c.discovery.ServerResourcesForGroupVersion(gv)
	if err != nil && !apierrors.IsNotFound(err) {
		classesLog.Error(err, "discovering IngressClassParams", logkeys.Resource, gv)
		return // keep the informer as it is
	}
	served := false
	if resources != nil {
		for _, r := range resources.APIResources {
			served = served || (r.Name == ingressClassParamsResource && r.Kind == IngressClassParamsGVK.Kind)
		}
	}
	c.set(ctx, served)
}

func (c *ClusterClasses) set(ctx context.Context, served bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case served && c.informer == nil:
		gvr := IngressClassParamsGVK.GroupVersion().WithResource(ingressClassParamsResource)
		informer := dynamicinformer.NewFilteredDynamicInformer(c.dynamic, gvr, metav1.NamespaceAll, 0, toolscache.Indexers{}, nil).Informer()
		if err := informer.SetTransform(trimClassParams); err != nil {
			classesLog.Error(err, "setting the cache transform of IngressClassParams")
			return
		}
		informerCtx, stop := context.WithCancel(ctx)
		go informer.RunWithContext(informerCtx)
		c.informer, c.stop = informer, stop
		classesLog.Info("watching IngressClassParams")
	case !served && c.informer != nil:
		c.stop()
		c.informer, c.stop = nil, nil
		classesLog.Info("stopped watching IngressClassParams: no longer served")
	}
}

// trimClassParams keeps the name and the spec fields ClassParamsFrom reads.
func trimClassParams(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	trimmed := &unstructured.Unstructured{Object: map[string]any{}}
	trimmed.SetName(u.GetName())
	trimmed.SetResourceVersion(u.GetResourceVersion())
	if spec, ok := u.Object["spec"].(map[string]any); ok {
		kept := map[string]any{}
		for _, k := range classParamsFields {
			if v, ok := spec[k]; ok {
				kept[k] = v
			}
		}
		trimmed.Object["spec"] = kept
	}
	return trimmed, nil
}

// classParamsFields are the spec fields of classParamsSpec.
var classParamsFields = []string{"sslPolicy", "certificateArn", "sslRedirectPort", "group", "scheme", "namespaceSelector"}

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
