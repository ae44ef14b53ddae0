package decision

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
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

// Policies is the decision context every handler shares: the policy in force,
// namespace labels for namespace selectors, and the clock for expiries.
type Policies struct {
	Source PolicySource
	// Namespaces reads namespace labels (from the cache); nil means no
	// namespace has labels, as in the offline CLI.
	Namespaces client.Reader
	Now        func() time.Time
}

// Decide returns the policy in force and, for each requested finding mode,
// the decision for obj. It reads namespace labels only when the policy uses
// namespace selectors.
func (p Policies) Decide(ctx context.Context, obj metav1.Object, rule config.RuleName, modes ...config.Mode) (*config.Policy, []config.Decision, error) {
	pol := p.Source.Current()
	decisions, err := p.DecideWithPolicy(ctx, pol, obj, rule, modes...)
	if err != nil {
		return nil, nil, err
	}
	return pol, decisions, nil
}

// DecideWithPolicy is Decide under a policy the caller already read, so a
// handler that takes its finding modes from the policy reads it once per
// request and never mixes two policies across a reload.
func (p Policies) DecideWithPolicy(ctx context.Context, pol *config.Policy, obj metav1.Object, rule config.RuleName, modes ...config.Mode) ([]config.Decision, error) {
	subject := config.Subject{
		Namespace:   obj.GetNamespace(),
		Labels:      obj.GetLabels(),
		Annotations: obj.GetAnnotations(),
	}
	if pol.NeedsNamespaceLabels() && p.Namespaces != nil && subject.Namespace != "" {
		var ns metav1.PartialObjectMetadata
		ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
		if err := p.Namespaces.Get(ctx, types.NamespacedName{Name: subject.Namespace}, &ns); err != nil {
			return nil, fmt.Errorf("reading labels of namespace %q: %w", subject.Namespace, err)
		}
		subject.NamespaceLabels = labels.Set(ns.GetLabels())
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
