package policywatch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/eksguard/eksguard/config"

	"github.com/eksguard/eksguard/internal/lib/logkeys"
)

// Event reasons recorded on the policy ConfigMap.
const (
	ReasonPolicyLoaded  = "PolicyLoaded"
	ReasonInvalidPolicy = "InvalidPolicy"
	ReasonPolicyDeleted = "PolicyDeleted"
)

const (
	// watcherName names the controller, the event reporter and the readiness check.
	watcherName = "eksguard-policy"
	// eventAction is the action of every event the watcher records.
	eventAction = "ReloadPolicy"
	// maxEventNote is the longest note events.k8s.io/v1 accepts.
	maxEventNote = 1024
	// initialSyncRetry spaces the retries of the startup read.
	initialSyncRetry = 5 * time.Second
)

// Watcher keeps a Store in line with the policy ConfigMap: a valid change is
// compiled and put in force for the next admission, an invalid one is
// rejected (the last good policy stays), and a deletion returns to the
// built-in defaults. Each outcome is logged, recorded as an Event on the
// ConfigMap and counted in metrics.
type Watcher struct {
	Reader       client.Reader
	Recorder     events.EventRecorder
	Store        *config.Store
	ConfigMap    types.NamespacedName
	OwnNamespace string
	// Now is the clock of the load timestamp; nil means time.Now.
	Now func() time.Time

	mu sync.Mutex
	// seenVersion is the resourceVersion of the ConfigMap last acted on,
	// valid or not, so that a resync neither re-applies nor re-reports it.
	seenVersion string
	// seenRef refers to that ConfigMap, for the event on its deletion.
	seenRef *corev1.ObjectReference
	synced  bool
}

// SetupWithManager watches the policy ConfigMap namespace/name and
// keeps store in line with it. The manager's cache must be able to read that
// ConfigMap. It also registers the readiness check "eksguard-policy", which
// passes once the ConfigMap in place at startup (or its absence) is in force.
func SetupWithManager(mgr manager.Manager, store *config.Store, namespace, name, ownNamespace string) error {
	w := &Watcher{
		Reader:       mgr.GetClient(),
		Recorder:     mgr.GetEventRecorder(watcherName),
		Store:        store,
		ConfigMap:    types.NamespacedName{Namespace: namespace, Name: name},
		OwnNamespace: ownNamespace,
	}
	w.publish(store.Current())
	isPolicyConfigMap := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetNamespace() == namespace && o.GetName() == name
	})
	err := ctrl.NewControllerManagedBy(mgr).
		Named(watcherName).
		For(&corev1.ConfigMap{}, builder.WithPredicates(isPolicyConfigMap)).
		// Every replica serves admissions, so every replica follows the policy.
		WithOptions(controller.Options{NeedLeaderElection: ptr.To(false), MaxConcurrentReconciles: 1}).
		Complete(w)
	if err != nil {
		return fmt.Errorf("setting up the policy ConfigMap watcher: %w", err)
	}
	// Without a ConfigMap no event ever arrives: look once the cache is synced.
	if err := mgr.Add(&initialSync{watcher: w, cache: mgr.GetCache()}); err != nil {
		return err
	}
	return mgr.AddReadyzCheck(watcherName, w.Ready)
}

// Ready is a healthz.Checker passing once the policy in place at startup is known.
func (w *Watcher) Ready(*http.Request) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.synced {
		return errors.New("policy ConfigMap not read yet")
	}
	return nil
}

// publish exports p as the policy in force in the metrics.
func (w *Watcher) publish(p *config.Policy) {
	configInfo.Reset()
	configInfo.WithLabelValues(p.Hash, p.Source).Set(1)
	configGeneration.Inc()
	configLastSuccessfulLoad.Set(float64(w.now().Unix()))
}

func (w *Watcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// Reconcile reads the policy ConfigMap and acts on it; every request means
// the same single ConfigMap.
func (w *Watcher) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	log := logf.FromContext(ctx).WithValues(logkeys.ConfigMap, w.ConfigMap.String())

	var cm corev1.ConfigMap
	if err := w.Reader.Get(ctx, w.ConfigMap, &cm); err != nil {
		if !apierrors.IsNotFound(err) {
			return reconcile.Result{}, fmt.Errorf("reading policy ConfigMap %s: %w", w.ConfigMap, err)
		}
		w.synced = true
		w.deleted(log)
		return reconcile.Result{}, nil
	}
	w.synced = true
	if cm.ResourceVersion == w.seenVersion {
		return reconcile.Result{}, nil
	}
	w.seenVersion = cm.ResourceVersion
	w.seenRef = &corev1.ObjectReference{
		APIVersion: "v1", Kind: "ConfigMap",
		Namespace: cm.Namespace, Name: cm.Name, UID: cm.UID, ResourceVersion: cm.ResourceVersion,
	}
	log = log.WithValues(logkeys.ResourceVersion, cm.ResourceVersion)

	p, err := w.load(&cm)
	if err != nil {
		kept := w.Store.Current()
		configReloads.WithLabelValues(ReloadInvalid).Inc()
		log.Error(err, "rejected invalid policy, keeping the last good one", logkeys.KeptSource, kept.Source, logkeys.Hash, kept.Hash)
		w.event(corev1.EventTypeWarning, ReasonInvalidPolicy,
			fmt.Sprintf("policy rejected, still enforcing %s: %v", kept.Source, err))
		return reconcile.Result{}, nil
	}
	p.Source = fmt.Sprintf("%s/%s@%s", cm.Namespace, cm.Name, cm.ResourceVersion)
	w.Store.Set(p)
	w.publish(p)
	configReloads.WithLabelValues(ReloadLoaded).Inc()
	log.Info("policy loaded", logkeys.Source, p.Source, logkeys.Hash, p.Hash)
	w.event(corev1.EventTypeNormal, ReasonPolicyLoaded, "policy in force: "+p.Summary(w.now()))
	return reconcile.Result{}, nil
}

func (w *Watcher) load(cm *corev1.ConfigMap) (*config.Policy, error) {
	doc, ok := cm.Data[config.ConfigMapKey]
	if !ok {
		return nil, fmt.Errorf("ConfigMap has no key %q under data", config.ConfigMapKey)
	}
	return config.Load([]byte(doc), w.OwnNamespace)
}

// deleted returns to the built-in defaults once the ConfigMap is gone.
func (w *Watcher) deleted(log logr.Logger) {
	if w.seenRef == nil {
		return
	}
	ref := w.seenRef
	w.seenVersion, w.seenRef = "", nil
	p := config.DefaultPolicy(w.OwnNamespace)
	w.Store.Set(p)
	w.publish(p)
	configReloads.WithLabelValues(ReloadDeleted).Inc()
	log.Info("policy ConfigMap deleted, back to the built-in defaults", logkeys.Source, p.Source, logkeys.Hash, p.Hash)
	w.Recorder.Eventf(ref, nil, corev1.EventTypeNormal, ReasonPolicyDeleted, eventAction, "%s",
		"policy ConfigMap deleted, built-in defaults in force")
}

func (w *Watcher) event(eventType, reason, note string) {
	if len(note) > maxEventNote {
		note = note[:maxEventNote-3] + "..."
	}
	w.Recorder.Eventf(w.seenRef, nil, eventType, reason, eventAction, "%s", note)
}

// initialSync reads the ConfigMap once the cache is synced, so that Ready
// passes even when no ConfigMap exists (no watch event would ever come).
type initialSync struct {
	watcher *Watcher
	cache   interface {
		WaitForCacheSync(ctx context.Context) bool
	}
}

// NeedLeaderElection is false: every replica needs its policy.
func (s *initialSync) NeedLeaderElection() bool { return false }

func (s *initialSync) Start(ctx context.Context) error {
	if !s.cache.WaitForCacheSync(ctx) {
		return nil
	}
	for {
		_, err := s.watcher.Reconcile(ctx, reconcile.Request{NamespacedName: s.watcher.ConfigMap})
		if err == nil {
			return nil
		}
		logf.FromContext(ctx).Error(err, "initial read of the policy ConfigMap failed, retrying")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(initialSyncRetry):
		}
	}
}
