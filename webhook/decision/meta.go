package decision

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Object is what deciding reads of an object: its namespace, labels and
// annotations. metav1.Object and Meta both are one.
type Object interface {
	GetNamespace() string
	GetLabels() map[string]string
	GetAnnotations() map[string]string
}

var (
	_ Object = &metav1.ObjectMeta{}
	_ Object = &Meta{}
)

// Meta is the part of an object's metadata that the rules read. Handlers
// decode it instead of metav1.ObjectMeta so that an admission never builds
// managedFields, owner references and the rest of a large object's
// metadata it does not look at.
type Meta struct {
	Name              string            `json:"name,omitempty"`
	GenerateName      string            `json:"generateName,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	DeletionTimestamp *metav1.Time      `json:"deletionTimestamp,omitempty"`
}

// GetNamespace implements Object.
func (m *Meta) GetNamespace() string { return m.Namespace }

// GetLabels implements Object.
func (m *Meta) GetLabels() map[string]string { return m.Labels }

// GetAnnotations implements Object.
func (m *Meta) GetAnnotations() map[string]string { return m.Annotations }

// ObjectMeta is m as the API types hold it.
func (m *Meta) ObjectMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, GenerateName: m.GenerateName, Namespace: m.Namespace,
		Labels: m.Labels, Annotations: m.Annotations, DeletionTimestamp: m.DeletionTimestamp}
}
