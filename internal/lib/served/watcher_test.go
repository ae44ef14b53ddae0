package served

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubetesting "k8s.io/client-go/testing"
	toolscache "k8s.io/client-go/tools/cache"
)

var (
	widgets = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	gadgets = schema.GroupVersionResource{Group: "other.io", Version: "v1", Resource: "gadgets"}
)

// What discovery answers for a group version.
type answer int

const (
	absent  answer = iota // the group version is not served (NotFound)
	other                 // served, without the watched kind
	listed                // served, with the watched kind
	failing               // discovery fails
)

// fakeDiscovery is client-go's fake, safe to change while the watcher
// reads it, with answers set per group version.
type fakeDiscovery struct {
	*discoveryfake.FakeDiscovery
	mu      sync.Mutex
	answers map[schema.GroupVersion]answer
	calls   int
	// afterCall, if set, runs once after the next call has its answer.
	afterCall func()
}

func newFakeDiscovery() *fakeDiscovery {
	return &fakeDiscovery{FakeDiscovery: &discoveryfake.FakeDiscovery{Fake: &kubetesting.Fake{}},
		answers: map[schema.GroupVersion]answer{}}
}

// setLocked makes discovery answer a for gvr's group version; d.mu is held.
func (d *fakeDiscovery) setLocked(gvr schema.GroupVersionResource, a answer) {
	d.answers[gvr.GroupVersion()] = a
	d.Resources = nil
	for gv, a := range d.answers {
		list := &metav1.APIResourceList{GroupVersion: gv.String()}
		switch a {
		case other:
			list.APIResources = []metav1.APIResource{{Name: "others", Kind: "Other"}}
		case listed:
			r := widgets
			if gv == gadgets.GroupVersion() {
				r = gadgets
			}
			list.APIResources = []metav1.APIResource{{Name: r.Resource, Kind: kindOf(r)}}
		default:
			continue
		}
		d.Resources = append(d.Resources, list)
	}
}

func (d *fakeDiscovery) set(gvr schema.GroupVersionResource, a answer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setLocked(gvr, a)
}

func (d *fakeDiscovery) ServerResourcesForGroupVersionWithContext(ctx context.Context, groupVersion string) (*metav1.APIResourceList, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	defer func() {
		if f := d.afterCall; f != nil {
			d.afterCall = nil
			f()
		}
	}()
	gv, err := schema.ParseGroupVersion(groupVersion)
	if err != nil {
		return nil, err
	}
	if d.answers[gv] == failing {
		return nil, apierrors.NewServiceUnavailable("discovery is down")
	}
	return d.FakeDiscovery.ServerResourcesForGroupVersionWithContext(ctx, groupVersion)
}

func (d *fakeDiscovery) ServerResourcesForGroupVersion(groupVersion string) (*metav1.APIResourceList, error) {
	return d.ServerResourcesForGroupVersionWithContext(context.Background(), groupVersion)
}

func kindOf(gvr schema.GroupVersionResource) string {
	if gvr == gadgets {
		return "Gadget"
	}
	return "Widget"
}

// object is a stored object of gvr, with what trim drops.
func object(gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec":   map[string]any{"size": int64(3)},
		"status": map[string]any{"phase": "Ready"},
	}}
	u.SetAPIVersion(gvr.GroupVersion().String())
	u.SetKind(kindOf(gvr))
	u.SetName(name)
	u.SetAnnotations(map[string]string{"last-applied": "{...}"})
	return u
}

func newFakeDynamic() *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{widgets: "WidgetList", gadgets: "GadgetList"},
		object(widgets, "small"), object(gadgets, "tiny"))
}

// trim keeps an object's identity and spec.
func trim(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	trimmed := &unstructured.Unstructured{Object: map[string]any{"spec": u.Object["spec"]}}
	trimmed.SetAPIVersion(u.GetAPIVersion())
	trimmed.SetKind(u.GetKind())
	trimmed.SetName(u.GetName())
	trimmed.SetResourceVersion(u.GetResourceVersion())
	return trimmed, nil
}

// recorder is a rule's callbacks for one kind, counting them.
type recorder struct {
	mu        sync.Mutex
	starts    int // OnStart calls, failed ones included
	stops     int
	startErr  error
	informers []toolscache.SharedIndexInformer // accepted by OnStart
}

func (r *recorder) kind(gvr schema.GroupVersionResource) Target {
	return Target{GVR: gvr, Kind: kindOf(gvr), Transform: trim,
		OnStart: func(informer toolscache.SharedIndexInformer) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.starts++
			if r.startErr != nil {
				return r.startErr
			}
			r.informers = append(r.informers, informer)
			return nil
		},
		OnStop: func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.stops++
		},
	}
}

func (r *recorder) counts() (starts, stops int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts, r.stops
}

func (r *recorder) setStartErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startErr = err
}

// last is the informer OnStart accepted last, or nil.
func (r *recorder) last() toolscache.SharedIndexInformer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.informers) == 0 {
		return nil
	}
	return r.informers[len(r.informers)-1]
}

// logs collects what the watcher logs during a test.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// captureLog has the watcher log into the returned logs until the test
// ends; call it before starting a watcher, so it is restored after.
func captureLog(t *testing.T) *logs {
	l := &logs{}
	saved := log
	log = funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, args)
	}, funcr.Options{})
	t.Cleanup(func() { log = saved })
	return l
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReconcile: each step sets what discovery answers for widgets (gadgets
// are served throughout) and reconciles once; the widget informer then runs
// or not, and the callbacks have run so many times.
func TestReconcile(t *testing.T) {
	errRule := errors.New("the rule refuses")
	type step struct {
		widgets     answer
		startErr    error
		wantRunning bool
		wantStarts  int // cumulative OnStart calls
		wantStops   int // cumulative OnStop calls
		wantLog     string
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"served at start", []step{{widgets: listed, wantRunning: true, wantStarts: 1}}},
		{"never served", []step{{widgets: absent}, {widgets: absent}}},
		{"group version served without the kind", []step{{widgets: other}}},
		{"served, then already running", []step{
			{widgets: listed, wantRunning: true, wantStarts: 1},
			{widgets: listed, wantRunning: true, wantStarts: 1},
		}},
		{"the CRD goes", []step{
			{widgets: listed, wantRunning: true, wantStarts: 1},
			{widgets: absent, wantStarts: 1, wantStops: 1, wantLog: "no longer serves"},
		}},
		{"the kind goes from its group version", []step{
			{widgets: listed, wantRunning: true, wantStarts: 1},
			{widgets: other, wantStarts: 1, wantStops: 1},
		}},
		{"the CRD comes back", []step{
			{widgets: listed, wantRunning: true, wantStarts: 1},
			{widgets: absent, wantStarts: 1, wantStops: 1},
			{widgets: listed, wantRunning: true, wantStarts: 2, wantStops: 1},
		}},
		{"a discovery error keeps the running informer", []step{
			{widgets: listed, wantRunning: true, wantStarts: 1},
			{widgets: failing, wantRunning: true, wantStarts: 1, wantLog: "discovery is down"},
			{widgets: absent, wantStarts: 1, wantStops: 1},
		}},
		{"a discovery error starts nothing", []step{
			{widgets: failing, wantLog: "discovery is down"},
			{widgets: listed, wantRunning: true, wantStarts: 1},
		}},
		{"an OnStart error is logged and retried", []step{
			{widgets: listed, startErr: errRule, wantStarts: 1, wantLog: "the rule refuses"},
			{widgets: listed, startErr: errRule, wantStarts: 2, wantLog: "the rule refuses"},
			{widgets: listed, wantRunning: true, wantStarts: 3},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logged := captureLog(t)
			disc := newFakeDiscovery()
			disc.set(gadgets, listed)
			w := NewWatcher(disc, newFakeDynamic())
			var rw, rg recorder
			if err := w.Watch(rw.kind(widgets)); err != nil {
				t.Fatal(err)
			}
			if err := w.Watch(rg.kind(gadgets)); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for i, s := range tc.steps {
				disc.set(widgets, s.widgets)
				rw.setStartErr(s.startErr)
				before := len(logged.String())
				w.reconcile(ctx)
				running := w.kinds[0].running != nil
				starts, stops := rw.counts()
				if running != s.wantRunning || starts != s.wantStarts || stops != s.wantStops {
					t.Errorf("step %d: running %v, %d starts, %d stops; want %v, %d, %d",
						i, running, starts, stops, s.wantRunning, s.wantStarts, s.wantStops)
				}
				if informer := rw.last(); informer != nil && informer.IsStopped() == s.wantRunning {
					t.Errorf("step %d: the last informer stopped: %v", i, informer.IsStopped())
				}
				if got := logged.String()[before:]; !strings.Contains(got, s.wantLog) {
					t.Errorf("step %d: logged %q, want %q", i, got, s.wantLog)
				}
				// The other kind's informer is left alone.
				if starts, stops := rg.counts(); starts != 1 || stops != 0 {
					t.Errorf("step %d: gadgets started %d times, stopped %d", i, starts, stops)
				}
			}
			w.stopAll()
			for _, r := range []*recorder{&rw, &rg} {
				r.mu.Lock()
				if r.stops != len(r.informers) {
					t.Errorf("after stopping: %d stops for %d informers", r.stops, len(r.informers))
				}
				for _, informer := range r.informers {
					if !informer.IsStopped() {
						t.Error("an informer still runs after stopping")
					}
				}
				r.mu.Unlock()
			}
		})
	}
}

// startWatcher runs w until the test ends, waiting for its first discovery.
func startWatcher(t *testing.T, w *Watcher) {
	t.Helper()
	discovered := make(chan struct{})
	w.OnDiscovered(func() { close(discovered) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	select {
	case <-discovered:
	case <-time.After(10 * time.Second):
		t.Fatal("no first discovery")
	}
}

// TestServedAtStart: a kind served when the watcher starts runs its informer
// before OnDiscovered, and its store holds objects as the transform trimmed
// them. Stopping the watcher stops the informer and calls OnStop.
func TestServedAtStart(t *testing.T) {
	disc := newFakeDiscovery()
	disc.set(widgets, listed)
	w := NewWatcher(disc, newFakeDynamic())
	var r recorder
	if err := w.Watch(r.kind(widgets)); err != nil {
		t.Fatal(err)
	}
	startsAtDiscovery := -1
	w.OnDiscovered(func() { startsAtDiscovery, _ = r.counts() })
	if err := w.ReadyCheck(nil); err == nil {
		t.Error("ready before the first discovery")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	eventually(t, "the informer runs", func() bool { return r.last() != nil })
	informer := r.last()
	if !toolscache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("the informer did not sync")
	}
	eventually(t, "ready once discovered and synced", func() bool { return w.ReadyCheck(nil) == nil })
	items := informer.GetStore().List()
	if len(items) != 1 {
		t.Fatalf("store holds %d objects, want 1", len(items))
	}
	u := items[0].(*unstructured.Unstructured)
	if u.GetName() != "small" || u.GetAnnotations() != nil || u.Object["status"] != nil || u.Object["spec"] == nil {
		t.Errorf("the store holds %v, want it trimmed to identity and spec", u.Object)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if startsAtDiscovery != 1 {
		t.Errorf("OnDiscovered ran after %d starts, want 1", startsAtDiscovery)
	}
	if _, stops := r.counts(); stops != 1 || !informer.IsStopped() {
		t.Errorf("after shutdown: %d stops, informer stopped %v", stops, informer.IsStopped())
	}
}

func crd(name string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// TestCRDEvents: a CRD event of a watched group starts a kind that is now
// served, or stops one that is gone, at once (the safety net is an hour
// away); and looks again shortly after, for a CRD discovery serves late.
func TestCRDEvents(t *testing.T) {
	cases := []struct {
		name string
		// before is what discovery answers at start; after, once the
		// event comes; late, set only after the first look that follows
		// the event.
		before, after, late answer
		// afterChange is an hour where the first look must do.
		afterChange time.Duration
		event       any
		wantRunning bool
	}{
		{name: "installed", before: absent, after: listed, late: listed, afterChange: time.Hour,
			event: crd("widgets.example.com"), wantRunning: true},
		{name: "installed, served late", before: absent, after: absent, late: listed, afterChange: 50 * time.Millisecond,
			event: crd("widgets.example.com"), wantRunning: true},
		{name: "deleted", before: listed, after: absent, late: absent, afterChange: time.Hour,
			event: toolscache.DeletedFinalStateUnknown{Key: "widgets.example.com", Obj: crd("widgets.example.com")}},
		{name: "deleted, dropped late", before: listed, after: listed, late: absent, afterChange: 50 * time.Millisecond,
			event: crd("widgets.example.com")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			disc := newFakeDiscovery()
			disc.set(widgets, tc.before)
			w := NewWatcher(disc, newFakeDynamic())
			w.every = time.Hour
			w.afterChange = tc.afterChange
			var r recorder
			if err := w.Watch(r.kind(widgets)); err != nil {
				t.Fatal(err)
			}
			startWatcher(t, w)
			running := func() bool {
				starts, stops := r.counts()
				return starts > stops
			}
			if running() != (tc.before == listed) {
				t.Fatalf("at start: running %v", running())
			}
			disc.mu.Lock()
			disc.setLocked(widgets, tc.after)
			disc.afterCall = func() { disc.setLocked(widgets, tc.late) }
			disc.mu.Unlock()
			w.crdChanged(tc.event)
			eventually(t, fmt.Sprintf("running is %v", tc.wantRunning), func() bool { return running() == tc.wantRunning })
		})
	}
}

// TestCRDChanged: only a CRD of a watched group prompts a rediscovery.
func TestCRDChanged(t *testing.T) {
	w := NewWatcher(newFakeDiscovery(), newFakeDynamic())
	var r recorder
	if err := w.Watch(r.kind(widgets)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		obj  any
		want bool
	}{
		{crd("widgets.example.com"), true},
		{crd("sprockets.example.com"), true},
		{toolscache.DeletedFinalStateUnknown{Obj: crd("widgets.example.com")}, true},
		{crd("widgets.other.io"), false},
		{crd("widgets.example.com.evil.io"), false},
		{crd("widgets.sub.example.com"), false},
		{crd("example.com"), false},
		{"widgets.example.com", false},
	} {
		w.crdChanged(tc.obj)
		w.crdChanged(tc.obj) // a second event coalesces
		got := len(w.changed) == 1
		if got != tc.want {
			t.Errorf("%v prompted a rediscovery: %v, want %v", tc.obj, got, tc.want)
		}
		select {
		case <-w.changed:
		default:
		}
	}
}

// TestWatch: registrations the watcher refuses.
func TestWatch(t *testing.T) {
	w := NewWatcher(newFakeDiscovery(), newFakeDynamic())
	var r recorder
	if err := w.Watch(r.kind(widgets)); err != nil {
		t.Fatal(err)
	}
	noCallback := r.kind(gadgets)
	noCallback.OnStop = nil
	noKind := r.kind(gadgets)
	noKind.Kind = ""
	for name, k := range map[string]Target{"twice": r.kind(widgets), "without OnStop": noCallback, "without a kind": noKind} {
		if err := w.Watch(k); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	startWatcher(t, w)
	if err := w.Watch(r.kind(gadgets)); err == nil {
		t.Error("accepted after start")
	}
}
