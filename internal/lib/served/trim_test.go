package served

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestKeepSpec: the kind, namespace, name, resourceVersion and the listed spec fields stay;
// everything else goes; other types pass through.
func TestKeepSpec(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "projectcalico.org/v3", "kind": "Tier",
		"metadata": map[string]any{"name": "platform", "namespace": "calico", "resourceVersion": "7", "annotations": map[string]any{"a": "b"}},
		"spec":     map[string]any{"defaultAction": "Pass", "order": int64(100)},
		"status":   map[string]any{"x": "y"},
	}}
	got, err := KeepSpec("defaultAction", "absent")(u)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"apiVersion": "projectcalico.org/v3", "kind": "Tier",
		"metadata": map[string]any{"name": "platform", "namespace": "calico", "resourceVersion": "7"},
		"spec":     map[string]any{"defaultAction": "Pass"},
	}
	if !reflect.DeepEqual(got.(*unstructured.Unstructured).Object, want) {
		t.Errorf("trimmed %v, want %v", got.(*unstructured.Unstructured).Object, want)
	}
	if other, _ := KeepSpec()("tombstone"); other != "tombstone" {
		t.Errorf("a non-object changed: %v", other)
	}
}
