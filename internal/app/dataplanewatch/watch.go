package dataplanewatch

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

// MetricContradictions is the gauge of the ways the cluster contradicts the
// declared cluster-wide default-deny, after the last check.
const MetricContradictions = "eksguard_data_plane_contradictions"

// Event reasons, recorded on the policy ConfigMap.
const (
	// ReasonContradiction: the cluster contradicts the declaration.
	ReasonContradiction = "DataPlaneContradiction"
	// ReasonFinding: the cluster says something the declaration does not
	// (a default-deny nothing declares, a setting that cannot be read).
	ReasonFinding = "DataPlaneFinding"
	// ReasonConsistent: the contradictions reported before are gone.
	ReasonConsistent = "DataPlaneConsistent"
)

const (
	// recorderName names the Event reporter.
	recorderName = "eksguard-data-plane"
	// eventAction is the action of every Event recorded.
	eventAction = "CheckDataPlane"
	// maxEventNote is the longest note events.k8s.io/v1 accepts.
	maxEventNote = 1024
)

// Timing of the passes.
const (
	// pollEvery is how often the policy in force is looked at: a new
	// declaration is checked within this.
	pollEvery = time.Second
	// resyncEvery is how often the objects are read again. RBAC grants get
	// by name only (no watch), and these objects change with add-on
	// updates, not by the second.
	resyncEvery = 60 * time.Second
	// retryAfter spaces the reads after one failed (other than Forbidden,
	// which is an answer): the last Facts stay published meanwhile.
	retryAfter = 10 * time.Second
)

var contradictions = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: MetricContradictions,
	Help: "Ways the cluster's VPC CNI and Auto Mode objects contradict the cluster-wide default-deny the policy in force declares.",
})

func init() { metrics.Registry.MustRegister(contradictions) }

// Watcher is a manager runnable. Every replica runs one: each publishes
// Facts for its own admissions (so each also records the Events).
type Watcher struct {
	// Reader reads live: with RBAC get by name on the DaemonSet and the
	// ConfigMap, an informer (list and watch) is not allowed.
	Reader client.Reader
	Store  *config.Store
	// Holder receives every Facts read.
	Holder   *dataplane.Holder
	Recorder events.EventRecorder
	// EventTarget is the object Events are recorded on: the policy
	// ConfigMap, whose declaration the findings are about and whose
	// namespace is where eksguard may write Events.
	EventTarget runtime.Object
	// Resync overrides resyncEvery (tests).
	Resync time.Duration

	// forbidden are the sources whose Forbidden was logged, once each.
	forbidden map[dataplane.Source]bool
	// last are the findings last reported; checked says there were any.
	last    []dataplane.Finding
	checked bool
}

// SetupWithManager adds a Watcher that reads with the manager's live
// reader, publishes into holder, and records Events on eventTarget.
func SetupWithManager(mgr manager.Manager, store *config.Store, holder *dataplane.Holder, eventTarget runtime.Object) error {
	if err := mgr.Add(&Watcher{
		Reader: mgr.GetAPIReader(), Store: store, Holder: holder,
		Recorder: mgr.GetEventRecorder(recorderName), EventTarget: eventTarget,
	}); err != nil {
		return fmt.Errorf("adding the data-plane watcher: %w", err)
	}
	return nil
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every
// replica needs Facts.
func (w *Watcher) NeedLeaderElection() bool { return false }

// Start implements manager.Runnable.
func (w *Watcher) Start(ctx context.Context) error {
	resync := w.Resync
	if resync <= 0 {
		resync = resyncEvery
	}
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	var facts *dataplane.Facts
	// seen is the policy last checked; readFor the policy in force at
	// the last read.
	var seen, readFor *config.Policy
	var nextRead time.Time
	for {
		read := false
		// A new policy is checked against objects read now: an operator
		// who changes aws-node and then the declaration sees the verdict
		// at once, not after a resync.
		current := w.Store.Current()
		if current != readFor || !time.Now().Before(nextRead) {
			readFor = current
			if f, err := w.read(ctx); err != nil {
				logf.FromContext(ctx).Error(err, "reading the data plane's objects; the last ones read stay in use")
				nextRead = time.Now().Add(retryAfter)
			} else {
				facts, read = f, true
				w.Holder.Store(f)
				nextRead = time.Now().Add(resync)
			}
		}
		if p := w.Store.Current(); facts != nil && (read || p != seen) {
			w.check(ctx, facts, p)
			seen = p
		}
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		}
	}
}

// read gets each source (dataplane.Read), logging a refusal once until
// the source can be read again.
func (w *Watcher) read(ctx context.Context) (*dataplane.Facts, error) {
	return dataplane.Read(ctx, w.Reader, nil, func(source dataplane.Source, err error) {
		switch {
		case err == nil || apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			delete(w.forbidden, source) // read: present or absent
		case apierrors.IsForbidden(err):
			if w.forbidden == nil {
				w.forbidden = map[dataplane.Source]bool{}
			}
			if !w.forbidden[source] {
				w.forbidden[source] = true
				logf.FromContext(ctx).Info("not allowed to read a data-plane object; it counts as unknown (grant get, or list for kinds, in the chart's RBAC)",
					logkeys.DataPlaneObject, string(source), logkeys.Cause, err.Error())
			}
		}
	})
}

// check compares facts with p's declaration, sets the gauge, and reports
// findings that are new since the last check, and contradictions that went.
func (w *Watcher) check(ctx context.Context, facts *dataplane.Facts, p *config.Policy) {
	findings := facts.Findings(p.Config.Rules.NetworkPolicy.ClusterDefaultDeny)
	n := 0
	for _, f := range findings {
		if f.Contradiction {
			n++
		}
	}
	contradictions.Set(float64(n))
	if w.checked && slices.Equal(findings, w.last) {
		return
	}
	previous := w.last
	w.checked, w.last = true, findings
	log := logf.FromContext(ctx).WithValues(logkeys.Source, p.Source)
	for _, f := range findings {
		if !slices.Contains(previous, f) {
			w.report(log, f, p)
		}
	}
	gone := 0
	for _, f := range previous {
		if f.Contradiction && !slices.Contains(findings, f) {
			gone++
			log.Info("a data-plane contradiction is gone", logkeys.DataPlaneObject, f.Object, logkeys.Finding, f.Message)
		}
	}
	if gone > 0 && n == 0 {
		w.event(corev1.EventTypeNormal, ReasonConsistent,
			fmt.Sprintf("the cluster no longer contradicts the declared cluster default-deny (policy %s)", p.Source))
	}
}

func (w *Watcher) report(log logr.Logger, f dataplane.Finding, p *config.Policy) {
	if f.Contradiction {
		log.Info("the cluster contradicts the declared cluster default-deny",
			logkeys.DataPlaneObject, f.Object, logkeys.Finding, f.Message, logkeys.Contradiction, true)
		w.event(corev1.EventTypeWarning, ReasonContradiction,
			fmt.Sprintf("%s; rules.networkPolicy.clusterDefaultDeny does not hold (policy %s)", f.Message, p.Source))
		return
	}
	log.Info("the cluster's data plane, beside the declared cluster default-deny",
		logkeys.DataPlaneObject, f.Object, logkeys.Finding, f.Message, logkeys.Contradiction, false)
	w.event(corev1.EventTypeNormal, ReasonFinding, fmt.Sprintf("%s (policy %s)", f.Message, p.Source))
}

func (w *Watcher) event(eventType, reason, note string) {
	if w.Recorder == nil || w.EventTarget == nil {
		return
	}
	if len(note) > maxEventNote {
		note = note[:maxEventNote-3] + "..."
	}
	w.Recorder.Eventf(w.EventTarget, nil, eventType, reason, eventAction, "%s", note)
}
