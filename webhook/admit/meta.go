package admit

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eksguard/eksguard/webhook/decision"
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

var (
	_ decision.Object = &Meta{}
	_ named           = &Meta{}
	_ named           = &metav1.ObjectMeta{}
)

// GetNamespace implements decision.Object.
func (m *Meta) GetNamespace() string { return m.Namespace }

// SetNamespace sets the namespace.
func (m *Meta) SetNamespace(namespace string) { m.Namespace = namespace }

// GetName is the name.
func (m *Meta) GetName() string { return m.Name }

// GetGenerateName is the prefix of a name the API server has yet to generate.
func (m *Meta) GetGenerateName() string { return m.GenerateName }

// GetLabels implements decision.Object.
func (m *Meta) GetLabels() map[string]string { return m.Labels }

// GetAnnotations implements decision.Object.
func (m *Meta) GetAnnotations() map[string]string { return m.Annotations }

// ObjectMeta is m as the API types hold it.
func (m *Meta) ObjectMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, GenerateName: m.GenerateName, Namespace: m.Namespace,
		Labels: m.Labels, Annotations: m.Annotations, DeletionTimestamp: m.DeletionTimestamp}
}

// named is what the handler shape reads and fills of a decoded object.
type named interface {
	GetNamespace() string
	SetNamespace(string)
	GetName() string
	GetGenerateName() string
}

// NameOf is an object's name, or the prefix the API server will generate
// it from when it has none yet.
func NameOf(obj interface {
	GetName() string
	GetGenerateName() string
}) string {
	if name := obj.GetName(); name != "" {
		return name
	}
	return obj.GetGenerateName()
}
