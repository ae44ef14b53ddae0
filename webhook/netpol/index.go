package netpol

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unique"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/internal/lib/logkeys"
)

var indexLog = logf.Log.WithName("networkpolicy-index")

// Index holds every policy object of the counted kinds, compiled:
// namespaced ones by namespace, cluster-scoped ones in one list. Informer
// event handlers feed it; an object is compiled once per resourceVersion,
// so an admission only matches selectors, and its cost grows only with the
// policies that can apply to the pod.
type Index struct {
	mu         sync.RWMutex
	namespaces map[string]*bucket
	cluster    bucket

	// synced holds, per watched kind, whether its informer delivered its
	// initial list; discovering is true until the first discovery of the
	// custom kinds has run (never for an index without discovery).
	synced      map[*PolicyKind]func() bool
	discovering bool

	// tiers are Calico's tiers, read whole on every Tier event.
	tiers atomic.Pointer[Tiers]
	// gens count the changes to each namespace's bucket ("" the
	// cluster-scoped one): a generation says nothing changed since.
	gens map[string]uint64
}

// generation is what a lookup in namespace read: its bucket's and the
// cluster bucket's change counts.
type generation [2]uint64

// bucket keeps compiled policies contiguous for fast scans; keys and
// positions let events replace or remove one in constant time. hot is
// parallel to policies: what a scan needs to pass over most policies
// without reading them (see hotEntry).
type bucket struct {
	policies []*Compiled
	hot      []hotEntry
	keys     []policyKey
	position map[types.UID]int
	// namespaceLabels counts the policies whose selections read namespace labels.
	namespaceLabels int
}

type policyKey struct {
	uid             types.UID
	resourceVersion string
}

// PolicyEntry is one indexed policy, as handed out by Snapshot.
type PolicyEntry struct {
	UID    types.UID
	Policy *Compiled
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{namespaces: map[string]*bucket{}, synced: map[*PolicyKind]func() bool{}, gens: map[string]uint64{}}
}

// Len is the number of policies the index holds.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := len(ix.cluster.policies)
	for _, b := range ix.namespaces {
		n += len(b.policies)
	}
	return n
}

// CountByKind is the number of policies the index holds, by kind name.
func (ix *Index) CountByKind() map[string]int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := map[string]int{}
	count := func(b *bucket) {
		for _, p := range b.policies {
			out[p.Kind.Name]++
		}
	}
	count(&ix.cluster)
	for _, b := range ix.namespaces {
		count(b)
	}
	return out
}

// ReadyCheck is a healthz.Checker: it fails until every watched kind's
// informer has delivered its initial list to the index.
func (ix *Index) ReadyCheck(_ *http.Request) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.discovering {
		return errors.New("the policy kinds have not been discovered yet")
	}
	if len(ix.synced) == 0 {
		return errors.New("the NetworkPolicy index has not synced yet")
	}
	var pending []string
	for k, synced := range ix.synced {
		if !synced() {
			pending = append(pending, k.Name)
		}
	}
	if len(pending) > 0 {
		sort.Strings(pending)
		return fmt.Errorf("the policy index has not synced yet: %s", strings.Join(pending, ", "))
	}
	return nil
}

// eventSource is the part of an informer that feeds the index.
type eventSource interface {
	AddEventHandler(toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error)
}

// feed is the informer event handler of one kind: it hands events to the
// index until the kind stops being watched, so that events an informer
// delivers while it stops cannot bring back a kind whose CRD is gone.
type feed struct {
	index   *Index
	stopped atomic.Bool
}

func (f *feed) OnAdd(obj interface{}, _ bool) {
	if !f.stopped.Load() {
		f.index.upsert(obj)
	}
}

func (f *feed) OnUpdate(_, newObj interface{}) {
	if !f.stopped.Load() {
		f.index.upsert(newObj)
	}
}

func (f *feed) OnDelete(obj interface{}) {
	if !f.stopped.Load() {
		f.index.OnDelete(obj)
	}
}

// watch feeds the index from the informer of kind; readiness then follows
// the handler registration's sync.
func (ix *Index) watch(kind *PolicyKind, informer eventSource) (*feed, error) {
	f := &feed{index: ix}
	reg, err := informer.AddEventHandler(f)
	if err != nil {
		return nil, err
	}
	ix.mu.Lock()
	ix.synced[kind] = reg.HasSynced
	ix.mu.Unlock()
	return f, nil
}

// Watched lists the kinds whose objects can exist, in Kinds order: the
// built-in NetworkPolicy and the custom kinds the API server serves.
func (ix *Index) Watched() []*PolicyKind {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var kinds []*PolicyKind
	for _, k := range Kinds {
		if _, ok := ix.synced[k]; ok || k.BuiltIn() {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// AssumeServed makes the index treat every kind as served and synced: for
// an index fed by hand from manifests or a listed cluster (check, audit).
func (ix *Index) AssumeServed() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, k := range Kinds {
		ix.synced[k] = func() bool { return true }
	}
}

// Tiers are the Calico tiers in the cluster (nil: none seen, Calico's defaults).
func (ix *Index) Tiers() *Tiers { return ix.tiers.Load() }

// SetTiers replaces the Calico tiers (a Tier informer's store, or the input of check and audit).
func (ix *Index) SetTiers(t *Tiers) { ix.tiers.Store(t) }

// CheckCoverage runs the coverage rule for pod over the indexed policies of its
// namespace and the cluster-scoped ones.
func (ix *Index) CheckCoverage(pod *Pod, want Want) Coverage {
	r, _, _ := ix.check(pod, want, true, nil)
	return r
}

// CheckDNS walks the pod's DNS path through the indexed policies of its
// namespace and the cluster-scoped ones.
func (ix *Index) CheckDNS(pod *Pod, want Want, t *dnsTarget) DNSPath {
	_, d, _ := ix.check(pod, want, false, t)
	return d
}

// check runs the coverage rule (when coverage is asked) and walks the DNS
// path (when t is set) in one scan of the indexed policies: each policy a
// hot entry does not reject goes to both. The coverage rule alone stops at
// the first policy that covers the pod; the DNS walk needs them all. The
// generation is the one the answers come from.
func (ix *Index) check(pod *Pod, want Want, coverage bool, t *dnsTarget) (Coverage, DNSPath, generation) {
	var e evaluation
	e.start(pod, want, ix.Tiers())
	var w dnsWalk
	if t != nil {
		w.start(pod, want, t, e.tiers)
	}
	covered := !coverage
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	gen := generation{ix.gens[pod.Namespace], ix.gens[""]}
	if ns := ix.namespaces[pod.Namespace]; ns != nil {
		hot := ns.hot[:len(ns.policies)]
		for i, p := range ns.policies {
			if h := &hot[i]; h.rejects(&e) {
				if !covered && (want.Kinds == 0 || want.Kinds&h.kindBit != 0) {
					e.result.Applying++
					e.result.Kinds |= h.kindBit
				}
				continue
			}
			if !covered {
				covered = e.add(p)
			}
			if t != nil {
				w.add(p, &e)
			} else if covered {
				return e.finish(), DNSPath{}, gen
			}
		}
	}
	for _, p := range ix.cluster.policies {
		if !covered {
			covered = e.add(p)
		}
		if t != nil {
			w.add(p, &e)
		} else if covered {
			break
		}
	}
	var d DNSPath
	if t != nil {
		d = w.finish()
	}
	return e.finish(), d, gen
}

// NeedsNamespaceLabels reports whether a policy that can apply to pods of
// namespace selects by namespace labels.
func (ix *Index) NeedsNamespaceLabels(namespace string) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if len(ix.cluster.policies) > 0 {
		return true
	}
	ns := ix.namespaces[namespace]
	return ns != nil && ns.namespaceLabels > 0
}

// Snapshot copies the indexed policies that can apply to pods of namespace:
// the namespace's own, then the cluster-scoped ones.
func (ix *Index) Snapshot(namespace string) []PolicyEntry {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var entries []PolicyEntry
	for _, b := range []*bucket{ix.namespaces[namespace], &ix.cluster} {
		if b == nil {
			continue
		}
		for i := range b.policies {
			entries = append(entries, PolicyEntry{UID: b.keys[i].uid, Policy: b.policies[i]})
		}
	}
	return entries
}

// setDiscovering says whether the first discovery of the custom kinds is
// still to come.
func (ix *Index) setDiscovering(pending bool) {
	ix.mu.Lock()
	ix.discovering = pending
	ix.mu.Unlock()
}

// OnAdd implements toolscache.ResourceEventHandler.
func (ix *Index) OnAdd(obj interface{}, _ bool) { ix.upsert(obj) }

// OnUpdate implements toolscache.ResourceEventHandler.
func (ix *Index) OnUpdate(_, newObj interface{}) { ix.upsert(newObj) }

// OnDelete implements toolscache.ResourceEventHandler; obj may be a tombstone
// when the watch missed the deletion.
func (ix *Index) OnDelete(obj interface{}) {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	if _, m := policyObject(obj); m != nil {
		ix.remove(m.GetNamespace(), m.GetUID())
	}
}

// policyObject returns obj and its metadata when it is an object of a
// counted kind; nil metadata otherwise.
func policyObject(obj interface{}) (runtime.Object, metav1.Object) {
	o, ok := obj.(runtime.Object)
	if !ok || kindOf(o) == nil {
		return nil, nil
	}
	m, err := meta.Accessor(o)
	if err != nil {
		return nil, nil
	}
	return o, m
}

// upsert compiles obj unless the index already holds this resourceVersion.
// An object whose selectors do not parse selects no pod, so it is left out.
func (ix *Index) upsert(obj interface{}) {
	o, m := policyObject(obj)
	if m == nil {
		return
	}
	ix.mu.RLock()
	current, known := ix.keyOf(m.GetNamespace(), m.GetUID())
	ix.mu.RUnlock()
	if known && current.resourceVersion == m.GetResourceVersion() {
		return
	}
	policy, err := Compile(o)
	if err != nil {
		indexLog.Error(err, "ignoring a policy with an invalid selector", logkeys.Kind, kindOf(o).Name,
			logkeys.Policy, types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()})
		ix.remove(m.GetNamespace(), m.GetUID())
		return
	}
	ix.put(m.GetUID(), m.GetResourceVersion(), policy)
}

func (ix *Index) put(uid types.UID, resourceVersion string, policy *Compiled) {
	key := policyKey{uid: uid, resourceVersion: resourceVersion}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	b := ix.bucketFor(policy.Namespace, true)
	ix.gens[policy.Namespace]++
	hot := hotEntryOf(policy, policy.Namespace)
	if i, ok := b.position[uid]; ok {
		b.namespaceLabels -= readsNamespaceLabels(b.policies[i])
		b.policies[i], b.hot[i], b.keys[i] = policy, hot, key
	} else {
		b.position[uid] = len(b.policies)
		b.policies = append(b.policies, policy)
		b.hot = append(b.hot, hot)
		b.keys = append(b.keys, key)
	}
	b.namespaceLabels += readsNamespaceLabels(policy)
}

func readsNamespaceLabels(p *Compiled) int {
	for i := range p.Selections {
		if p.Selections[i].readsNamespaceLabels() {
			return 1
		}
	}
	return 0
}

// bucketFor is the bucket of a policy of namespace ("" for cluster-scoped).
func (ix *Index) bucketFor(namespace string, create bool) *bucket {
	if namespace == "" {
		if ix.cluster.position == nil {
			ix.cluster.position = map[types.UID]int{}
		}
		return &ix.cluster
	}
	b := ix.namespaces[namespace]
	if b == nil && create {
		b = &bucket{position: map[types.UID]int{}}
		ix.namespaces[namespace] = b
	}
	return b
}

func (ix *Index) keyOf(namespace string, uid types.UID) (policyKey, bool) {
	b := ix.bucketFor(namespace, false)
	if b == nil {
		return policyKey{}, false
	}
	i, ok := b.position[uid]
	if !ok {
		return policyKey{}, false
	}
	return b.keys[i], true
}

// remove drops a policy by moving its bucket's last policy into its slot.
func (ix *Index) remove(namespace string, uid types.UID) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.removeLocked(namespace, uid)
}

func (ix *Index) removeLocked(namespace string, uid types.UID) {
	b := ix.bucketFor(namespace, false)
	if b == nil {
		return
	}
	i, ok := b.position[uid]
	if !ok {
		return
	}
	ix.gens[namespace]++
	b.namespaceLabels -= readsNamespaceLabels(b.policies[i])
	last := len(b.policies) - 1
	b.policies[i], b.hot[i], b.keys[i] = b.policies[last], b.hot[last], b.keys[last]
	b.position[b.keys[i].uid] = i
	b.policies[last], b.hot[last], b.keys[last] = nil, hotEntry{}, policyKey{}
	b.policies, b.hot, b.keys = b.policies[:last], b.hot[:last], b.keys[:last]
	delete(b.position, uid)
	if last == 0 && namespace != "" {
		delete(ix.namespaces, namespace)
	}
}

// forget drops every policy of kind and stops waiting for its informer:
// its CRD is gone.
func (ix *Index) forget(kind *PolicyKind, f *feed) {
	f.stopped.Store(true)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.synced, kind)
	drop := func(namespace string, b *bucket) {
		for i := len(b.policies) - 1; i >= 0; i-- {
			if b.policies[i].Kind == kind {
				ix.removeLocked(namespace, b.keys[i].uid)
			}
		}
	}
	for ns, b := range ix.namespaces {
		drop(ns, b)
	}
	drop("", &ix.cluster)
}

// hotEntry lets a scan of a namespace's bucket count a policy that cannot
// select the pod without reading the policy: a policy with one selection
// of the bucket's namespace, by pod labels only, whose first requirement
// is one key equal to one value (most NetworkPolicies: "app=web"). A pod
// without that label value is not selected, and the policy still applies
// in its namespace (evaluation.add would count it the same way).
type hotEntry struct {
	// key is canonical (unique.Make): most entries share a few keys, and
	// comparing one with the key the scan looked up last then reads no
	// bytes.
	key, value string
	kindBit    uint
	// filters: key and value reject the pods without them.
	filters bool
}

// hotEntryOf is p's entry in the bucket of namespace. A Calico policy's
// tier does not matter here: a policy that does not select the pod only
// counts as applying, whatever its tier does with what it selects.
func hotEntryOf(p *Compiled, namespace string) hotEntry {
	if namespace == "" || len(p.Selections) != 1 {
		return hotEntry{}
	}
	s := &p.Selections[0]
	if s.Namespace != namespace || s.readsNamespaceLabels() || s.attributes {
		return hotEntry{}
	}
	if s.calico != nil {
		// Calico's own labels (projectcalico.org/...) are not the pod's.
		key, value, ok := s.calico.pods.RequiredEqual()
		if !ok || strings.HasPrefix(key, calicoLabelPrefix) {
			return hotEntry{}
		}
		return hotEntry{key: unique.Make(key).Value(), value: value, kindBit: p.Kind.bit, filters: true}
	}
	if len(s.pods) == 0 {
		return hotEntry{}
	}
	r := &s.pods[0]
	if r.op != opIn || r.values != nil {
		return hotEntry{}
	}
	return hotEntry{key: unique.Make(r.key).Value(), value: r.value, kindBit: p.Kind.bit, filters: true}
}

// rejects reports whether h's policy cannot select e's pod. Only for pods
// whose labels are all known: an unknown value may yet match.
func (h *hotEntry) rejects(e *evaluation) bool {
	if !h.filters || !e.listed {
		return false
	}
	if h.key != e.hotKey {
		e.hotKey = h.key
		e.hotValue, e.hotPresent = e.podLabels().value(h.key)
	}
	return !e.hotPresent || e.hotValue != h.value
}
