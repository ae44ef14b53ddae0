package served

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
)

// KeepSpec is the cache transform of a cluster-scoped kind a rule reads by
// name: it keeps the object's name and resourceVersion and only the listed
// fields of its spec, so the informer's store holds what the rule reads
// and nothing else (annotations, managedFields, status).
func KeepSpec(fields ...string) toolscache.TransformFunc {
	return func(obj any) (any, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return obj, nil
		}
		trimmed := &unstructured.Unstructured{Object: map[string]any{}}
		// The kind stays: readers of several kinds tell them apart by it.
		trimmed.SetAPIVersion(u.GetAPIVersion())
		trimmed.SetKind(u.GetKind())
		trimmed.SetNamespace(u.GetNamespace())
		trimmed.SetName(u.GetName())
		trimmed.SetResourceVersion(u.GetResourceVersion())
		if spec, ok := u.Object["spec"].(map[string]any); ok {
			kept := map[string]any{}
			for _, k := range fields {
				if v, ok := spec[k]; ok {
					kept[k] = v
				}
			}
			trimmed.Object["spec"] = kept
		}
		return trimmed, nil
	}
}
