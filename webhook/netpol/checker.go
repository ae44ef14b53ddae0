package netpol

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/resource"
)

// what names the rule's decision in an undecided answer.
const what = "NetworkPolicy coverage"

// modes are the finding modes that can deny a pod or workload.
func modes(s config.RuleSettings) []config.Mode {
	return []config.Mode{s.NetworkPolicy.Mode, s.NetworkPolicy.HostNetwork}
}

// What the three handlers judge. PolicyChanges has no Modes: a policy
// change is only ever warned about, never blocked.
var (
	Pods          = &admit.Spec{Rule: config.RuleNetworkPolicy, Kinds: []resource.Kind{resource.Pod, resource.PodStatus}, Operations: resource.CreateUpdate, Modes: modes}
	Workloads     = &admit.Spec{Rule: config.RuleNetworkPolicy, Kinds: WorkloadKinds(), Operations: resource.CreateUpdate, Modes: modes}
	PolicyChanges = &admit.Spec{Rule: config.RuleNetworkPolicy, Kinds: ResourceKinds(), Operations: resource.UpdateDelete}
)

// Checker is the I/O the three handlers share: the policy decision context,
// the index for fast answers, and a live reader to confirm a gap before
// reporting it. What it finds, judgeSubject judges.
type Checker struct {
	Decider decision.Decider
	Index   *Index
	// Live reads from the API server, bypassing the cache.
	Live client.Reader
	// lists coalesces the live lists of concurrent admissions.
	lists listCoalescer
}

// decisions are the rule's two decisions for one object.
type decisions struct {
	coverage, hostNetwork config.Decision
}

// decide returns the rule's decisions for obj under the snapshot's policy.
func decide(ctx context.Context, snap *decision.Snapshot, obj decision.Object) (decisions, error) {
	d, err := snap.Decide(ctx, obj, config.RuleNetworkPolicy)
	if err != nil {
		return decisions{}, err
	}
	s := snap.Policy.Config.Rules.NetworkPolicy
	return decisions{coverage: d.For(s.Mode), hostNetwork: d.For(s.HostNetwork)}, nil
}

// subject is what the coverage rule checks: a pod, or a workload's pod template.
type subject struct {
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

// reviewer answers for one admission (admit.Review).
type reviewer interface {
	Respond(ctx context.Context, rulings ...decision.Ruling) decision.Answer
	Undecided(ctx context.Context, err error, decided ...config.Decision) decision.Answer
}

// answer finds what the rule needs for one subject (the policies that
// apply, from the index and, to confirm a gap, live) and answers with
// Rulings.
func (c *Checker) answer(ctx context.Context, r reviewer, snap *decision.Snapshot, s subject, d decisions) decision.Answer {
	settings := snap.Policy.Config.Rules.NetworkPolicy
	var found Found
	if needsCoverage(s, d) {
		var err error
		found.Coverage, err = c.coverage(ctx, snap, s.pod(), settings)
		switch {
		case errors.As(err, &found.Stale):
			// The synced index has answered; erroring instead would refuse the
			// pod all the same (or, in warn and dry run, block it) while the
			// API server restarts, and hide which policy is missing.
			logf.FromContext(ctx).Error(err, "could not confirm NetworkPolicy coverage live; answering from the cache", logkeys.Namespace, s.Namespace)
		case err != nil:
			return r.Undecided(ctx, err, d.coverage)
		}
	}
	return r.Respond(ctx, judgeSubject(s, d, settings, found))
}

// Found is what the index and the live reads found for a subject.
type Found struct {
	Coverage
	// Stale, when set, is the live read that failed: Coverage is the cache's.
	Stale *liveReadError
}

// needsCoverage reports whether the rule asks which policies cover s.
func needsCoverage(s subject, d decisions) bool {
	return !s.HostNetwork && d.coverage.Mode != config.ModeOff
}

// judgeSubject is the rule for one subject, pure: a host-network pod gets the
// host-network ruling (no policy can isolate it); any other the coverage
// ruling, from what was found.
func judgeSubject(s subject, d decisions, settings config.NetworkPolicySettings, found Found) decision.Ruling {
	if s.HostNetwork {
		ruling := decision.Ruling{Rule: config.RuleNetworkPolicy, Decision: d.hostNetwork}
		if d.hostNetwork.Mode != config.ModeOff {
			ruling.Errs = field.ErrorList{field.Forbidden(s.HostNetworkPath, hostNetworkDetail(s, d.hostNetwork.Mode))}
		}
		return ruling
	}
	ruling := decision.Ruling{Rule: config.RuleNetworkPolicy, Decision: d.coverage}
	if d.coverage.Mode == config.ModeOff || found.Covered {
		return ruling
	}
	detail := gapDetail(s, found.Coverage, settings, d.coverage.Mode)
	if found.Stale != nil && d.coverage.Mode != config.ModeWarn {
		detail += fmt.Sprintf(" (from eksguard's cache: the API server could not be asked: %v)", found.Stale)
	}
	ruling.Errs = field.ErrorList{field.Forbidden(s.LabelsPath, detail)}
	return ruling
}

// pod is the subject as coverage matches it.
func (s subject) pod() *Pod {
	pod := &Pod{Namespace: s.Namespace, Labels: s.Labels, Unknown: s.Unknown, ServiceAccount: s.ServiceAccount}
	if pod.ServiceAccount == "" {
		pod.ServiceAccount = "default"
	}
	return pod
}

// declaredIsolation is the operator's cluster-wide default-deny.
func declaredIsolation(s config.NetworkPolicySettings) Isolation {
	return Isolation{Ingress: s.ClusterDefaultDeny.Ingress, Egress: s.ClusterDefaultDeny.Egress}
}
