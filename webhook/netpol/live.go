package netpol

// The live reads of the coverage rule: the API server is asked before a
// denial, because the informer cache can be a moment behind (a policy
// created in the same kubectl apply as its pods).
//
// They are consistent lists (no resourceVersion), on purpose: API servers
// serve those from their watch cache once it has caught up with etcd
// (KEP-2340 ConsistentListFromCache, on by default since 1.31), so they do
// not reach etcd; a resourceVersion "0" list could be served from a cache
// older than eksguard's own informer and deny what a fresh read admits.
// Concurrent admissions share them (coalesce.go).

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/internal/lib/logkeys"
)

// lookup is one admission's reads beyond the index: the live policies, read
// at most once whichever step asks first.
type lookup struct {
	checker    *Checker
	namespaces namespaceLabels
	pod        *Pod
	read       bool
	policies   []*Compiled
	err        error
}

// live lists, once, every watched kind's policies that can apply to the
// pod, with the pod's namespace labels read if they select by them.
func (l *lookup) live(ctx context.Context) ([]*Compiled, error) {
	if l.read {
		return l.policies, l.err
	}
	l.read = true
	l.policies, l.err = l.checker.livePolicies(ctx, l.pod.Namespace)
	if l.err == nil && l.pod.NamespaceLabels == nil && readNamespaceLabelsAny(l.policies) {
		l.err = readNamespaceLabels(ctx, l.namespaces, l.pod)
	}
	return l.policies, l.err
}

// confirmCoverage answers from the index and, when the index sees a gap,
// from a live list of every watched kind's policies that can apply, so a
// policy created a moment earlier (same kubectl apply, Helm hooks) counts
// although the informer has not delivered it yet. When a live read fails
// after the index has answered, it returns the index's answer with a
// *liveReadError: the index is synced (the server is ready only then), so
// its answer stands, short only of a policy created in the last moment.
func (l *lookup) confirmCoverage(ctx context.Context, want Want, cached Coverage) (Coverage, error) {
	if cached.Covered {
		return cached, nil
	}
	policies, err := l.live(ctx)
	if err != nil {
		return cached, &liveReadError{err}
	}
	return CheckCoverage(l.pod, policies, want, l.checker.Index.Tiers()), nil
}

// liveReadError is a failed live read made after the index had answered.
type liveReadError struct{ err error }

func (e *liveReadError) Error() string { return e.err.Error() }
func (e *liveReadError) Unwrap() error { return e.err }

// namespaceLabels reads a namespace's labels (decision.Snapshot).
type namespaceLabels interface {
	NamespaceLabels(ctx context.Context, namespace string) (labels.Set, error)
}

func readNamespaceLabels(ctx context.Context, namespaces namespaceLabels, pod *Pod) error {
	set, err := namespaces.NamespaceLabels(ctx, pod.Namespace)
	if err != nil {
		return err
	}
	pod.NamespaceLabels = set
	return nil
}

func readNamespaceLabelsAny(policies []*Compiled) bool {
	for _, p := range policies {
		if readsNamespaceLabels(p) > 0 {
			return true
		}
	}
	return false
}

// livePolicies lists, live, the policies of every watched kind that can
// apply to pods of namespace: the namespace's own and the cluster-scoped.
func (c *Checker) livePolicies(ctx context.Context, namespace string) ([]*Compiled, error) {
	var policies []*Compiled
	for _, kind := range c.Index.Watched() {
		key := listKey{kind: kind.Name}
		if kind.Namespaced {
			key.namespace = namespace
		}
		objs, err := c.lists.list(ctx, key, func(ctx context.Context) ([]runtime.Object, error) {
			return listPolicies(ctx, c.Live, kind, namespace)
		})
		if err != nil {
			return nil, err
		}
		for _, obj := range objs {
			p, err := Compile(obj)
			if err != nil {
				logf.FromContext(ctx).Error(err, "ignoring a policy with an invalid selector", logkeys.Kind, kind.Name)
				continue
			}
			policies = append(policies, p)
		}
	}
	return policies, nil
}

// listPolicies lists the objects of kind in namespace (every one, for a
// cluster-scoped kind).
func listPolicies(ctx context.Context, r client.Reader, kind *PolicyKind, namespace string) ([]runtime.Object, error) {
	var opts []client.ListOption
	if kind.Namespaced {
		opts = append(opts, client.InNamespace(namespace))
	}
	if kind == KindNetworkPolicy {
		var list networkingv1.NetworkPolicyList
		if err := r.List(ctx, &list, opts...); err != nil {
			return nil, fmt.Errorf("listing the NetworkPolicies of namespace %q: %w", namespace, err)
		}
		objs := make([]runtime.Object, len(list.Items))
		for i := range list.Items {
			objs[i] = &list.Items[i]
		}
		return objs, nil
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(kind.GVK.GroupVersion().WithKind(kind.GVK.Kind + "List"))
	if err := r.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing %s objects: %w", kind.Name, err)
	}
	objs := make([]runtime.Object, len(list.Items))
	for i := range list.Items {
		list.Items[i].SetGroupVersionKind(kind.GVK)
		objs[i] = &list.Items[i]
	}
	return objs, nil
}
