package netpol

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/decision"
)

// Constant log keys of this package.
const (
	logKeyNetworkPolicy = "networkPolicy"
	logKeyNamespace     = "namespace"
)

// Checker is what the three handlers share: the policy decision context, the
// index for fast answers, and a live reader to confirm a gap before
// reporting it.
type Checker struct {
	Policies decision.Policies
	Index    *Index
	// Live reads from the API server, bypassing the cache.
	Live client.Reader
}

// decide returns the rule's decision for obj under pol.
func (c *Checker) decide(ctx context.Context, pol *config.Policy, obj metav1.Object) (config.Decision, error) {
	decisions, err := c.Policies.DecideWithPolicy(ctx, pol, obj, config.RuleNetworkPolicy, pol.Config.Rules.NetworkPolicy.Mode)
	if err != nil {
		return config.Decision{}, err
	}
	return decisions[0], nil
}

// undecided answers when the decision itself failed (namespace labels
// unreadable): only a rule that may deny fails the admission; a warn-only
// rule must never block.
func undecided(ctx context.Context, pol *config.Policy, kind string, err error) admission.Response {
	logf.FromContext(ctx).Error(err, "could not decide on NetworkPolicy coverage")
	if pol.Config.Rules.NetworkPolicy.Mode == config.ModeEnforce && !pol.Config.DryRun {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("eksguard could not decide on NetworkPolicy coverage: %w", err))
	}
	return decision.Respond(ctx, kind)
}

// coverageResult is the coverage of one set of pod labels.
type coverageResult struct {
	Covered bool
	// PolicyCount is the number of NetworkPolicies in the namespace.
	PolicyCount int
	// Isolation is what the selecting policies give; set when not Covered.
	Isolation Isolation
}

// coverage answers from the index and, when the index sees a gap, from a
// live list of the namespace's NetworkPolicies, so a policy created a moment
// earlier (same kubectl apply, Helm hooks) counts although the informer has
// not delivered it yet. On a live read error it returns the index's answer
// with the error.
func (c *Checker) coverage(ctx context.Context, namespace string, podLabels labels.Set, coverage config.Coverage) (coverageResult, error) {
	if covered, _ := c.Index.Lookup(namespace, podLabels, coverage); covered {
		return coverageResult{Covered: true}, nil
	}
	var list networkingv1.NetworkPolicyList
	if err := c.Live.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		cached := c.Index.Snapshot(namespace)
		compiled := make([]Compiled, len(cached))
		for i := range cached {
			compiled[i] = cached[i].Compiled
		}
		return coverageResult{PolicyCount: len(cached), Isolation: Isolate(compiled, podLabels)},
			fmt.Errorf("listing the NetworkPolicies of namespace %q: %w", namespace, err)
	}
	compiled := make([]Compiled, 0, len(list.Items))
	for i := range list.Items {
		cp, err := Compile(&list.Items[i])
		if err != nil {
			logf.FromContext(ctx).Error(err, "ignoring NetworkPolicy with an invalid pod selector",
				logKeyNetworkPolicy, client.ObjectKeyFromObject(&list.Items[i]))
			continue
		}
		compiled = append(compiled, cp)
	}
	iso := Isolate(compiled, podLabels)
	return coverageResult{Covered: iso.Satisfies(coverage), PolicyCount: len(list.Items), Isolation: iso}, nil
}

// subject is what the coverage rule checks: a pod, or a workload's pod template.
type subject struct {
	// Kind is the admitted object's kind, as named in the verdict.
	Kind string
	// Description names the subject in messages: "Pod web-1",
	// "Deployment web's pod template".
	Description string
	Namespace   string
	// Labels are the labels the pods have.
	Labels labels.Set
	// LabelsPath is where those labels are in the admitted object.
	LabelsPath *field.Path
}

// review answers for one subject under decision d: silent when the rule is
// off for it, otherwise a finding that the policies do not cover it.
func (c *Checker) review(ctx context.Context, s subject, d config.Decision, coverage config.Coverage) admission.Response {
	finding := decision.Finding{Rule: config.RuleNetworkPolicy, Decision: d}
	if d.Mode == config.ModeOff {
		return decision.Respond(ctx, s.Kind, finding)
	}
	result, err := c.coverage(ctx, s.Namespace, s.Labels, coverage)
	if err != nil {
		logf.FromContext(ctx).Error(err, "could not confirm NetworkPolicy coverage", logKeyNamespace, s.Namespace)
		// A warning can rest on the cached answer; a denial cannot.
		if d.Mode != config.ModeWarn {
			return admission.Errored(http.StatusInternalServerError,
				fmt.Errorf("eksguard could not confirm NetworkPolicy coverage of %s: %w", s.Description, err))
		}
	}
	if !result.Covered {
		finding.Errs = field.ErrorList{field.Forbidden(s.LabelsPath, gapDetail(s, result, coverage, d.Mode))}
	}
	return decision.Respond(ctx, s.Kind, finding)
}

// defaultDenyHint is the usual way to cover every pod of a namespace.
const defaultDenyHint = "a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]"

// gapDetail says, in one line, what is not covered and how to fix it. Warn
// mode gets a shorter variant, without namespace, labels and count, that
// fits a kubectl warning.
func gapDetail(s subject, r coverageResult, coverage config.Coverage, mode config.Mode) string {
	object := s.Description
	if mode != config.ModeWarn {
		object += " (" + labelsText(s.Labels) + ")"
	}
	verb := "select"
	if missing := missingDirections(r.Isolation, coverage); missing != "" {
		verb, object = "isolate", object+" for "+missing
	}
	if mode == config.ModeWarn {
		return fmt.Sprintf("No NetworkPolicy %ss %s; add a default-deny (podSelector: {})", verb, object)
	}
	var gap string
	switch r.PolicyCount {
	case 0:
		gap = fmt.Sprintf("Namespace %s has no NetworkPolicy to %s %s", s.Namespace, verb, object)
	case 1:
		gap = fmt.Sprintf("The only NetworkPolicy in namespace %s does not %s %s", s.Namespace, verb, object)
	default:
		gap = fmt.Sprintf("None of the %d NetworkPolicies in namespace %s %ss %s", r.PolicyCount, s.Namespace, verb, object)
	}
	return fmt.Sprintf("%s; add one that %ss it, e.g. %s", gap, verb, defaultDenyHint)
}

// missingDirections names the directions coverage needs and iso lacks, or
// "" for coverage any.
func missingDirections(iso Isolation, coverage config.Coverage) string {
	var missing []string
	if (coverage == config.CoverageIngress || coverage == config.CoverageBoth) && !iso.Ingress {
		missing = append(missing, "Ingress")
	}
	if (coverage == config.CoverageEgress || coverage == config.CoverageBoth) && !iso.Egress {
		missing = append(missing, "Egress")
	}
	return strings.Join(missing, " and ")
}

func labelsText(set labels.Set) string {
	if len(set) == 0 {
		return "no labels"
	}
	return "labels " + set.String()
}
