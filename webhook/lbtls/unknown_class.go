package lbtls

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/decision"
)

// awsDomains are the domains of the classes and controllers AWS makes
// (service.k8s.aws/nlb, ingress.k8s.aws/alb, gateway.k8s.aws/alb,
// eks.amazonaws.com/nlb, application-networking.k8s.aws/...).
var awsDomains = []string{"k8s.aws", "amazonaws.com"}

// AWSMade reports a class or controller name whose domain (the part before
// "/") is one of AWS's: eksguard does not model it, but it likely builds an
// AWS load balancer.
func AWSMade(name string) bool {
	domain, _, ok := strings.Cut(name, "/")
	if !ok {
		return false
	}
	for _, d := range awsDomains {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// unknownClassRuling is the unknownClasses finding on an object that what
// (e.g. `load balancer class`) of name leaves unjudged, under mode, never
// stronger than the rule's own mode.
func unknownClassRuling(d decision.Decisions, settings config.LoadBalancerTLSSettings, mode config.Mode,
	path *field.Path, what, name string) decision.Ruling {
	setting := "aws"
	if !AWSMade(name) {
		setting = "other"
	}
	return decision.Ruling{
		Rule:     config.RuleLoadBalancerTLS,
		Decision: d.For(weaker(mode, settings.Mode)),
		// Short: a warning is cut at decision.MaxWarningLength.
		Errs: field.ErrorList{field.Forbidden(path, fmt.Sprintf(
			"%s %q unknown: listeners not judged (unknownClasses.%s)", what, name, setting))},
	}
}

// weaker is the weaker of two modes.
func weaker(a, b config.Mode) config.Mode {
	rank := map[config.Mode]int{config.ModeOff: 0, config.ModeWarn: 1, config.ModeEnforce: 2}
	if rank[a] < rank[b] {
		return a
	}
	return b
}
