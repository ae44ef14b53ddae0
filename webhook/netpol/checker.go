package netpol

import (
	"context"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
