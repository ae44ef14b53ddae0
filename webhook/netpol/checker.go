package netpol

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
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
func (c *Checker) decide(ctx context.Context, pol *config.Policy, obj decision.Object) (decisions, error) {
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
	var live *liveReadError
	switch {
	case errors.As(err, &live):
		// The synced index has answered; erroring instead would refuse the
		// pod all the same (or, in warn and dry run, block it) while the
		// API server restarts, and hide which policy is missing.
		logf.FromContext(ctx).Error(err, "could not confirm NetworkPolicy coverage live; answering from the cache", logkeys.Namespace, s.Namespace)
	case err != nil:
		return decision.Undecided(ctx, pol, s.Kind, config.RuleNetworkPolicy, "NetworkPolicy coverage", err, d.coverage.Mode)
	}
	if !result.Covered {
		detail := gapDetail(s, result, settings, d.coverage.Mode)
		if live != nil && d.coverage.Mode != config.ModeWarn {
			detail += fmt.Sprintf(" (from eksguard's cache: the API server could not be asked: %v)", live)
		}
		finding.Errs = field.ErrorList{field.Forbidden(s.LabelsPath, detail)}
	}
	return decision.Respond(ctx, s.Kind, finding)
}

// declaredIsolation is the operator's cluster-wide default-deny.
func declaredIsolation(s config.NetworkPolicySettings) Isolation {
	return Isolation{Ingress: s.ClusterDefaultDeny.Ingress, Egress: s.ClusterDefaultDeny.Egress}
}
