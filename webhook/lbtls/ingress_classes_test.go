package lbtls

import (
	"context"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
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
