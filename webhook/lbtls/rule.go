package lbtls

import "k8s.io/apimachinery/pkg/util/validation/field"

// Result is what a pure rule of this package finds for one object.
type Result struct {
	// Errs are the violations; empty means the object complies.
	Errs field.ErrorList
	// SkippedInternal: an internal load balancer, which SkipInternal leaves alone.
	SkippedInternal bool
}
