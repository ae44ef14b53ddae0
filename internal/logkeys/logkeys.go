// Package logkeys holds the structured log keys of eksguard's packages, so
// log queries do not depend on message wording and one key means one thing.
package logkeys

const (
	// Kind is a policy kind's name (netpol.Kind.Name) or an object kind.
	Kind = "kind"
	// Policy is a policy object's namespace/name.
	Policy = "policy"
	// Namespace is a namespace name.
	Namespace = "namespace"
	// Resource is a group/version/resource.
	Resource = "resource"
)
