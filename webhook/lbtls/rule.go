package lbtls

import (
	"github.com/eksguard/eksguard/config"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Violations is what a pure rule of this package finds for one object.
type Violations struct {
	// Errs are the violations; empty means the object complies.
	Errs field.ErrorList
	// SkippedInternal: an internal load balancer, which SkipInternal leaves alone.
	SkippedInternal bool
}

// check is the order both rules follow: a malformed scheme is the finding;
// an internal load balancer is skipped when settings ask for it; then
// malformed listener configuration is the finding, or else the verdict on
// the listeners.
func check(settings config.LoadBalancerTLSSettings, internal func() (bool, field.ErrorList),
	listeners func() ([]Listener, field.ErrorList), verdict func([]Listener) field.ErrorList) Violations {
	isInternal, errs := internal()
	if len(errs) > 0 {
		return Violations{Errs: errs}
	}
	if isInternal && settings.SkipInternal {
		return Violations{SkippedInternal: true}
	}
	ls, errs := listeners()
	if len(errs) > 0 {
		return Violations{Errs: errs}
	}
	return Violations{Errs: verdict(ls)}
}
