package failurepolicy

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
	"github.com/eksguard/eksguard/webhook"
)

// MetricMismatches is the gauge of webhook entries whose failurePolicy
// differs from the policy in force after the last pass.
const MetricMismatches = "eksguard_webhook_failure_policy_mismatches"

// ReasonMismatch is the Event reason when reconciliation is off and the
// rendered failure policies disagree with the policy in force.
const ReasonMismatch = "FailurePolicyMismatch"

var mismatches = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: MetricMismatches,
	Help: "Webhook entries whose failurePolicy differs from what the policy in force asks (0 while eksguard reconciles them).",
})

func init() { metrics.Registry.MustRegister(mismatches) }

// Timing of the passes.
const (
	// pollEvery is how often the policy in force is looked at: a new one
	// is acted on within this.
	pollEvery = time.Second
	// resyncEvery is the safety net behind Watcher: it repairs what others
	// changed should a watch event be missed.
	resyncEvery = 30 * time.Second
	// rewatchAfter is the pause before a watch that ended is opened again.
	rewatchAfter = time.Second
)

// Reconciler is a manager runnable; every replica runs one (they converge
// on the same state, and optimistic locking settles concurrent patches).
type Reconciler struct {
	// Reader reads live; Writer patches.
	Reader client.Reader
	Writer client.Writer
	Store  *config.Store
	// Name names both configurations (the chart's fullname).
	Name string
	// Enforcing is the failure policy of routes that may deny (the chart's
	// webhook.failurePolicy).
	Enforcing admissionregistrationv1.FailurePolicyType
	// Patch false only reports a disagreement (metric, Event, log): for a
	// GitOps tool that owns the configurations.
	Patch    bool
	Recorder events.EventRecorder
	// EventTarget is the object the disagreement Event is recorded on (the
	// policy ConfigMap: its namespace is where eksguard may write Events).
	EventTarget runtime.Object
	// Watcher, when set, watches both configurations by name (RBAC: list
	// and watch with resourceNames), so that a helm upgrade or a GitOps
	// sync that re-applies them with other failure policies is repaired at
	// once, not at the next resync: until then an outage would fail open
	// under enforce, or closed under warn.
	Watcher client.WithWatch

	reported bool
}

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (r *Reconciler) NeedLeaderElection() bool { return false }

// Start implements manager.Runnable.
func (r *Reconciler) Start(ctx context.Context) error {
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	changed := make(chan struct{}, 1)
	if r.Watcher != nil {
		for _, list := range []client.ObjectList{&admissionregistrationv1.MutatingWebhookConfigurationList{},
			&admissionregistrationv1.ValidatingWebhookConfigurationList{}} {
			go r.watch(ctx, list, changed)
		}
	}
	var seen *config.Policy
	var lastPass time.Time
	repair := false
	for {
		if p := r.Store.Current(); p != seen || repair || time.Since(lastPass) >= resyncEvery {
			if err := r.reconcile(ctx, p); err != nil {
				logf.FromContext(ctx).Error(err, "reconciling the webhook failure policies", logkeys.ConfigMap, p.Source)
			} else {
				seen = p
			}
			lastPass, repair = time.Now(), false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		case <-changed:
			repair = true
		}
	}
}

// watch signals changed whenever the configuration of list's kind named
// r.Name changes, watching again when a watch ends, until ctx ends.
func (r *Reconciler) watch(ctx context.Context, list client.ObjectList, changed chan<- struct{}) {
	for ctx.Err() == nil {
		w, err := r.Watcher.Watch(ctx, list, client.MatchingFields{"metadata.name": r.Name})
		if err != nil {
			logf.FromContext(ctx).V(1).Info("watching a webhook configuration; resync repairs meanwhile", logkeys.Cause, err.Error())
		} else {
			for range w.ResultChan() {
				select {
				case changed <- struct{}{}:
				default: // a pass is already due
				}
			}
			w.Stop()
		}
		select {
		case <-ctx.Done():
		case <-time.After(rewatchAfter):
		}
	}
}

// Desired maps each route's webhook entry name to its failure policy under p.
func Desired(p *config.Policy, enforcing admissionregistrationv1.FailurePolicyType) map[string]admissionregistrationv1.FailurePolicyType {
	out := map[string]admissionregistrationv1.FailurePolicyType{}
	for _, route := range webhook.Routes {
		out[route.Name] = route.FailurePolicy(p, enforcing)
	}
	return out
}

// reconcile makes one pass over both configurations.
func (r *Reconciler) reconcile(ctx context.Context, p *config.Policy) error {
	desired := Desired(p, r.Enforcing)
	off := 0
	var mutating admissionregistrationv1.MutatingWebhookConfiguration
	n, err := r.pass(ctx, &mutating, func() []*admissionregistrationv1.FailurePolicyType {
		var out []*admissionregistrationv1.FailurePolicyType
		for i := range mutating.Webhooks {
			out = append(out, policyOf(&mutating.Webhooks[i].FailurePolicy, mutating.Webhooks[i].Name, desired))
		}
		return out
	}, desired)
	if err != nil {
		return err
	}
	off += n
	var validating admissionregistrationv1.ValidatingWebhookConfiguration
	n, err = r.pass(ctx, &validating, func() []*admissionregistrationv1.FailurePolicyType {
		var out []*admissionregistrationv1.FailurePolicyType
		for i := range validating.Webhooks {
			out = append(out, policyOf(&validating.Webhooks[i].FailurePolicy, validating.Webhooks[i].Name, desired))
		}
		return out
	}, desired)
	if err != nil {
		return err
	}
	off += n
	mismatches.Set(float64(off))
	if off == 0 {
		r.reported = false
	}
	return nil
}

// policyOf returns the entry's failurePolicy field for routes eksguard
// serves (nil for an entry it does not know, which is left alone), with
// nil values made explicit: the API server defaults failurePolicy to Fail.
func policyOf(field **admissionregistrationv1.FailurePolicyType, name string, desired map[string]admissionregistrationv1.FailurePolicyType) *admissionregistrationv1.FailurePolicyType {
	if _, known := desired[name]; !known {
		return nil
	}
	if *field == nil {
		fail := admissionregistrationv1.Fail
		*field = &fail
	}
	return *field
}

// webhookConfiguration is either configuration kind.
type webhookConfiguration interface {
	client.Object
	DeepCopyObject() runtime.Object
}

// pass reads obj, compares the entries' failure policies (entries gives
// them, in order of the webhooks) with desired, and patches what differs
// unless reconciliation is off. It returns how many entries still differ.
func (r *Reconciler) pass(ctx context.Context, obj webhookConfiguration, entries func() []*admissionregistrationv1.FailurePolicyType,
	desired map[string]admissionregistrationv1.FailurePolicyType) (int, error) {
	if err := r.Reader.Get(ctx, client.ObjectKey{Name: r.Name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return 0, nil // not installed (a local run): nothing to keep in line
		}
		return 0, err
	}
	base := obj.DeepCopyObject().(client.Object)
	names := entryNames(obj)
	differ := 0
	for i, fp := range entries() {
		if fp == nil || *fp == desired[names[i]] {
			continue
		}
		differ++
		if r.Patch {
			*fp = desired[names[i]]
		}
	}
	if differ == 0 {
		return 0, nil
	}
	if !r.Patch {
		r.report(ctx, obj, differ)
		return differ, nil
	}
	if err := r.Writer.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return differ, err
	}
	logf.FromContext(ctx).Info("webhook failure policies follow the policy in force", logkeys.Kind, kindOf(obj),
		logkeys.Source, r.Store.Current().Source)
	return 0, nil
}

func kindOf(obj client.Object) string {
	if _, ok := obj.(*admissionregistrationv1.MutatingWebhookConfiguration); ok {
		return "MutatingWebhookConfiguration"
	}
	return "ValidatingWebhookConfiguration"
}

func entryNames(obj client.Object) []string {
	var names []string
	switch o := obj.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		for _, w := range o.Webhooks {
			names = append(names, w.Name)
		}
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		for _, w := range o.Webhooks {
			names = append(names, w.Name)
		}
	}
	return names
}

// report records, once per disagreement, that reconciliation is off and the
// rendered failure policies disagree with the policy in force.
func (r *Reconciler) report(ctx context.Context, obj client.Object, differ int) {
	logf.FromContext(ctx).Info("webhook failure policies disagree with the policy in force; re-render them, or turn reconciliation on",
		logkeys.Kind, kindOf(obj), logkeys.Source, r.Store.Current().Source)
	if r.reported || r.Recorder == nil || r.EventTarget == nil {
		return
	}
	r.reported = true
	r.Recorder.Eventf(r.EventTarget, obj, "Warning", ReasonMismatch, "CheckFailurePolicy",
		"%d webhook entries have a failurePolicy the policy in force does not ask for (policy %s)", differ, r.Store.Current().Source)
}
