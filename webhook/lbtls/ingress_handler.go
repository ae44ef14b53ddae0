package lbtls

import (
	"context"
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/logkeys"
	"github.com/eksguard/eksguard/webhook/decision"
)

// NewIngressHandler judges Ingresses on CREATE and UPDATE (see unchanged),
// each with the other members of its ALB group, which groups reads (the
// manager's cache, indexed by IngressGroupNameField).
func NewIngressHandler(decider decision.Decider, groups client.Reader) admission.Handler {
	return newHandler(networkingv1.SchemeGroupVersion.WithKind(kindIngress), "networking.k8s.io/v1 Ingresses", decider,
		func(i *networkingv1.Ingress) (*metav1.ObjectMeta, any) { return &i.ObjectMeta, i.Spec }, ingressJudge{groups: groups}.judge)
}

// ingressJudge judges an Ingress with its group.
type ingressJudge struct {
	groups client.Reader
}

func (j ingressJudge) judge(ctx context.Context, r decision.Review[networkingv1.Ingress]) admission.Response {
	ing := r.Object
	if ing.Namespace == "" {
		ing.Namespace = r.Namespace
	}
	settings := r.Policy.Config.Rules.LoadBalancerTLS
	alb := IsALB(ing, settings)
	if !alb && settings.OtherIngressClasses != config.OtherIngressRequireTLS {
		return decision.Respond(ctx, kindIngress)
	}
	d, err := r.Decider.Decide(ctx, r.Policy, ing, config.RuleLoadBalancerTLS, settings.Mode)
	if err != nil {
		return decision.Undecided(ctx, r.Policy, kindIngress, config.RuleLoadBalancerTLS, ruleWhat, err, settings.Mode)
	}
	finding := decision.Finding{Rule: config.RuleLoadBalancerTLS, Decision: d}
	if d.Mode != config.ModeOff {
		if !alb {
			finding.Errs = IngressTLSCoverage(ing)
		} else {
			members, err := j.groupMembers(ctx, ing, settings)
			if err != nil {
				return decision.Undecided(ctx, r.Policy, kindIngress, config.RuleLoadBalancerTLS, ruleWhat, err, d.Mode)
			}
			result := CheckIngressGroup(members, settings)
			finding.Errs = result.Errs
			if result.SkippedInternal {
				logf.FromContext(ctx).V(1).Info("skipping internal ALB", logkeys.IngressGroup, GroupName(ing))
			}
		}
	}
	return decision.Respond(ctx, kindIngress, finding)
}

// groupMembers returns ing followed by the other ALB Ingresses of its group
// (any namespace: the LBC's group names are cluster-wide), sorted by
// namespace/name; Ingresses being deleted have left the group.
func (j ingressJudge) groupMembers(ctx context.Context, ing *networkingv1.Ingress, settings config.LoadBalancerTLSSettings) ([]*networkingv1.Ingress, error) {
	members := []*networkingv1.Ingress{ing}
	group := GroupName(ing)
	if group == "" {
		return members, nil
	}
	var list networkingv1.IngressList
	if err := j.groups.List(ctx, &list, client.MatchingFields{IngressGroupNameField: group}); err != nil {
		return nil, fmt.Errorf("listing the Ingresses of ALB group %q: %w", group, err)
	}
	self := ingressKey(ing)
	for i := range list.Items {
		m := &list.Items[i]
		if ingressKey(m) == self || m.DeletionTimestamp != nil || !IsALB(m, settings) {
			continue
		}
		members = append(members, m)
	}
	slices.SortFunc(members[1:], func(a, b *networkingv1.Ingress) int { return strings.Compare(ingressKey(a), ingressKey(b)) })
	return members, nil
}
