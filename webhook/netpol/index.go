package netpol

import (
	"errors"
	"net/http"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/config"
)

var indexLog = logf.Log.WithName("networkpolicy-index")

// Index holds every NetworkPolicy of the cluster, compiled, by namespace.
// Informer event handlers feed it; a policy is compiled once per
// resourceVersion, so admission requests only match selectors.
type Index struct {
	mu         sync.RWMutex
	namespaces map[string]*namespacePolicies

	// synced reports whether the informer delivered its initial list to the
	// index; nil until the index is registered with an informer.
	synced func() bool
}

// namespacePolicies keeps compiled policies contiguous for fast scans; keys
// and positions let events replace or remove one in constant time.
type namespacePolicies struct {
	compiled []Compiled
	keys     []policyKey
	position map[types.UID]int
}

type policyKey struct {
	uid             types.UID
	resourceVersion string
}

// PolicyEntry is one indexed policy, as handed out by Snapshot.
type PolicyEntry struct {
	UID      types.UID
	Compiled Compiled
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{namespaces: map[string]*namespacePolicies{}}
}

// errNotSynced is the readiness failure before the initial list is indexed.
var errNotSynced = errors.New("the NetworkPolicy index has not synced yet")

// ReadyCheck is a healthz.Checker: it fails until the informer's initial
// list has been delivered to the index.
func (ix *Index) ReadyCheck(_ *http.Request) error {
	ix.mu.RLock()
	synced := ix.synced
	ix.mu.RUnlock()
	if synced == nil || !synced() {
		return errNotSynced
	}
	return nil
}

// eventSource is the part of an informer that feeds the index.
type eventSource interface {
	AddEventHandler(toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error)
}

// registerWith adds the index's event handlers to an informer; readiness then
// follows the handler registration's sync.
func (ix *Index) registerWith(informer eventSource) error {
	reg, err := informer.AddEventHandler(ix)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	ix.synced = reg.HasSynced
	ix.mu.Unlock()
	return nil
}

// Lookup returns whether the namespace's policies cover a pod with podLabels,
// and how many policies the namespace has.
func (ix *Index) Lookup(namespace string, podLabels labels.Set, coverage config.Coverage) (covered bool, policyCount int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ns := ix.namespaces[namespace]
	if ns == nil {
		return false, 0
	}
	return Covers(ns.compiled, podLabels, coverage), len(ns.compiled)
}

// Snapshot copies the namespace's indexed policies.
func (ix *Index) Snapshot(namespace string) []PolicyEntry {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ns := ix.namespaces[namespace]
	if ns == nil {
		return nil
	}
	entries := make([]PolicyEntry, len(ns.compiled))
	for i := range ns.compiled {
		entries[i] = PolicyEntry{UID: ns.keys[i].uid, Compiled: ns.compiled[i]}
	}
	return entries
}

// OnAdd implements toolscache.ResourceEventHandler.
func (ix *Index) OnAdd(obj interface{}, _ bool) {
	if np, ok := obj.(*networkingv1.NetworkPolicy); ok {
		ix.upsert(np)
	}
}

// OnUpdate implements toolscache.ResourceEventHandler.
func (ix *Index) OnUpdate(_, newObj interface{}) {
	if np, ok := newObj.(*networkingv1.NetworkPolicy); ok {
		ix.upsert(np)
	}
}

// OnDelete implements toolscache.ResourceEventHandler; obj may be a tombstone
// when the watch missed the deletion.
func (ix *Index) OnDelete(obj interface{}) {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	if np, ok := obj.(*networkingv1.NetworkPolicy); ok {
		ix.remove(np.Namespace, np.UID)
	}
}

// upsert compiles np unless the index already holds this resourceVersion. A
// policy whose selector does not parse selects no pod, so it is left out.
func (ix *Index) upsert(np *networkingv1.NetworkPolicy) {
	ix.mu.RLock()
	current, known := ix.keyOf(np.Namespace, np.UID)
	ix.mu.RUnlock()
	if known && current.resourceVersion == np.ResourceVersion {
		return
	}
	compiled, err := Compile(np)
	if err != nil {
		indexLog.Error(err, "ignoring NetworkPolicy with an invalid pod selector",
			logKeyNetworkPolicy, types.NamespacedName{Namespace: np.Namespace, Name: np.Name})
		ix.remove(np.Namespace, np.UID)
		return
	}
	key := policyKey{uid: np.UID, resourceVersion: np.ResourceVersion}

	ix.mu.Lock()
	defer ix.mu.Unlock()
	ns := ix.namespaces[np.Namespace]
	if ns == nil {
		ns = &namespacePolicies{position: map[types.UID]int{}}
		ix.namespaces[np.Namespace] = ns
	}
	if i, ok := ns.position[np.UID]; ok {
		ns.compiled[i], ns.keys[i] = compiled, key
		return
	}
	ns.position[np.UID] = len(ns.compiled)
	ns.compiled = append(ns.compiled, compiled)
	ns.keys = append(ns.keys, key)
}

func (ix *Index) keyOf(namespace string, uid types.UID) (policyKey, bool) {
	ns := ix.namespaces[namespace]
	if ns == nil {
		return policyKey{}, false
	}
	i, ok := ns.position[uid]
	if !ok {
		return policyKey{}, false
	}
	return ns.keys[i], true
}

// remove drops a policy by moving the namespace's last policy into its slot.
func (ix *Index) remove(namespace string, uid types.UID) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ns := ix.namespaces[namespace]
	if ns == nil {
		return
	}
	i, ok := ns.position[uid]
	if !ok {
		return
	}
	last := len(ns.compiled) - 1
	ns.compiled[i], ns.keys[i] = ns.compiled[last], ns.keys[last]
	ns.position[ns.keys[i].uid] = i
	ns.compiled[last], ns.keys[last] = Compiled{}, policyKey{}
	ns.compiled, ns.keys = ns.compiled[:last], ns.keys[:last]
	delete(ns.position, uid)
	if last == 0 {
		delete(ix.namespaces, namespace)
	}
}
