package netpol

import "github.com/eksguard/eksguard/config"

// Isolation is the set of directions in which a pod is isolated
// (default-deny).
type Isolation struct {
	Ingress bool
	Egress  bool
}

// union adds the directions of other.
func (i Isolation) union(other Isolation) Isolation {
	return Isolation{Ingress: i.Ingress || other.Ingress, Egress: i.Egress || other.Egress}
}

// none reports whether no direction is isolated.
func (i Isolation) none() bool { return !i.Ingress && !i.Egress }

// Satisfies reports whether the isolation is what coverage asks for. An
// empty coverage is the default, any; config validation rejects other values.
func (i Isolation) Satisfies(coverage config.Coverage) bool {
	switch coverage {
	case config.CoverageIngress:
		return i.Ingress
	case config.CoverageEgress:
		return i.Egress
	case config.CoverageBoth:
		return i.Ingress && i.Egress
	default:
		return i.Ingress || i.Egress
	}
}

// String names the directions: "Ingress", "Egress", "Ingress and Egress" or "".
func (i Isolation) String() string {
	switch {
	case i.Ingress && i.Egress:
		return "Ingress and Egress"
	case i.Ingress:
		return "Ingress"
	case i.Egress:
		return "Egress"
	}
	return ""
}
