package dataplanewatch

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

// recordedEvent is one Event the watcher recorded.
type recordedEvent struct {
	regarding      runtime.Object
	eventType      string
	reason, action string
	note           string
}

// eventLog is an events.EventRecorder that keeps what it is given.
type eventLog struct {
	mu     sync.Mutex
	events []recordedEvent
}

func (l *eventLog) Eventf(regarding, _ runtime.Object, eventType, reason, action, note string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, recordedEvent{regarding: regarding, eventType: eventType, reason: reason, action: action,
		note: fmt.Sprintf(note, args...)})
}

// take returns the events recorded since the last take.
func (l *eventLog) take() []recordedEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events
	l.events = nil
	return e
}

var policyConfigMap = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "eksguard-system", Name: "eksguard-policy"}}

// scheme serves the built-in kinds and, as unstructured, Auto Mode's and
// Karpenter's (a cluster with their CRDs).
func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	for _, gvk := range []schema.GroupVersionKind{dataplane.NodeClassGVK, dataplane.NodePoolGVK} {
		s.AddKnownTypeWithName(gvk, &unstructured.Unstructured{})
		s.AddKnownTypeWithName(gvk.GroupVersion().WithKind(gvk.Kind+"List"), &unstructured.UnstructuredList{})
	}
	return s
}

func awsNode(mode string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: dataplane.Namespace, Name: dataplane.AWSNodeName},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: dataplane.AWSNodeContainer, Image: "cni", Env: []corev1.EnvVar{{Name: dataplane.EnvEnforcingMode, Value: mode}}},
			{Name: dataplane.AgentContainer, Image: "agent", Args: []string{"--enable-network-policy=true"}},
		}}}},
	}
}

func vpcCNIConfig(enabled string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: dataplane.Namespace, Name: dataplane.VPCCNIConfigMapName},
		Data: map[string]string{dataplane.KeyControllerEnabled: enabled}}
}

func nodeClass(name, policy string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"networkPolicy": policy}}}
	u.SetGroupVersionKind(dataplane.NodeClassGVK)
	u.SetName(name)
	return u
}

func nodePool(name, class string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"nodeClassRef": map[string]any{"group": "eks.amazonaws.com", "kind": "NodeClass", "name": class}}}}}}
	u.SetGroupVersionKind(dataplane.NodePoolGVK)
	u.SetName(name)
	return u
}

// errorsFor makes reads of the given kinds fail with err.
func errorsFor(err error, kinds ...string) interceptor.Funcs {
	fails := func(obj runtime.Object) bool {
		kind := ""
		switch o := obj.(type) {
		case *appsv1.DaemonSet:
			kind = "DaemonSet"
		case *corev1.ConfigMap:
			kind = "ConfigMap"
		case *unstructured.UnstructuredList:
			kind = strings.TrimSuffix(o.GetKind(), "List")
		}
		for _, k := range kinds {
			if k == kind {
				return true
			}
		}
		return false
	}
	return interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if fails(obj) {
				return err
			}
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if fails(list) {
				return err
			}
			return c.List(ctx, list, opts...)
		},
	}
}

func newWatcher(funcs interceptor.Funcs, objs ...client.Object) (*Watcher, *eventLog) {
	c := fake.NewClientBuilder().WithScheme(scheme()).WithObjects(objs...).WithInterceptorFuncs(funcs).Build()
	events := &eventLog{}
	return &Watcher{Reader: c, Store: config.NewStore(config.DefaultPolicy("eksguard-system")), Holder: &dataplane.Holder{},
		Recorder: events, EventTarget: policyConfigMap}, events
}

var (
	forbidden = apierrors.NewForbidden(schema.GroupResource{Resource: "x"}, "", errors.New("RBAC"))
	noMatch   = &meta.NoKindMatchError{GroupKind: dataplane.NodeClassGVK.GroupKind(), SearchedVersions: []string{"v1"}}
	notServed = apierrors.NewNotFound(schema.GroupResource{Resource: "nodepools"}, "")
)

// TestRead: what each answer of the API server makes of a source.
func TestRead(t *testing.T) {
	for _, c := range []struct {
		name    string
		objs    []client.Object
		funcs   interceptor.Funcs
		wantErr bool
		check   func(t *testing.T, f *dataplane.Facts)
	}{
		{name: "nothing installed: every source read, absent", check: func(t *testing.T, f *dataplane.Facts) {
			if f.AWSNode != nil || f.ControllerEnabled != nil || len(f.NodeClasses)+len(f.NodePools)+len(f.Unread) != 0 {
				t.Errorf("%+v", f)
			}
		}},
		{name: "aws-node, amazon-vpc-cni, a NodeClass and its NodePool",
			objs: []client.Object{awsNode("strict"), vpcCNIConfig("true"), nodeClass("default", "DefaultAllow"), nodePool("general-purpose", "default")},
			check: func(t *testing.T, f *dataplane.Facts) {
				if !f.StrictMode() || f.ControllerEnabled == nil || !*f.ControllerEnabled {
					t.Errorf("aws-node or the ConfigMap not read: %+v", f)
				}
				if deny, known := f.NodePoolDefaultDeny("general-purpose"); deny || !known {
					t.Errorf("NodePool general-purpose: (%v, %v), want DefaultAllow known", deny, known)
				}
			}},
		{name: "Forbidden on the DaemonSet: unknown, not absent, not an error", objs: []client.Object{awsNode("strict")},
			funcs: errorsFor(forbidden, "DaemonSet"),
			check: func(t *testing.T, f *dataplane.Facts) {
				if f.AWSNode != nil || !reflect.DeepEqual(f.Unread, []dataplane.Source{dataplane.SourceAWSNode}) {
					t.Errorf("%+v", f)
				}
			}},
		{name: "NodeClass kind not served (NoMatch): absent", funcs: errorsFor(noMatch, "NodeClass"),
			check: func(t *testing.T, f *dataplane.Facts) {
				if len(f.Unread) != 0 || !f.Read(dataplane.SourceNodeClasses) {
					t.Errorf("%+v", f)
				}
			}},
		{name: "NodePool resource NotFound (discovery stale): absent", funcs: errorsFor(notServed, "NodePool"),
			check: func(t *testing.T, f *dataplane.Facts) {
				if len(f.Unread) != 0 {
					t.Errorf("%+v", f)
				}
			}},
		{name: "Forbidden on the kinds", funcs: errorsFor(forbidden, "NodeClass", "NodePool"),
			check: func(t *testing.T, f *dataplane.Facts) {
				if !reflect.DeepEqual(f.Unread, []dataplane.Source{dataplane.SourceNodeClasses, dataplane.SourceNodePools}) {
					t.Errorf("%+v", f)
				}
			}},
		{name: "any other error fails the pass", funcs: errorsFor(apierrors.NewServiceUnavailable("down"), "ConfigMap"), wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, _ := newWatcher(c.funcs, c.objs...)
			f, err := w.read(context.Background())
			if (err != nil) != c.wantErr {
				t.Fatalf("read: %v", err)
			}
			if c.check != nil {
				c.check(t, f)
			}
		})
	}
}

// TestForbiddenLoggedOnce: a Forbidden source is remembered, and forgotten
// once readable, so the log says it once per change.
func TestForbiddenLoggedOnce(t *testing.T) {
	allow := false
	funcs := interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, ds := obj.(*appsv1.DaemonSet); ds && !allow {
			return forbidden
		}
		return c.Get(ctx, key, obj, opts...)
	}}
	w, _ := newWatcher(funcs)
	for range 2 {
		if _, err := w.read(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !w.forbidden[dataplane.SourceAWSNode] {
			t.Fatal("Forbidden not remembered")
		}
	}
	allow = true
	if _, err := w.read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.forbidden[dataplane.SourceAWSNode] {
		t.Error("Forbidden still remembered once readable")
	}
}

func declaring(t *testing.T, engine config.DefaultDenyEngine) *config.Policy {
	return ruletest.CompilePolicy(t, func(c *config.Config) {
		c.Rules.NetworkPolicy.ClusterDefaultDeny = config.ClusterDefaultDeny{Ingress: true, Egress: true, Engine: engine}
	})
}

// TestCheck: a declaration contradicted by a DefaultAllow NodeClass
// (auto-net-pol.html) raises the gauge and records one Warning Event on the
// policy ConfigMap; the same findings again record nothing; a declaration
// that no longer claims it clears the gauge with a Normal Event.
func TestCheck(t *testing.T) {
	w, events := newWatcher(interceptor.Funcs{}, vpcCNIConfig("true"), nodeClass("default", "DefaultAllow"), nodePool("a", "default"))
	ctx := context.Background()
	facts, err := w.read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	autoMode := declaring(t, config.EngineAutoMode)
	autoMode.Source = "eksguard-system/eksguard-policy@1"
	w.check(ctx, facts, autoMode)
	if n := testutil.ToFloat64(contradictions); n != 1 {
		t.Errorf("%s = %v, want 1", MetricContradictions, n)
	}
	got := events.take()
	if len(got) != 1 {
		t.Fatalf("events: %+v", got)
	}
	e := got[0]
	if e.regarding != policyConfigMap || e.eventType != corev1.EventTypeWarning || e.reason != ReasonContradiction || e.action != eventAction ||
		!strings.Contains(e.note, "NodeClass default has spec.networkPolicy DefaultAllow: pods on NodePool a are not default-denied") ||
		!strings.Contains(e.note, "policy eksguard-system/eksguard-policy@1") {
		t.Errorf("event: %+v", e)
	}

	w.check(ctx, facts, autoMode)
	if got := events.take(); len(got) != 0 {
		t.Errorf("the same findings again recorded %+v", got)
	}

	w.check(ctx, facts, declaring(t, config.EngineCalico))
	if n := testutil.ToFloat64(contradictions); n != 0 {
		t.Errorf("%s = %v after the declaration moved to calico, want 0", MetricContradictions, n)
	}
	if got := events.take(); len(got) != 1 || got[0].reason != ReasonConsistent || got[0].eventType != corev1.EventTypeNormal {
		t.Errorf("events: %+v", got)
	}
}

// TestInformationalFinding: a strict aws-node nothing declares is a Normal
// Event, and no contradiction.
func TestInformationalFinding(t *testing.T) {
	w, events := newWatcher(interceptor.Funcs{}, awsNode("strict"), vpcCNIConfig("true"))
	facts, err := w.read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w.check(context.Background(), facts, w.Store.Current())
	if n := testutil.ToFloat64(contradictions); n != 0 {
		t.Errorf("%s = %v, want 0", MetricContradictions, n)
	}
	if got := events.take(); len(got) != 1 || got[0].reason != ReasonFinding || got[0].eventType != corev1.EventTypeNormal {
		t.Errorf("events: %+v", got)
	}
}

// TestStart: the runnable publishes Facts at once and checks a new policy
// within a poll, without reading the objects again.
func TestStart(t *testing.T) {
	reads := 0
	var mu sync.Mutex
	funcs := interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, ds := obj.(*appsv1.DaemonSet); ds {
			mu.Lock()
			reads++
			mu.Unlock()
		}
		return c.Get(ctx, key, obj, opts...)
	}}
	w, events := newWatcher(funcs, awsNode("standard"), vpcCNIConfig("true"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Start(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("Facts published", func() bool { return w.Holder.Load() != nil })
	if w.Holder.Load().StrictMode() {
		t.Error("standard mode published as strict")
	}
	w.Store.Set(declaring(t, config.EngineVPCCNI))
	waitFor("the new declaration checked", func() bool { return testutil.ToFloat64(contradictions) == 1 })
	got := events.take()
	if len(got) != 1 || got[0].reason != ReasonContradiction || !strings.Contains(got[0].note, `"standard", not "strict"`) {
		t.Errorf("events: %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	// Once at start, once for the new policy; no more within the resync.
	if reads != 2 {
		t.Errorf("aws-node read %d times within the resync, want 2", reads)
	}
}
