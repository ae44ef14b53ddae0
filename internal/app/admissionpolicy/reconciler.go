package admissionpolicy

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
	"github.com/eksguard/eksguard/webhook/seccomp"
)

// MetricActive is 1 while eksguard's admission policy is bound (the API
// server injects RuntimeDefault itself), 0 otherwise.
const MetricActive = "eksguard_seccomp_admission_policy_active"

var active = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: MetricActive,
	Help: "1 while the seccomp mutation is done by eksguard's MutatingAdmissionPolicy in the API server, 0 while the webhook does it.",
})

func init() { metrics.Registry.MustRegister(active) }

// Kind is the API the admission policy needs.
var Kind = schema.GroupKind{Group: admissionregistrationv1.GroupName, Kind: "MutatingAdmissionPolicy"}

// Timing of the passes.
const (
	// pollEvery: a new policy in force is rendered within this.
	pollEvery = time.Second
	// resyncEvery repairs what others changed, and notices an API server
	// upgraded to serve the kind.
	resyncEvery = 30 * time.Second
)

// Reconciler is a manager runnable. Every replica runs one; they write the
// same objects, and optimistic locking settles concurrent updates.
type Reconciler struct {
	// Reader reads live (no informer: RBAC grants get by name); Writer writes.
	Reader client.Reader
	Writer client.Writer
	Mapper meta.RESTMapper
	Store  *config.Store
	// Name names the policy and its binding.
	Name string
	// Owner, when set, names eksguard's mutating webhook configuration,
	// made the objects' owner so that uninstalling eksguard removes them.
	Owner string
	// Now is the clock exemptions expire by; nil means time.Now.
	Now func() time.Time

	// unservedLogged: the log line for an API server without the kind was
	// written (once until it serves it).
	unservedLogged bool
}

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (r *Reconciler) NeedLeaderElection() bool { return false }

// Start implements manager.Runnable.
func (r *Reconciler) Start(ctx context.Context) error {
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	var seen *config.Policy
	var lastPass, until time.Time
	for {
		now := r.now()
		if p := r.Store.Current(); p != seen || now.Sub(lastPass) >= resyncEvery || (!until.IsZero() && !now.Before(until)) {
			next, err := r.Reconcile(ctx, p)
			if err != nil {
				logf.FromContext(ctx).Error(err, "reconciling the seccomp admission policy; the webhook mutates meanwhile", logkeys.ConfigMap, p.Source)
			} else {
				seen, until = p, next
			}
			lastPass = now
		}
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		}
	}
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Reconcile makes one pass: it writes the policy rendered from p and binds
// it, or unbinds it when p injects nothing. It returns when the rendering
// next changes (an exemption's expiry; zero: never).
func (r *Reconciler) Reconcile(ctx context.Context, p *config.Policy) (time.Time, error) {
	if _, err := r.Mapper.RESTMapping(Kind, admissionregistrationv1.SchemeGroupVersion.Version); err != nil {
		if !meta.IsNoMatchError(err) {
			return time.Time{}, err
		}
		if !r.unservedLogged {
			logf.FromContext(ctx).Info("the API server does not serve admissionregistration.k8s.io/v1 MutatingAdmissionPolicies; the seccomp webhook mutates pods")
			r.unservedLogged = true
		}
		active.Set(0)
		return time.Time{}, nil
	}
	r.unservedLogged = false
	owner, err := r.owner(ctx)
	if err != nil {
		return time.Time{}, err
	}
	want := seccomp.RenderAdmissionPolicy(p, r.Name, r.now())
	for _, obj := range []client.Object{want.Policy, want.Binding} {
		if owner != nil && obj != nil && !reflect.ValueOf(obj).IsNil() {
			obj.SetOwnerReferences([]metav1.OwnerReference{*owner})
		}
	}
	if err := r.write(ctx, want.Policy, &admissionregistrationv1.MutatingAdmissionPolicy{}); err != nil {
		return time.Time{}, err
	}
	if want.Binding == nil {
		binding := &admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: r.Name}}
		if err := r.Writer.Delete(ctx, binding); err != nil && !apierrors.IsNotFound(err) {
			return time.Time{}, fmt.Errorf("unbinding the seccomp admission policy: %w", err)
		}
		active.Set(0)
		return want.Until, nil
	}
	if err := r.write(ctx, want.Binding, &admissionregistrationv1.MutatingAdmissionPolicyBinding{}); err != nil {
		return time.Time{}, err
	}
	active.Set(1)
	return want.Until, nil
}

// owner is the reference to eksguard's mutating webhook configuration; nil
// when none is named or it does not exist (a test bed, or an install in
// progress).
func (r *Reconciler) owner(ctx context.Context) (*metav1.OwnerReference, error) {
	if r.Owner == "" {
		return nil, nil
	}
	var mwc admissionregistrationv1.MutatingWebhookConfiguration
	if err := r.Reader.Get(ctx, client.ObjectKey{Name: r.Owner}, &mwc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the mutating webhook configuration %s: %w", r.Owner, err)
	}
	return &metav1.OwnerReference{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "MutatingWebhookConfiguration",
		Name: mwc.Name, UID: mwc.UID}, nil
}

// write creates obj, or updates the stored one (read into into) when its
// spec differs.
func (r *Reconciler) write(ctx context.Context, obj, into client.Object) error {
	err := r.Reader.Get(ctx, client.ObjectKeyFromObject(obj), into)
	switch {
	case apierrors.IsNotFound(err):
		if err := r.Writer.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s %s: %w", kindOf(obj), obj.GetName(), err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading %s %s: %w", kindOf(obj), obj.GetName(), err)
	}
	if sameSpec(obj, into) && reflect.DeepEqual(obj.GetOwnerReferences(), into.GetOwnerReferences()) {
		return nil
	}
	obj.SetResourceVersion(into.GetResourceVersion())
	if err := r.Writer.Update(ctx, obj); err != nil {
		return fmt.Errorf("updating %s %s: %w", kindOf(obj), obj.GetName(), err)
	}
	return nil
}

// sameSpec compares what eksguard renders with what is stored, after the
// API server's defaulting of the fields eksguard leaves unset.
func sameSpec(want, stored client.Object) bool {
	switch w := want.(type) {
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		s := stored.(*admissionregistrationv1.MutatingAdmissionPolicy)
		return reflect.DeepEqual(w.Spec, s.Spec)
	case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
		s := stored.(*admissionregistrationv1.MutatingAdmissionPolicyBinding)
		return w.Spec.PolicyName == s.Spec.PolicyName && s.Spec.ParamRef == nil &&
			(s.Spec.MatchResources == nil || reflect.DeepEqual(s.Spec.MatchResources, &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{}, ObjectSelector: &metav1.LabelSelector{},
				MatchPolicy: s.Spec.MatchResources.MatchPolicy}))
	}
	return false
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		return "MutatingAdmissionPolicy"
	case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
		return "MutatingAdmissionPolicyBinding"
	}
	return fmt.Sprintf("%T", obj)
}
