package lbtls

import (
	"context"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
)

// NewServiceHandler judges Services on CREATE and UPDATE (see unchanged).
func NewServiceHandler(decider decision.Decider) admit.Answerer {
	return newHandler(Services, decider, decodeService,
		func(s *corev1.Service) (*metav1.ObjectMeta, any) { return &s.ObjectMeta, s.Spec }, judgeService)
}

func judgeService(ctx context.Context, r *admit.Review[corev1.Service]) decision.Answer {
	svc := r.Object
	settings := r.Policy.Config.Rules.LoadBalancerTLS
	if r.Operation == admissionv1.Create {
		svc = WithDefaultClass(svc, settings)
	}
	log := logf.FromContext(ctx)
	owner := OwnerOf(svc)
	var unknown config.Mode
	switch owner {
	case OwnerNone:
		return r.Respond(ctx)
	case OwnerOtherClass:
		unknown = settings.UnknownClasses.Other
		if AWSMade(*svc.Spec.LoadBalancerClass) {
			unknown = settings.UnknownClasses.AWS
		}
		if unknown == config.ModeOff {
			log.V(1).Info("skipping Service of another load balancer class", logkeys.LoadBalancerClass, *svc.Spec.LoadBalancerClass)
			return r.Respond(ctx)
		}
	}
	d, err := r.Decide(ctx, svc, config.RuleLoadBalancerTLS)
	if err != nil {
		return r.Undecided(ctx, err)
	}
	if owner == OwnerOtherClass {
		return r.Respond(ctx, unknownClassRuling(d, settings, unknown, loadBalancerClassPath, "class", *svc.Spec.LoadBalancerClass))
	}
	ruling := decision.Ruling{Rule: config.RuleLoadBalancerTLS, Decision: d.For(settings.Mode)}
	if ruling.Decision.Mode != config.ModeOff {
		result := CheckService(svc, settings)
		ruling.Errs = result.Errs
		if result.SkippedInternal {
			log.V(1).Info("skipping internal load balancer", logkeys.Owner, owner)
		}
	}
	return r.Respond(ctx, ruling)
}

var loadBalancerClassPath = field.NewPath("spec", "loadBalancerClass")
