package served

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/eksguard/eksguard/internal/lib/logkeys"
)

// log is a variable so that tests can read what the watcher logs.
var log = logf.Log.WithName("served-kinds")

// Timing of the Watcher.
const (
	// rediscoverEvery is the safety net for a missed CRD event.
	rediscoverEvery = time.Minute
	// rediscoverAfterChange: discovery serves a new CRD only once it is
	// established, a moment after the CRD event, and drops a deleted one a
	// moment after; so a CRD event is followed by a second look.
	rediscoverAfterChange = 2 * time.Second
)

// Target is a kind a rule watches while the API server serves it.
type Target struct {
	// GVR is what the informer lists and watches, cluster-wide.
	GVR schema.GroupVersionResource
	// Kind is the kind discovery must list for GVR.
	Kind string
	// Transform trims objects before they reach the informer's store to
	// what the rule reads; nil keeps them whole.
	Transform toolscache.TransformFunc
	// OnStart is called with a new informer before it runs: the place to add
	// event handlers or keep the informer to read its store. An error gives
	// up this informer; the next rediscovery tries again.
	OnStart func(toolscache.SharedIndexInformer) error
	// OnStop is called once the informer OnStart accepted has stopped (the
	// kind is no longer served, or the Watcher stops): no handler of it
	// runs any more.
	OnStop func()
}

// Watcher runs an informer for each registered Target while discovery finds
// it served. It is a manager.Runnable; OnStart and OnStop are called from
// its goroutine only, one at a time.
type Watcher struct {
	discovery discovery.ServerResourcesInterfaceWithContext
	dynamic   dynamic.Interface
	// every and afterChange are rediscoverEvery and rediscoverAfterChange,
	// shortened by tests.
	every, afterChange time.Duration
	changed            chan struct{}

	mu           sync.Mutex
	started      bool
	kinds        []*watched
	groups       map[string]bool
	onDiscovered []func()

	// readyMu guards what ReadyCheck reads: whether the first discovery
	// is done, and the synced function of each running informer.
	readyMu    sync.Mutex
	discovered bool
	synced     map[*watched]func() bool
}

// watched is a registered Target and its informer while it runs.
type watched struct {
	kind    Target
	running *running
}

type running struct {
	stop context.CancelFunc
	// done is closed once the informer has returned.
	done chan struct{}
}

// NewWatcher makes a Watcher that asks disc whether kinds are served and
// watches them through dyn.
func NewWatcher(disc discovery.DiscoveryInterface, dyn dynamic.Interface) *Watcher {
	return &Watcher{
		discovery:   discovery.ToServerResourcesInterfaceWithContext(disc),
		dynamic:     dyn,
		every:       rediscoverEvery,
		afterChange: rediscoverAfterChange,
		changed:     make(chan struct{}, 1),
		groups:      map[string]bool{},
		synced:      map[*watched]func() bool{},
	}
}

// ReadyCheck is a readiness check: the first discovery is done, and every
// informer it started has synced, so that a rule never answers from an
// empty store.
func (w *Watcher) ReadyCheck(_ *http.Request) error {
	w.readyMu.Lock()
	defer w.readyMu.Unlock()
	if !w.discovered {
		return errors.New("the served kinds have not been discovered yet")
	}
	var pending []string
	for k, synced := range w.synced {
		if !synced() {
			pending = append(pending, resourceOf(k.kind.GVR))
		}
	}
	if len(pending) > 0 {
		slices.Sort(pending)
		return fmt.Errorf("served kinds not in the cache yet: %s", strings.Join(pending, ", "))
	}
	return nil
}

// Watch registers k; it must come before the Watcher starts.
func (w *Watcher) Watch(k Target) error {
	if k.GVR.Resource == "" || k.GVR.Version == "" || k.Kind == "" || k.OnStart == nil || k.OnStop == nil {
		return fmt.Errorf("watching %s %s: the resource, the kind and both callbacks are required", k.Kind, resourceOf(k.GVR))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return fmt.Errorf("watching %s %s: the watcher has started", k.Kind, resourceOf(k.GVR))
	}
	for _, other := range w.kinds {
		if other.kind.GVR == k.GVR {
			return fmt.Errorf("watching %s %s: already watched", k.Kind, resourceOf(k.GVR))
		}
	}
	w.kinds = append(w.kinds, &watched{kind: k})
	w.groups[k.GVR.Group] = true
	return nil
}

// OnDiscovered registers f, called once the first discovery after start has
// started the informers of the kinds then served (readiness can wait for
// it). It must come before the Watcher starts.
func (w *Watcher) OnDiscovered(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.onDiscovered = append(w.onDiscovered, f)
}

// AddToManager adds the Watcher to mgr, prompted by a metadata-only watch of
// CustomResourceDefinitions in mgr's cache. Call it once.
func (w *Watcher) AddToManager(mgr manager.Manager) error {
	crds := &metav1.PartialObjectMetadata{}
	crds.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	// Before the manager starts, GetInformer only registers the informer;
	// BlockUntilSynced(false) keeps it from waiting should it already run.
	informer, err := mgr.GetCache().GetInformer(context.Background(), crds, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("getting the CustomResourceDefinition informer: %w", err)
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    w.crdChanged,
		UpdateFunc: func(_, obj any) { w.crdChanged(obj) },
		DeleteFunc: w.crdChanged,
	}); err != nil {
		return fmt.Errorf("watching CustomResourceDefinitions: %w", err)
	}
	if err := mgr.Add(w); err != nil {
		return fmt.Errorf("adding the served kinds watcher: %w", err)
	}
	return nil
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every
// replica answers admissions.
func (w *Watcher) NeedLeaderElection() bool { return false }

// Start implements manager.Runnable: it discovers at once, then on CRD
// events and every minute, and stops every informer when ctx ends.
func (w *Watcher) Start(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("the served kinds watcher has already started")
	}
	w.started = true
	onDiscovered := w.onDiscovered
	w.mu.Unlock()

	defer w.stopAll()
	w.reconcile(ctx)
	w.readyMu.Lock()
	w.discovered = true
	w.readyMu.Unlock()
	for _, f := range onDiscovered {
		f()
	}
	ticker := time.NewTicker(w.every)
	defer ticker.Stop()
	var again <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.changed:
			w.reconcile(ctx)
			again = time.After(w.afterChange)
		case <-again:
			w.reconcile(ctx)
			again = nil
		case <-ticker.C:
			w.reconcile(ctx)
		}
	}
}

// crdChanged is the CRD informer's handler: a CRD was added, changed or
// deleted; if it is of a watched group, rediscover.
func (w *Watcher) crdChanged(obj any) {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	// A CRD is named <plural>.<group>, and a plural has no dot.
	_, group, _ := strings.Cut(m.GetName(), ".")
	w.mu.Lock()
	watchedGroup := w.groups[group]
	w.mu.Unlock()
	if watchedGroup {
		select {
		case w.changed <- struct{}{}:
		default: // a rediscovery is already due
		}
	}
}

// reconcile starts the informers of served kinds and stops those of kinds
// no longer served. A group version discovery cannot answer for keeps its
// informers as they are.
func (w *Watcher) reconcile(ctx context.Context) {
	type answer struct {
		resources *metav1.APIResourceList
		err       error
	}
	answers := map[schema.GroupVersion]answer{}
	for _, k := range w.kinds {
		gv := k.kind.GVR.GroupVersion()
		a, asked := answers[gv]
		if !asked {
			a.resources, a.err = w.discovery.ServerResourcesForGroupVersionWithContext(ctx, gv.String())
			answers[gv] = a
			if a.err != nil && !apierrors.IsNotFound(a.err) && ctx.Err() == nil {
				log.Error(a.err, "discovering served kinds; their informers stay as they are", logkeys.Resource, gv.String())
			}
		}
		switch {
		case a.err != nil && !apierrors.IsNotFound(a.err):
		case servedIn(a.resources, k.kind):
			w.start(ctx, k)
		default:
			w.stop(k, "stopped watching a kind the API server no longer serves")
		}
	}
}

func servedIn(resources *metav1.APIResourceList, k Target) bool {
	if resources == nil {
		return false
	}
	for _, r := range resources.APIResources {
		if r.Name == k.GVR.Resource && r.Kind == k.Kind {
			return true
		}
	}
	return false
}

// start runs k's informer unless it runs.
func (w *Watcher) start(ctx context.Context, k *watched) {
	if k.running != nil {
		return
	}
	informer := dynamicinformer.NewFilteredDynamicInformer(w.dynamic, k.kind.GVR, metav1.NamespaceAll, 0, toolscache.Indexers{}, nil).Informer()
	if k.kind.Transform != nil {
		if err := informer.SetTransform(k.kind.Transform); err != nil {
			log.Error(err, "setting the cache transform of a served kind", logkeys.Kind, k.kind.Kind, logkeys.Resource, resourceOf(k.kind.GVR))
			return
		}
	}
	if err := k.kind.OnStart(informer); err != nil {
		log.Error(err, "starting to watch a served kind; trying again at the next discovery", logkeys.Kind, k.kind.Kind, logkeys.Resource, resourceOf(k.kind.GVR))
		return
	}
	informerCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		informer.RunWithContext(informerCtx)
	}()
	k.running = &running{stop: stop, done: done}
	w.readyMu.Lock()
	w.synced[k] = informer.HasSynced
	w.readyMu.Unlock()
	log.Info("watching a kind the API server serves", logkeys.Kind, k.kind.Kind, logkeys.Resource, resourceOf(k.kind.GVR))
}

// stop stops k's informer if it runs, waiting for it so that OnStop follows
// its last event.
func (w *Watcher) stop(k *watched, message string) {
	if k.running == nil {
		return
	}
	k.running.stop()
	<-k.running.done
	k.running = nil
	w.readyMu.Lock()
	delete(w.synced, k)
	w.readyMu.Unlock()
	k.kind.OnStop()
	log.Info(message, logkeys.Kind, k.kind.Kind, logkeys.Resource, resourceOf(k.kind.GVR))
}

// stopAll stops every informer, when the Watcher stops.
func (w *Watcher) stopAll() {
	for _, k := range w.kinds {
		w.stop(k, "stopped watching a served kind: shutting down")
	}
}

// resourceOf is gvr as logkeys.Resource reads: group/version/resource.
func resourceOf(gvr schema.GroupVersionResource) string {
	return gvr.GroupVersion().String() + "/" + gvr.Resource
}
