package lbtls

import (
	"context"
	"errors"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// countingClasses is a cache of IngressClasses that counts its lists.
type countingClasses struct {
	client.Reader
	classes []networkingv1.IngressClass
	lists   int
}

func (c *countingClasses) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	c.lists++
	list.(*networkingv1.IngressClassList).Items = c.classes
	return nil
}

// TestClusterClassesSnapshot: IngressClasses are listed once, then again
// only after an IngressClass event, and the answer follows the change.
func TestClusterClassesSnapshot(t *testing.T) {
	reader := &countingClasses{classes: []networkingv1.IngressClass{ingressClass("alb", IngressClassControllerALB, "")}}
	c := NewClusterClasses(reader)
	ctx := context.Background()
	for range 3 {
		if got, _ := c.IngressClasses(ctx); len(got.ByName) != 1 {
			t.Fatalf("classes %v", got.ByName)
		}
	}
	if reader.lists != 1 {
		t.Errorf("%d lists without an event, want 1", reader.lists)
	}
	reader.classes = append(reader.classes, ingressClass("edge", IngressClassControllerALB, ""))
	c.ClassesChanged().OnAdd(&reader.classes[1], false)
	if got, _ := c.IngressClasses(ctx); len(got.ByName) != 2 || reader.lists != 2 {
		t.Errorf("after an event: %d classes, %d lists", len(got.ByName), reader.lists)
	}
}

// TestClusterClassesParamsOnce: an IngressClassParams is converted once per
// resourceVersion, and a new version is read anew.
func TestClusterClassesParamsOnce(t *testing.T) {
	c := NewClusterClasses(nil)
	params := func(rv, policy string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams", "spec": map[string]any{"sslPolicy": policy}}}
		u.SetName("shop")
		u.SetResourceVersion(rv)
		return u
	}
	first, err := c.paramsOf(params("1", "ELBSecurityPolicy-TLS13-1-2-2021-06"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := c.paramsOf(params("1", "ELBSecurityPolicy-TLS13-1-2-2021-06"))
	if again != first || first.SSLPolicy != "ELBSecurityPolicy-TLS13-1-2-2021-06" {
		t.Errorf("the same version converted twice: %p %p %+v", first, again, first)
	}
	changed, _ := c.paramsOf(params("2", "ELBSecurityPolicy-2016-08"))
	if changed == first || changed.SSLPolicy != "ELBSecurityPolicy-2016-08" {
		t.Errorf("a new version kept the old params: %+v", changed)
	}
	if _, err := c.paramsOf(&unstructured.Unstructured{Object: map[string]any{"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams", "spec": map[string]any{"sslPolicy": 3}}}); err == nil {
		t.Error("a malformed IngressClassParams converted")
	}
}

// TestClusterClassesParamsWhileServed: ClassParams reads the store of the
// informer the served watcher runs for paramsKind, and answers
// ErrNoClassParams before it starts and once it stops.
func TestClusterClassesParamsWhileServed(t *testing.T) {
	c := NewClusterClasses(nil)
	ctx := context.Background()
	if _, err := c.ClassParams(ctx, IngressClassParamsGVK, "shop"); !errors.Is(err, ErrNoClassParams) {
		t.Fatalf("before the kind is served: %v, want ErrNoClassParams", err)
	}
	kind := c.paramsKind(IngressClassParamsGVK)
	gvr := schema.GroupVersionResource{Group: "elbv2.k8s.aws", Version: "v1beta1", Resource: "ingressclassparams"}
	if kind.GVR != gvr || kind.Kind != "IngressClassParams" {
		t.Fatalf("watching %v %s", kind.GVR, kind.Kind)
	}
	params := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams", "spec": map[string]any{"sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}}}
	params.SetGroupVersionKind(IngressClassParamsGVK)
	params.SetName("shop")
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{gvr: "IngressClassParamsList"})
	// Created under gvr: the fake would guess the resource ingressclassparamses.
	if _, err := dyn.Resource(gvr).Create(ctx, params, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// What the watcher does with a served kind.
	informer := dynamicinformer.NewFilteredDynamicInformer(dyn, kind.GVR, metav1.NamespaceAll, 0, toolscache.Indexers{}, nil).Informer()
	if err := informer.SetTransform(kind.Transform); err != nil {
		t.Fatal(err)
	}
	if err := kind.OnStart(informer); err != nil {
		t.Fatal(err)
	}
	informerCtx, stop := context.WithCancel(ctx)
	defer stop()
	go informer.RunWithContext(informerCtx)
	if !toolscache.WaitForCacheSync(informerCtx.Done(), informer.HasSynced) {
		t.Fatal("the informer did not sync")
	}
	if got, err := c.ClassParams(ctx, IngressClassParamsGVK, "shop"); err != nil || got.SSLPolicy != "ELBSecurityPolicy-TLS13-1-2-2021-06" {
		t.Errorf("while served: %+v, %v", got, err)
	}
	if _, err := c.ClassParams(ctx, IngressClassParamsGVK, "gone"); !errors.Is(err, ErrNoClassParams) {
		t.Errorf("a missing IngressClassParams: %v, want ErrNoClassParams", err)
	}
	stop()
	kind.OnStop()
	if _, err := c.ClassParams(ctx, IngressClassParamsGVK, "shop"); !errors.Is(err, ErrNoClassParams) {
		t.Errorf("once no longer served: %v, want ErrNoClassParams", err)
	}
}
