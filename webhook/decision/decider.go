package decision

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/config"
)

// CurrentPolicy yields the Policy in force (config.Store in the server, a
// fixed Policy in tests and the CLI).
type CurrentPolicy interface {
	Current() *config.Policy
}

// Object is what deciding reads of an object: its namespace, labels and
// annotations. metav1.Object and admit.Meta both are one.
type Object interface {
	GetNamespace() string
	GetLabels() map[string]string
	GetAnnotations() map[string]string
}

// Decider decides what the policy in force says for one object (mode,
// exclusion, exemption): it holds the policy in force, the
// readers of namespace labels for namespace selectors, and the clock for
// expiries.
type Decider struct {
	Policy CurrentPolicy
	// Namespaces reads namespace labels (from the cache); nil means no
	// namespace has labels, as in the offline CLI.
	Namespaces client.Reader
	// LiveNamespaces, when set, reads a namespace the cache does not know
	// yet: one created a moment before its first objects.
	LiveNamespaces client.Reader
	Now            func() time.Time
}

// Snapshot starts deciding for one admission: the policy in force is read
// once, so a reload never mixes two policies in one answer.
func (p Decider) Snapshot() *Snapshot {
	return &Snapshot{Policy: p.Policy.Current(), decider: p}
}

// Snapshot decides for one admission under one policy, reading each
// namespace's labels at most once. It is not safe for concurrent use.
type Snapshot struct {
	Policy  *config.Policy
	decider Decider
	// labels are the namespace labels read so far.
	labels map[string]labels.Set
}

// Decisions are what the policy decides for one object and rule, per finding mode.
type Decisions struct {
	policy  *config.Policy
	rule    config.RuleName
	subject config.Subject
	now     time.Time
}

// For is the decision for a finding of the given configured mode.
func (d Decisions) For(mode config.Mode) config.Decision {
	return d.policy.Decide(d.rule, mode, d.subject, d.now)
}

// Decide reads what deciding needs of obj for rule: its namespace's labels
// only when the policy uses namespace selectors.
func (s *Snapshot) Decide(ctx context.Context, obj Object, rule config.RuleName) (Decisions, error) {
	subject := config.Subject{
		Namespace:   obj.GetNamespace(),
		Labels:      obj.GetLabels(),
		Annotations: obj.GetAnnotations(),
	}
	if s.Policy.NeedsNamespaceLabels() {
		set, err := s.NamespaceLabels(ctx, subject.Namespace)
		if err != nil {
			return Decisions{}, err
		}
		subject.NamespaceLabels = set
	}
	now := time.Now
	if s.decider.Now != nil {
		now = s.decider.Now
	}
	return Decisions{policy: s.Policy, rule: rule, subject: subject, now: now()}, nil
}

// NamespaceLabels reads the labels of a namespace once per snapshot (see
// Decider.NamespaceLabels).
func (s *Snapshot) NamespaceLabels(ctx context.Context, namespace string) (labels.Set, error) {
	if set, ok := s.labels[namespace]; ok {
		return set, nil
	}
	set, err := s.decider.NamespaceLabels(ctx, namespace)
	if err != nil {
		return nil, err
	}
	if s.labels == nil {
		s.labels = map[string]labels.Set{}
	}
	s.labels[namespace] = set
	return set, nil
}

// NamespaceLabels reads the labels of a namespace: from the cache, or live
// when the cache does not know it yet. Without a reader (or namespace) a
// namespace has no labels, as in the offline CLI.
func (p Decider) NamespaceLabels(ctx context.Context, namespace string) (labels.Set, error) {
	if p.Namespaces == nil || namespace == "" {
		return nil, nil
	}
	var ns metav1.PartialObjectMetadata
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	err := p.Namespaces.Get(ctx, types.NamespacedName{Name: namespace}, &ns)
	if apierrors.IsNotFound(err) && p.LiveNamespaces != nil {
		err = p.LiveNamespaces.Get(ctx, types.NamespacedName{Name: namespace}, &ns)
	}
	if err != nil {
		return nil, fmt.Errorf("reading labels of namespace %q: %w", namespace, err)
	}
	return labels.Set(ns.GetLabels()), nil
}
