package netpol

import (
	"context"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	toolscache "k8s.io/client-go/tools/cache"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/internal/logkeys"
)

var discoveryLog = logf.Log.WithName("policy-kind-discovery")

// Timing of the kind watcher.
const (
	// rediscoverEvery is the safety net for a missed CRD event.
	rediscoverEvery = time.Minute
	// rediscoverAfterChange: discovery serves a new CRD only once it is
	// established, a moment after the CRD event, and drops a deleted one
	// a moment after.
	rediscoverAfterChange = 2 * time.Second
)

// kindWatcher runs an informer for every custom kind of Kinds that the API
// server serves, found through discovery: started when its CRD appears,
// stopped when it goes, without a restart. A CRD event (crdChanged) makes
// it look again at once; otherwise it looks every rediscoverEvery.
type kindWatcher struct {
	index     *Index
	discovery discovery.DiscoveryInterface
	dynamic   dynamic.Interface
	changed   chan struct{}

	mu      sync.Mutex
	running map[*Kind]*runningInformer
}

type runningInformer struct {
	stop context.CancelFunc
	feed *feed
}

func newKindWatcher(index *Index, disc discovery.DiscoveryInterface, dyn dynamic.Interface) *kindWatcher {
	index.setDiscovering(true)
	return &kindWatcher{index: index, discovery: disc, dynamic: dyn,
		changed: make(chan struct{}, 1), running: map[*Kind]*runningInformer{}}
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every
// replica answers admissions.
func (w *kindWatcher) NeedLeaderElection() bool { return false }

// Start implements manager.Runnable.
func (w *kindWatcher) Start(ctx context.Context) error {
	defer w.stopAll()
	w.reconcile(ctx)
	w.index.setDiscovering(false)
	ticker := time.NewTicker(rediscoverEvery)
	defer ticker.Stop()
	var again <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.changed:
			w.reconcile(ctx)
			again = time.After(rediscoverAfterChange)
		case <-again:
			w.reconcile(ctx)
			again = nil
		case <-ticker.C:
			w.reconcile(ctx)
		}
	}
}

// crdChanged is the CRD informer's handler: a CRD of one of the groups of
// Kinds was added, changed or deleted.
func (w *kindWatcher) crdChanged(obj interface{}) {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	for _, k := range Kinds {
		// A CRD is named <plural>.<group>.
		if !k.BuiltIn() && strings.HasSuffix(m.GetName(), "."+k.GVK.Group) {
			select {
			case w.changed <- struct{}{}:
			default:
			}
			return
		}
	}
}

// crdHandler is crdChanged as an informer event handler.
func (w *kindWatcher) crdHandler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { w.crdChanged(obj) },
		UpdateFunc: func(_, obj interface{}) { w.crdChanged(obj) },
		DeleteFunc: w.crdChanged,
	}
}

// reconcile starts the informers of served kinds and stops those of kinds
// no longer served. A group version discovery cannot answer for keeps its
// informers as they are.
func (w *kindWatcher) reconcile(ctx context.Context) {
	byGroupVersion := map[schema.GroupVersion][]*Kind{}
	for _, k := range Kinds {
		if !k.BuiltIn() {
			byGroupVersion[k.GVK.GroupVersion()] = append(byGroupVersion[k.GVK.GroupVersion()], k)
		}
	}
	for gv, kinds := range byGroupVersion {
		resources, err := w.discovery.ServerResourcesForGroupVersion(gv.String())
		if err != nil && !apierrors.IsNotFound(err) {
			discoveryLog.Error(err, "discovering policy kinds", logkeys.Resource, gv.String())
			continue
		}
		for _, k := range kinds {
			if resources == nil {
				setKindWatched(k, false)
			}
			served := false
			if resources != nil {
				for _, r := range resources.APIResources {
					if r.Name == k.Resource && r.Kind == k.GVK.Kind {
						served = true
					}
				}
			}
			w.set(ctx, k, served)
		}
	}
}

// set starts or stops the informer of kind.
func (w *kindWatcher) set(ctx context.Context, kind *Kind, served bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	running, ok := w.running[kind]
	switch {
	case served && !ok:
		informer := dynamicinformer.NewFilteredDynamicInformer(w.dynamic, kind.GVR(), metav1.NamespaceAll, 0,
			toolscache.Indexers{}, nil).Informer()
		if err := informer.SetTransform(trimPolicyObject); err != nil {
			discoveryLog.Error(err, "setting the cache transform", logkeys.Kind, kind.Name)
			return
		}
		f, err := w.index.watch(kind, informer)
		if err != nil {
			discoveryLog.Error(err, "watching a policy kind", logkeys.Kind, kind.Name)
			return
		}
		informerCtx, stop := context.WithCancel(ctx)
		go informer.RunWithContext(informerCtx)
		w.running[kind] = &runningInformer{stop: stop, feed: f}
		setKindWatched(kind, true)
		discoveryLog.Info("watching a policy kind the API server serves", logkeys.Kind, kind.Name)
	case !served && ok:
		running.stop()
		w.index.forget(kind, running.feed)
		delete(w.running, kind)
		setKindWatched(kind, false)
		discoveryLog.Info("stopped watching a policy kind the API server no longer serves", logkeys.Kind, kind.Name)
	}
}

func (w *kindWatcher) stopAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for kind, running := range w.running {
		running.stop()
		w.index.forget(kind, running.feed)
		delete(w.running, kind)
	}
}

// trimPolicyObject is the cache transform of the custom kinds: it keeps
// only what compiling and indexing read (identity and spec), dropping
// annotations (the last-applied configuration above all), managedFields
// and status before the object reaches the informer's store.
func trimPolicyObject(obj interface{}) (interface{}, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	trimmed := &unstructured.Unstructured{Object: map[string]interface{}{}}
	trimmed.SetAPIVersion(u.GetAPIVersion())
	trimmed.SetKind(u.GetKind())
	trimmed.SetNamespace(u.GetNamespace())
	trimmed.SetName(u.GetName())
	trimmed.SetUID(u.GetUID())
	trimmed.SetResourceVersion(u.GetResourceVersion())
	if spec, ok := u.Object["spec"]; ok {
		trimmed.Object["spec"] = spec
	}
	if specs, ok := u.Object["specs"]; ok {
		trimmed.Object["specs"] = specs
	}
	return trimmed, nil
}
