package netpol

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
	"github.com/eksguard/eksguard/webhook/resource"
)

// what names the rule's decision in an undecided answer.
const what = "NetworkPolicy coverage"

// finding is one of the rule's findings; each has its own mode.
type finding uint8

const (
	// findCoverage: no policy isolates the pod as coverage asks.
	findCoverage finding = iota
	// findHostNetwork, findFargate and findWindows stand in for coverage
	// where no counted kind is enforced.
	findHostNetwork
	findFargate
	findWindows
	// findStandalone: a pod no controller owns, which the VPC CNI agent
	// cannot police reliably.
	findStandalone
	// findDNS: an Egress-isolated pod with no path to the cluster's DNS.
	findDNS
	numFindings
)

// findingModes are the settings of each finding, the one place they are read.
var findingModes = [numFindings]func(s *config.NetworkPolicySettings) config.Mode{
	findCoverage:    func(s *config.NetworkPolicySettings) config.Mode { return s.Mode },
	findHostNetwork: func(s *config.NetworkPolicySettings) config.Mode { return s.HostNetwork },
	findFargate:     func(s *config.NetworkPolicySettings) config.Mode { return s.Fargate },
	findWindows:     func(s *config.NetworkPolicySettings) config.Mode { return s.Windows },
	findStandalone:  func(s *config.NetworkPolicySettings) config.Mode { return s.StandalonePods },
	findDNS:         func(s *config.NetworkPolicySettings) config.Mode { return s.DNS.Mode },
}

// modes are the finding modes that can deny a pod or workload.
func modes(s config.RuleSettings) []config.Mode {
	out := make([]config.Mode, numFindings)
	for f, mode := range findingModes {
		out[f] = mode(&s.NetworkPolicy)
	}
	return out
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
	// DataPlane holds what the cluster says of the VPC CNI's enforcement;
	// nil: nothing known.
	DataPlane *dataplane.Holder
	// dnsConfirmed holds, per namespace, the last dnsConfirmation.
	dnsConfirmed sync.Map
}

// decisions are the rule's decisions for one object, one per finding.
type decisions [numFindings]config.Decision

// decide returns the rule's decisions for obj under the snapshot's policy.
func decide(ctx context.Context, snap *decision.Snapshot, obj decision.Object) (decisions, error) {
	d, err := snap.Decide(ctx, obj, config.RuleNetworkPolicy)
	if err != nil {
		return decisions{}, err
	}
	s := &snap.Policy.Config.Rules.NetworkPolicy
	var out decisions
	for f, mode := range findingModes {
		out[f] = d.For(mode(s))
	}
	return out, nil
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
	// Placement is what the spec says about where the pods run.
	Placement *placement
	// Standalone: a pod that no controller owns (no ownerReferences).
	Standalone bool
	// LabelsPath and SpecPath are where the labels and the pod spec are
	// in the admitted object; OwnersPath, for a pod, its ownerReferences.
	LabelsPath *field.Path
	SpecPath   *field.Path
	OwnersPath *field.Path
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
	settings := &snap.Policy.Config.Rules.NetworkPolicy
	p := s.placement()
	w := computeOf(s.Namespace, s.Labels, p, settings.FargateProfiles)
	want, pod := wantFor(w, p, settings, c.DataPlane.Load()), s.pod()
	var found Found
	coverage := needsCoverage(s, w, d, settings)
	var target *dnsTarget
	if policed(s, w, settings) && dnsJudged(d) {
		target = dnsTargetFor(ctx, snap, settings)
	}
	if !coverage && target == nil {
		return r.Respond(ctx, judgeSubject(s, w, d, settings, found)...)
	}
	if c.Index.NeedsNamespaceLabels(pod.Namespace) {
		if err := readNamespaceLabels(ctx, snap, pod); err != nil {
			if coverage {
				return r.Undecided(ctx, err, d[findCoverage])
			}
			target = nil // the DNS step only warns: it says nothing rather than guess
		}
	}
	cached, dns, gen := c.Index.check(pod, want, coverage, target)
	l := &lookup{checker: c, namespaces: snap, pod: pod}
	if coverage {
		var err error
		found.Coverage, err = l.confirmCoverage(ctx, want, cached)
		switch {
		case errors.As(err, &found.Stale):
			// The synced index has answered; erroring instead would refuse the
			// pod all the same (or, in warn and dry run, block it) while the
			// API server restarts, and hide which policy is missing.
			logf.FromContext(ctx).Error(err, "could not confirm NetworkPolicy coverage live; answering from the cache", logkeys.Namespace, s.Namespace)
		case err != nil:
			return r.Undecided(ctx, err, d[findCoverage])
		}
	}
	if target != nil {
		found.DNS = l.confirmDNS(ctx, want, target, dns, gen)
	}
	return r.Respond(ctx, judgeSubject(s, w, d, settings, found)...)
}

// Found is what the index and the live reads found for a subject.
type Found struct {
	Coverage
	// Stale, when set, is the live read that failed: Coverage is the cache's.
	Stale *liveReadError
	// DNS is the pod's DNS path; nil when not walked.
	DNS *DNSPath
}

// confirmDNS confirms by a live read a DNS path the index says is blocked
// (the allow-dns policy may be in the same apply). A failed read keeps the
// DNS step silent: it only ever warns, and a warning from a stale cache
// would be wrong.
//
// A namespace whose DNS is blocked stays so for every pod admitted there
// until someone fixes it: after a live read has agreed with the index, the
// index is trusted for dnsConfirmedFor while the namespace's policies (and
// the cluster-scoped ones) do not change, so a broken namespace does not
// cost a live list per admission.
func (l *lookup) confirmDNS(ctx context.Context, want Want, target *dnsTarget, cached DNSPath, gen generation) *DNSPath {
	if !cached.warns() {
		return &cached
	}
	c := l.checker
	if v, ok := c.dnsConfirmed.Load(l.pod.Namespace); ok {
		if confirmed := v.(dnsConfirmation); confirmed.gen == gen && time.Since(confirmed.at) < dnsConfirmedFor {
			return &cached
		}
	}
	policies, err := l.live(ctx)
	if err != nil {
		logf.FromContext(ctx).Error(err, "could not confirm the DNS path live; saying nothing", logkeys.Namespace, l.pod.Namespace)
		return nil
	}
	path := CheckDNS(l.pod, policies, want, target, c.Index.Tiers())
	if path.warns() && path.UDP == cached.UDP && path.TCP == cached.TCP {
		c.dnsConfirmed.Store(l.pod.Namespace, dnsConfirmation{gen: gen, at: time.Now()})
	}
	return &path
}

// dnsConfirmedFor bounds how long a live read vouches for the index.
const dnsConfirmedFor = 10 * time.Second

// dnsConfirmation is a live read that agreed with the index at gen.
type dnsConfirmation struct {
	gen generation
	at  time.Time
}

// dnsTargetFor is the cluster's DNS as the policy describes it, with its
// namespace's labels read (kubernetes.io/metadata.name alone when they
// cannot be: the API server sets it on every namespace).
func dnsTargetFor(ctx context.Context, snap namespaceLabels, settings *config.NetworkPolicySettings) *dnsTarget {
	dns := &settings.DNS
	t := &dnsTarget{Namespace: dns.Namespace, PodLabels: dns.PodLabels, AutoMode: dns.AutoMode}
	set, err := snap.NamespaceLabels(ctx, dns.Namespace)
	if err != nil || set == nil {
		set = labels.Set{corev1.LabelMetadataName: dns.Namespace}
	}
	t.NamespaceLabels = set
	return t
}

// dnsJudged: the DNS step follows the coverage it completes, so the
// rule's mode off turns it off too.
func dnsJudged(d decisions) bool {
	return d[findDNS].Mode != config.ModeOff && d[findCoverage].Mode != config.ModeOff
}

// policed reports whether some counted kind is enforced on the subject's pods.
func policed(s subject, w where, settings *config.NetworkPolicySettings) bool {
	f, _ := s.unpoliced(w, settings)
	return f == numFindings
}

// byVPCCNIKind: a policy of a kind the VPC CNI enforces isolates the pod.
func (c Coverage) byVPCCNIKind() bool {
	for _, p := range []*Compiled{c.IngressBy, c.EgressBy} {
		if p != nil && (p.Kind.vpcCNIOnly || p.Kind == KindNetworkPolicy) {
			return true
		}
	}
	return false
}

// placement is what the spec says about where the pods run (nothing, when
// the subject carries none).
func (s subject) placement() *placement {
	if s.Placement == nil {
		return &placement{}
	}
	return s.Placement
}

// unpoliced is the finding that stands in for coverage when no counted
// kind is enforced on the subject's pods (numFindings: none does), with
// its field.
func (s subject) unpoliced(w where, settings *config.NetworkPolicySettings) (finding, *field.Path) {
	switch {
	case s.HostNetwork:
		return findHostNetwork, s.SpecPath.Child("hostNetwork")
	case w.Compute == ComputeFargate:
		return findFargate, s.LabelsPath
	case w.Compute == ComputeWindows && settings.WindowsEngine == "":
		return findWindows, s.SpecPath
	}
	return numFindings, nil
}

// needsCoverage reports whether the rule asks which policies cover s.
func needsCoverage(s subject, w where, d decisions, settings *config.NetworkPolicySettings) bool {
	return policed(s, w, settings) && d[findCoverage].Mode != config.ModeOff
}

// judgeSubject is the rule for one subject, pure. A pod no counted kind is
// enforced on (host network, Fargate, Windows) gets that finding instead
// of a coverage verdict, since asking for a policy would not help; any
// other gets the coverage ruling, from what was found, and a standalone
// pod a warning of its own.
func judgeSubject(s subject, w where, d decisions, settings *config.NetworkPolicySettings, found Found) []decision.Ruling {
	if f, path := s.unpoliced(w, settings); f != numFindings {
		ruling := decision.Ruling{Rule: config.RuleNetworkPolicy, Decision: d[f]}
		if mode := d[f].Mode; mode == config.ModeOff {
			// nothing to say
		} else if f == findHostNetwork {
			ruling.Errs = field.ErrorList{field.Forbidden(path, hostNetworkDetail(s, mode))}
		} else {
			ruling.Errs = field.ErrorList{field.Forbidden(path, unpolicedDetail(s, w, mode))}
		}
		return []decision.Ruling{ruling}
	}
	coverage := d[findCoverage]
	ruling := decision.Ruling{Rule: config.RuleNetworkPolicy, Decision: coverage}
	if coverage.Mode != config.ModeOff && !found.Covered {
		detail := gapDetail(s, w, found.Coverage, settings, coverage.Mode)
		if found.Stale != nil && coverage.Mode != config.ModeWarn {
			detail += fmt.Sprintf(" (from eksguard's cache: the API server could not be asked: %v)", found.Stale)
		}
		ruling.Errs = field.ErrorList{field.Forbidden(s.LabelsPath, detail)}
	}
	rulings := []decision.Ruling{ruling}
	// The standalone finding qualifies a coverage the VPC CNI agent gives:
	// only for a covered pod, where the agent runs.
	if standalone := d[findStandalone]; s.Standalone && w.Compute == ComputeNode && found.Covered && found.byVPCCNIKind() && standalone.Mode != config.ModeOff {
		rulings = append(rulings, decision.Ruling{Rule: config.RuleNetworkPolicy, Decision: standalone,
			Errs: field.ErrorList{field.Forbidden(s.OwnersPath, standaloneDetail(s, standalone.Mode))}})
	}
	if dns := d[findDNS]; found.DNS.warns() && dns.Mode != config.ModeOff {
		if found.DNS.UDP {
			// TCP alone missing fails only truncated answers: a note, never a denial.
			dns.Mode = config.ModeWarn
		}
		rulings = append(rulings, decision.Ruling{Rule: config.RuleNetworkPolicy, Decision: dns,
			Errs: field.ErrorList{field.Forbidden(s.LabelsPath, dnsDetail(s, found.DNS, settings))}})
	}
	return rulings
}

// pod is the subject as coverage matches it.
func (s subject) pod() *Pod {
	pod := &Pod{Namespace: s.Namespace, Labels: s.Labels, Unknown: s.Unknown, ServiceAccount: s.ServiceAccount}
	if pod.ServiceAccount == "" {
		pod.ServiceAccount = "default"
	}
	return pod
}
