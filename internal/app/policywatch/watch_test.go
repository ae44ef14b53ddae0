package policywatch

import (
	"github.com/eksguard/eksguard/config"

	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// recordedEvent is one Event the watcher recorded.
type recordedEvent struct {
	regarding      corev1.ObjectReference
	eventType      string
	reason, action string
	note           string
}

// eventLog is an events.EventRecorder that keeps what it is given.
type eventLog struct{ events []recordedEvent }

func (l *eventLog) Eventf(regarding, _ runtime.Object, eventType, reason, action, note string, args ...any) {
	l.events = append(l.events, recordedEvent{
		regarding: *regarding.(*corev1.ObjectReference),
		eventType: eventType, reason: reason, action: action,
		note: fmt.Sprintf(note, args...),
	})
}

// take returns the events recorded since the last take.
func (l *eventLog) take() []recordedEvent {
	e := l.events
	l.events = nil
	return e
}

var policyKey = types.NamespacedName{Namespace: "eksguard-system", Name: "eksguard-policy"}

type watcherFixture struct {
	t       *testing.T
	client  client.Client
	events  *eventLog
	store   *config.Store
	watcher *Watcher
}

func newWatcherFixture(t *testing.T, funcs interceptor.Funcs) *watcherFixture {
	c := fake.NewClientBuilder().WithInterceptorFuncs(funcs).Build()
	events := &eventLog{}
	store := config.NewStore(config.DefaultPolicy(policyKey.Namespace))
	return &watcherFixture{t: t, client: c, events: events, store: store, watcher: &Watcher{
		Reader: c, Recorder: events, Store: store,
		ConfigMap: policyKey, OwnNamespace: policyKey.Namespace,
		Now: func() time.Time { return fixedNow },
	}}
}

func (f *watcherFixture) reconcile() {
	f.t.Helper()
	if _, err := f.watcher.Reconcile(context.Background(), reconcile.Request{NamespacedName: policyKey}); err != nil {
		f.t.Fatalf("Reconcile: %v", err)
	}
}

// write creates or updates the ConfigMap with data and returns it.
func (f *watcherFixture) write(data map[string]string) *corev1.ConfigMap {
	f.t.Helper()
	ctx := context.Background()
	cm := &corev1.ConfigMap{}
	err := f.client.Get(ctx, policyKey, cm)
	cm.Data = data
	if err != nil {
		cm.ObjectMeta = metav1.ObjectMeta{Namespace: policyKey.Namespace, Name: policyKey.Name, UID: "uid-1"}
		err = f.client.Create(ctx, cm)
	} else {
		err = f.client.Update(ctx, cm)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return cm
}

func (f *watcherFixture) expectEvents(want ...recordedEvent) {
	f.t.Helper()
	got := f.events.take()
	if len(got) != len(want) {
		f.t.Fatalf("events: got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			f.t.Fatalf("event %d\n got: %+v\nwant: %+v", i, got[i], want[i])
		}
	}
}

func refTo(cm *corev1.ConfigMap) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: cm.Namespace, Name: cm.Name,
		UID: cm.UID, ResourceVersion: cm.ResourceVersion}
}

// reloads reads eksguard_config_reloads_total by result.
func reloads() map[string]float64 {
	return map[string]float64{
		ReloadLoaded:  testutil.ToFloat64(configReloads.WithLabelValues(ReloadLoaded)),
		ReloadInvalid: testutil.ToFloat64(configReloads.WithLabelValues(ReloadInvalid)),
		ReloadDeleted: testutil.ToFloat64(configReloads.WithLabelValues(ReloadDeleted)),
	}
}

func (f *watcherFixture) expectReloads(before map[string]float64, loaded, invalid, deleted float64) {
	f.t.Helper()
	after := reloads()
	want := map[string]float64{ReloadLoaded: loaded, ReloadInvalid: invalid, ReloadDeleted: deleted}
	for result, n := range want {
		if got := after[result] - before[result]; got != n {
			f.t.Errorf("eksguard_config_reloads_total{result=%q} went up by %v, want %v", result, got, n)
		}
	}
}

// expectInForce checks the Store and the info metric.
func (f *watcherFixture) expectInForce(source string) *config.Policy {
	f.t.Helper()
	p := f.store.Current()
	if p.Source != source {
		f.t.Fatalf("policy in force from %q, want %q", p.Source, source)
	}
	if n := testutil.CollectAndCount(configInfo); n != 1 {
		f.t.Fatalf("eksguard_config_info has %d series, want 1", n)
	}
	if v := testutil.ToFloat64(configInfo.WithLabelValues(p.Hash, p.Source)); v != 1 {
		f.t.Fatalf("eksguard_config_info{hash=%q,source=%q} = %v, want 1", p.Hash, p.Source, v)
	}
	return p
}

func TestWatcher(t *testing.T) {
	f := newWatcherFixture(t, interceptor.Funcs{})
	if err := f.watcher.Ready(nil); err == nil {
		t.Fatal("ready before the ConfigMap was read")
	}

	// No ConfigMap: the defaults stay, silently.
	before := reloads()
	f.reconcile()
	if err := f.watcher.Ready(nil); err != nil {
		t.Fatalf("not ready after reading: %v", err)
	}
	f.expectEvents()
	f.expectReloads(before, 0, 0, 0)

	// A valid document applies.
	generation := testutil.ToFloat64(configGeneration)
	cm := f.write(map[string]string{config.ConfigMapKey: header + "dryRun: true\n"})
	f.reconcile()
	source := "eksguard-system/eksguard-policy@" + cm.ResourceVersion
	p := f.expectInForce(source)
	if !p.Config.DryRun {
		t.Fatal("the loaded policy is not in dry-run")
	}
	f.expectEvents(recordedEvent{regarding: refTo(cm), eventType: corev1.EventTypeNormal, reason: ReasonPolicyLoaded,
		action: eventAction, note: "policy in force: " + p.Summary(fixedNow)})
	f.expectReloads(before, 1, 0, 0)
	if got := testutil.ToFloat64(configGeneration) - generation; got != 1 {
		t.Errorf("eksguard_config_generation went up by %v, want 1", got)
	}
	if got := testutil.ToFloat64(configLastSuccessfulLoad); got != float64(fixedNow.Unix()) {
		t.Errorf("eksguard_config_last_successful_load_timestamp_seconds = %v, want %v", got, fixedNow.Unix())
	}

	// The same resourceVersion again (a resync) changes nothing.
	f.reconcile()
	if f.store.Current() != p {
		t.Fatal("an unchanged resourceVersion was applied again")
	}
	f.expectEvents()
	f.expectReloads(before, 1, 0, 0)

	// An invalid document is rejected; the last good policy stays.
	cm = f.write(map[string]string{config.ConfigMapKey: header + "dryRun: yes please\n"})
	f.reconcile()
	if f.store.Current() != p {
		t.Fatal("an invalid document replaced the policy in force")
	}
	f.expectInForce(source)
	f.expectEvents(recordedEvent{regarding: refTo(cm), eventType: corev1.EventTypeWarning, reason: ReasonInvalidPolicy,
		action: eventAction, note: `policy rejected, still enforcing ` + source + `: line 3: dryRun: expected a boolean, got "yes please"`})
	f.expectReloads(before, 1, 1, 0)
	f.reconcile()
	f.expectEvents()
	f.expectReloads(before, 1, 1, 0)

	// A ConfigMap without the key is invalid too.
	cm = f.write(map[string]string{"config.yml": header})
	f.reconcile()
	f.expectInForce(source)
	f.expectEvents(recordedEvent{regarding: refTo(cm), eventType: corev1.EventTypeWarning, reason: ReasonInvalidPolicy,
		action: eventAction, note: `policy rejected, still enforcing ` + source + `: ConfigMap has no key "config.yaml" under data`})
	f.expectReloads(before, 1, 2, 0)

	// A valid one again.
	cm = f.write(map[string]string{config.ConfigMapKey: header})
	f.reconcile()
	source = "eksguard-system/eksguard-policy@" + cm.ResourceVersion
	p = f.expectInForce(source)
	f.expectEvents(recordedEvent{regarding: refTo(cm), eventType: corev1.EventTypeNormal, reason: ReasonPolicyLoaded,
		action: eventAction, note: "policy in force: " + p.Summary(fixedNow)})
	f.expectReloads(before, 2, 2, 0)

	// Deleting the ConfigMap returns to the defaults, once.
	if err := f.client.Delete(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	f.reconcile()
	f.expectInForce("defaults")
	f.expectEvents(recordedEvent{regarding: refTo(cm), eventType: corev1.EventTypeNormal, reason: ReasonPolicyDeleted,
		action: eventAction, note: "policy ConfigMap deleted, built-in defaults in force"})
	f.expectReloads(before, 2, 2, 1)
	f.reconcile()
	f.expectEvents()
	f.expectReloads(before, 2, 2, 1)
}

func TestWatcherLongErrorsFitAnEvent(t *testing.T) {
	f := newWatcherFixture(t, interceptor.Funcs{})
	doc := header + "exemptions: [" + repeatList("{name: "+strings.Repeat("x", 200)+"}", 10) + "]\n"
	f.write(map[string]string{config.ConfigMapKey: doc})
	f.reconcile()
	events := f.events.take()
	if len(events) != 1 || events[0].reason != ReasonInvalidPolicy {
		t.Fatalf("events = %+v, want one InvalidPolicy", events)
	}
	if note := events[0].note; len(note) != maxEventNote || !strings.HasSuffix(note, "...") {
		t.Fatalf("note of %d bytes, want %d ending in ...: %s", len(note), maxEventNote, note)
	}
}

func TestWatcherReadError(t *testing.T) {
	f := newWatcherFixture(t, interceptor.Funcs{
		Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return errors.New("connection refused")
		},
	})
	_, err := f.watcher.Reconcile(context.Background(), reconcile.Request{NamespacedName: policyKey})
	if err == nil || err.Error() != "reading policy ConfigMap eksguard-system/eksguard-policy: connection refused" {
		t.Fatalf("Reconcile error = %v", err)
	}
	if f.watcher.Ready(nil) == nil {
		t.Fatal("ready although the ConfigMap could not be read")
	}
	if got := f.store.Current().Source; got != "defaults" {
		t.Fatalf("policy in force from %q, want the defaults", got)
	}
	f.expectEvents()
}

// fixedNow is the tests' clock.
var fixedNow = time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)

// header starts every policy document.
const header = "apiVersion: eksguard.io/v1alpha1\nkind: PolicyConfig\n"

func repeatList(item string, n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = item
	}
	return strings.Join(items, ", ")
}
