package netpol

import (
	"context"
	"fmt"
	"net/http"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/logkeys"
	"github.com/eksguard/eksguard/webhook/decision"
)

// Checker is what the three handlers share: the policy decision context, the
// index for fast answers, and a live reader to confirm a gap before
// reporting it.
type Checker struct {
	Decider decision.Decider
	Index   *Index
	// Live reads from the API server, bypassing the cache.
	Live client.Reader
}

// decisions are the rule's two decisions for one object.
type decisions struct {
	coverage, hostNetwork config.Decision
}

// decide returns the rule's decisions for obj under pol.
func (c *Checker) decide(ctx context.Context, pol *config.Policy, obj metav1.Object) (decisions, error) {
	s := pol.Config.Rules.NetworkPolicy
	d, err := c.Decider.DecideWithPolicy(ctx, pol, obj, config.RuleNetworkPolicy, s.Mode, s.HostNetwork)
	if err != nil {
		return decisions{}, err
	}
	return decisions{coverage: d[0], hostNetwork: d[1]}, nil
}

// undecided answers when the rule could not decide (see decision.Undecided).
func undecided(ctx context.Context, pol *config.Policy, kind string, err error) admission.Response {
	s := pol.Config.Rules.NetworkPolicy
	return decision.Undecided(ctx, pol, kind, config.RuleNetworkPolicy, "NetworkPolicy coverage", err, s.Mode, s.HostNetwork)
}

// subject is what the coverage rule checks: a pod, or a workload's pod template.
type subject struct {
	// Kind is the admitted object's kind, as named in the verdict.
	Kind string
	// Description names the subject in messages: "Pod web-1",
	// "Deployment web's pod template".
	Description string
	Namespace   string
	// Labels are the labels the pods have; Unknown the keys they will
	// have with values not known yet (controller-added hashes).
	Labels         labels.Set
	Unknown        map[string]string
	ServiceAccount string
	HostNetwork    bool
	// LabelsPath and HostNetworkPath are where those are in the admitted object.
	LabelsPath      *field.Path
	HostNetworkPath *field.Path
}

// review answers for one subject: a host-network finding for pods no
// policy can isolate, else the coverage finding.
func (c *Checker) review(ctx context.Context, pol *config.Policy, s subject, d decisions) admission.Response {
	settings := pol.Config.Rules.NetworkPolicy
	if s.HostNetwork {
		finding := decision.Finding{Rule: config.RuleNetworkPolicy, Decision: d.hostNetwork}
		if d.hostNetwork.Mode != config.ModeOff {
			finding.Errs = field.ErrorList{field.Forbidden(s.HostNetworkPath, hostNetworkDetail(s, d.hostNetwork.Mode))}
		}
		return decision.Respond(ctx, s.Kind, finding)
	}
	finding := decision.Finding{Rule: config.RuleNetworkPolicy, Decision: d.coverage}
	if d.coverage.Mode == config.ModeOff {
		return decision.Respond(ctx, s.Kind, finding)
	}
	pod := &Pod{Namespace: s.Namespace, Labels: s.Labels, Unknown: s.Unknown, ServiceAccount: s.ServiceAccount}
	if pod.ServiceAccount == "" {
		pod.ServiceAccount = "default"
	}
	result, err := c.coverage(ctx, pod, settings)
	if err != nil {
		logf.FromContext(ctx).Error(err, "could not confirm NetworkPolicy coverage", logkeys.Namespace, s.Namespace)
		// A warning can rest on the cached answer; a denial cannot.
		if d.coverage.Mode != config.ModeWarn {
			return admission.Errored(http.StatusInternalServerError,
				fmt.Errorf("eksguard could not confirm NetworkPolicy coverage of %s: %w", s.Description, err))
		}
	}
	if !result.Covered {
		finding.Errs = field.ErrorList{field.Forbidden(s.LabelsPath, gapDetail(s, result, settings, d.coverage.Mode))}
	}
	return decision.Respond(ctx, s.Kind, finding)
}

// declaredIsolation is the operator's cluster-wide default-deny.
func declaredIsolation(s config.NetworkPolicySettings) Isolation {
	return Isolation{Ingress: s.ClusterDefaultDeny.Ingress, Egress: s.ClusterDefaultDeny.Egress}
}

// coverage answers from the index and, when the index sees a gap, from a
// live list of every watched kind's policies that can apply, so a policy
// created a moment earlier (same kubectl apply, Helm hooks) counts although
// the informer has not delivered it yet. On a live read error it returns
// the index's answer with the error.
func (c *Checker) coverage(ctx context.Context, pod *Pod, settings config.NetworkPolicySettings) (Result, error) {
	declared := declaredIsolation(settings)
	if c.Index.NeedsNamespaceLabels(pod.Namespace) {
		if err := c.readNamespaceLabels(ctx, pod); err != nil {
			return Result{}, err
		}
	}
	cached := c.Index.CheckCoverage(pod, settings.Coverage, declared)
	if cached.Covered {
		return cached, nil
	}
	policies, err := c.livePolicies(ctx, pod.Namespace)
	if err != nil {
		return cached, err
	}
	if pod.NamespaceLabels == nil && readNamespaceLabelsAny(policies) {
		if err := c.readNamespaceLabels(ctx, pod); err != nil {
			return cached, err
		}
	}
	return CheckCoverage(pod, policies, settings.Coverage, declared), nil
}

func (c *Checker) readNamespaceLabels(ctx context.Context, pod *Pod) error {
	set, err := c.Decider.NamespaceLabels(ctx, pod.Namespace)
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
		objs, err := listPolicies(ctx, c.Live, kind, namespace)
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
func listPolicies(ctx context.Context, r client.Reader, kind *Kind, namespace string) ([]runtime.Object, error) {
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
