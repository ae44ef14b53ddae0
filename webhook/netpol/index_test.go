package netpol

import (
	"fmt"
	"sort"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/eksguard/eksguard/config"
)

// indexState renders what the index answers for the app=web pod and which
// policies it holds, per namespace.
func indexState(ix *Index, namespaces ...string) string {
	var out string
	for _, ns := range namespaces {
		covered, n := lookupIndex(ix, ns, labels.Set{"app": "web"}, config.CoverageAny)
		var uids []string
		for _, e := range ix.Snapshot(ns) {
			uids = append(uids, string(e.UID))
		}
		sort.Strings(uids)
		out += fmt.Sprintf("%s: covered=%t count=%d %v; ", ns, covered, n, uids)
	}
	return out
}

func TestIndexEvents(t *testing.T) {
	web := metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	db := metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	a := netpolObject("shop", "a", db, networkingv1.PolicyTypeIngress)
	b := netpolObject("shop", "b", db, networkingv1.PolicyTypeIngress)
	c := netpolObject("shop", "c", db, networkingv1.PolicyTypeIngress)
	other := netpolObject("other", "a", web, networkingv1.PolicyTypeIngress)
	withSelector := func(np *networkingv1.NetworkPolicy, sel metav1.LabelSelector, rv string) *networkingv1.NetworkPolicy {
		np = np.DeepCopy()
		np.Spec.PodSelector, np.ResourceVersion = sel, rv
		return np
	}

	ix := NewIndex()
	step := func(name, want string) {
		t.Helper()
		if got := indexState(ix, "shop", "other"); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	step("empty", "shop: covered=false count=0 []; other: covered=false count=0 []; ")

	ix.OnAdd(a, true)
	ix.OnAdd(b, true)
	ix.OnAdd(c, true)
	ix.OnAdd(other, false)
	step("added", "shop: covered=false count=3 [shop/a shop/b shop/c]; other: covered=true count=1 [other/a]; ")

	ix.OnUpdate(a, withSelector(a, web, "2"))
	step("a now selects web", "shop: covered=true count=3 [shop/a shop/b shop/c]; other: covered=true count=1 [other/a]; ")

	// A resync delivers the same resourceVersion: the index keeps what it has.
	ix.OnUpdate(a, withSelector(a, db, "2"))
	step("resync with the same resourceVersion", "shop: covered=true count=3 [shop/a shop/b shop/c]; other: covered=true count=1 [other/a]; ")

	ix.OnDelete(b)
	step("b deleted", "shop: covered=true count=2 [shop/a shop/c]; other: covered=true count=1 [other/a]; ")

	ix.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "shop/a", Obj: withSelector(a, web, "2")})
	step("a deleted through a tombstone", "shop: covered=false count=1 [shop/c]; other: covered=true count=1 [other/a]; ")

	ix.OnUpdate(c, withSelector(c, metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}}, "3"))
	step("c gets a selector that does not parse", "shop: covered=false count=0 []; other: covered=true count=1 [other/a]; ")

	ix.OnDelete(c)
	ix.OnDelete(other)
	ix.OnDelete("not a NetworkPolicy")
	step("all deleted", "shop: covered=false count=0 []; other: covered=false count=0 []; ")
	if len(ix.namespaces) != 0 {
		t.Errorf("empty namespaces are kept: %v", ix.namespaces)
	}
}

// TestIndexRemoveKeepsPositions deletes from the middle, start and end and
// checks every remaining policy is still found by its UID.
func TestIndexRemoveKeepsPositions(t *testing.T) {
	ix := NewIndex()
	var nps []*networkingv1.NetworkPolicy
	for i := range 10 {
		np := netpolObject("shop", fmt.Sprint(i), metav1.LabelSelector{MatchLabels: map[string]string{"n": fmt.Sprint(i)}})
		nps = append(nps, np)
		ix.OnAdd(np, true)
	}
	for _, i := range []int{4, 0, 9, 5} {
		ix.OnDelete(nps[i])
	}
	for i, np := range nps {
		deleted := i == 4 || i == 0 || i == 9 || i == 5
		covered, _ := lookupIndex(ix, "shop", labels.Set{"n": fmt.Sprint(i)}, config.CoverageAny)
		if covered == deleted {
			t.Errorf("policy %d: covered=%t after deleting 0, 4, 5, 9", i, covered)
		}
		ns := ix.namespaces["shop"]
		if pos, ok := ns.position[np.UID]; ok && ns.keys[pos].uid != np.UID {
			t.Errorf("policy %d: position %d holds %s", i, pos, ns.keys[pos].uid)
		}
	}
}

type fakeRegistration struct{ synced bool }

func (r *fakeRegistration) HasSynced() bool                          { return r.synced }
func (r *fakeRegistration) HasSyncedChecker() toolscache.DoneChecker { return nil }

type fakeInformer struct {
	handler      toolscache.ResourceEventHandler
	registration *fakeRegistration
}

func (f *fakeInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	f.handler = h
	return f.registration, nil
}

func TestIndexReadyCheck(t *testing.T) {
	ix := NewIndex()
	if err := ix.ReadyCheck(nil); err == nil {
		t.Fatalf("ready before registration")
	}
	informer := &fakeInformer{registration: &fakeRegistration{}}
	if _, err := ix.watch(KindNetworkPolicy, informer); err != nil {
		t.Fatal(err)
	}
	if err := ix.ReadyCheck(nil); err == nil || err.Error() != "the policy index has not synced yet: NetworkPolicy" {
		t.Fatalf("ReadyCheck() before sync = %v", err)
	}
	informer.handler.OnAdd(netpolObject("shop", "a", metav1.LabelSelector{}), true)
	informer.registration.synced = true
	if err := ix.ReadyCheck(nil); err != nil {
		t.Fatalf("ReadyCheck() after sync = %v", err)
	}
	if covered, _ := lookupIndex(ix, "shop", nil, config.CoverageAny); !covered {
		t.Errorf("the registered handler does not feed the index")
	}
}

// TestIndexConcurrentReads runs lookups while events change the index; run
// with -race. The default-deny policy stays throughout, so every lookup must
// find the pod covered.
func TestIndexConcurrentReads(t *testing.T) {
	ix := NewIndex()
	ix.OnAdd(netpolObject("shop", "deny-all", metav1.LabelSelector{}, networkingv1.PolicyTypeIngress), true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			np := netpolObject("shop", fmt.Sprint(i%50), metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprint(i)}})
			np.ResourceVersion = fmt.Sprint(i)
			ix.OnUpdate(nil, np)
			if i%3 == 0 {
				ix.OnDelete(np)
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		if covered, _ := lookupIndex(ix, "shop", labels.Set{"app": "web"}, config.CoverageAny); !covered {
			t.Fatalf("the default-deny policy got lost")
		}
		_ = ix.Snapshot("shop")
	}
}
