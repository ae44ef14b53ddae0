package lbtls

import (
	"context"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	c := NewClusterClasses(reader, nil, nil)
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
	c := NewClusterClasses(nil, nil, nil)
	params := func(rv, policy string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"sslPolicy": policy}}}
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
	if _, err := c.paramsOf(&unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"sslPolicy": 3}}}); err == nil {
		t.Error("a malformed IngressClassParams converted")
	}
}
