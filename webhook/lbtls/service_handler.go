package lbtls

import (
	"context"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/logkeys"
	"github.com/eksguard/eksguard/webhook/decision"
)

// NewServiceHandler judges Services on CREATE and UPDATE (see unchanged).
func NewServiceHandler(decider decision.Decider) admission.Handler {
	return newHandler(corev1.SchemeGroupVersion.WithKind(kindService), "v1 Services", decider, decodeService,
		func(s *corev1.Service) (*metav1.ObjectMeta, any) { return &s.ObjectMeta, s.Spec }, judgeService)
}

func judgeService(ctx context.Context, r decision.Review[corev1.Service]) admission.Response {
	svc := r.Object
	if svc.Namespace == "" {
		svc.Namespace = r.Namespace
	}
	settings := r.Policy.Config.Rules.LoadBalancerTLS
	if settings.LBCServiceMutator && r.Operation == admissionv1.Create {
		svc = WithLBCServiceMutator(svc)
	}
	log := logf.FromContext(ctx)
	owner := OwnerOf(svc)
	switch owner {
	case OwnerNone:
		return decision.Respond(ctx, kindService)
	case OwnerOtherClass:
		log.V(1).Info("skipping Service of another load balancer class", logkeys.LoadBalancerClass, *svc.Spec.LoadBalancerClass)
		return decision.Respond(ctx, kindService)
	}
	d, err := r.Decider.Decide(ctx, r.Policy, svc, config.RuleLoadBalancerTLS, settings.Mode)
	if err != nil {
		return decision.Undecided(ctx, r.Policy, kindService, config.RuleLoadBalancerTLS, ruleWhat, err, settings.Mode)
	}
	finding := decision.Finding{Rule: config.RuleLoadBalancerTLS, Decision: d}
	if d.Mode != config.ModeOff {
		result := CheckService(svc, settings)
		finding.Errs = result.Errs
		if result.SkippedInternal {
			log.V(1).Info("skipping internal load balancer", logkeys.Owner, owner)
		}
	}
	return decision.Respond(ctx, kindService, finding)
}
