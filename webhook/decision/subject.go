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

// PolicySource yields the Policy in force (config.Store in the server, a
// fixed Policy in tests and the CLI).
type PolicySource interface {
	Current() *config.Policy
}

// Decider decides, per request, what the policy in force says for one
// object (mode, exclusion, exemption): it holds the source of the policy
// in force, the readers of namespace labels for namespace selectors, and
// the clock for expiries.
type Decider struct {
	Source PolicySource
	// Namespaces reads namespace labels (from the cache); nil means no
	// namespace has labels, as in the offline CLI.
	Namespaces client.Reader
	// LiveNamespaces, when set, reads a namespace the cache does not know
	// yet: one created a moment before its first objects.
	LiveNamespaces client.Reader
	Now            func() time.Time
}

// DecideWithPolicy returns, for each requested finding mode, the decision
// for obj under pol. Handlers read pol once per request (their finding modes
// come from it too), so a reload never mixes two policies in one answer. It
// reads namespace labels only when the policy uses namespace selectors.
func (p Decider) DecideWithPolicy(ctx context.Context, pol *config.Policy, obj Object, rule config.RuleName, modes ...config.Mode) ([]config.Decision, error) {
	subject := config.Subject{
		Namespace:   obj.GetNamespace(),
		Labels:      obj.GetLabels(),
		Annotations: obj.GetAnnotations(),
	}
	if pol.NeedsNamespaceLabels() {
		set, err := p.NamespaceLabels(ctx, subject.Namespace)
		if err != nil {
			return nil, err
		}
		subject.NamespaceLabels = set
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	decisions := make([]config.Decision, len(modes))
	for i, m := range modes {
		decisions[i] = pol.Decide(rule, m, subject, now())
	}
	return decisions, nil
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

// Decide is DecideWithPolicy for a rule with one finding mode.
func (p Decider) Decide(ctx context.Context, pol *config.Policy, obj Object, rule config.RuleName, mode config.Mode) (config.Decision, error) {
	d, err := p.DecideWithPolicy(ctx, pol, obj, rule, mode)
	if err != nil {
		return config.Decision{}, err
	}
	return d[0], nil
}
