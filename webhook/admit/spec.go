package admit

import (
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/resource"
)

// Spec is what the route table declares of a route, once: the handler,
// the webhook's failure policy and Undecided all read it.
type Spec struct {
	// Rule is the eksguard rule the route's findings belong to.
	Rule config.RuleName
	// Kinds are judged (a Resource with a "/" names a subresource); another
	// kind is a bad request, another subresource of a served kind passes.
	Kinds []resource.Kind
	// Operations are judged; any other is admitted silently.
	Operations []admissionregistrationv1.OperationType
	// Modes are the configured finding modes that can make the route deny;
	// nil for a route that only ever warns.
	Modes func(config.RuleSettings) []config.Mode
}

// MayDeny reports whether the route can deny under pol: one of its modes
// enforces and no dry run is on.
func (s *Spec) MayDeny(pol *config.Policy) bool {
	return s.Modes != nil && decision.MayDeny(pol, s.Modes(pol.Config.Rules)...)
}

// WarnOnly reports a route that never denies, whatever the mode.
func (s *Spec) WarnOnly() bool { return s.Modes == nil }

// judges reports whether the route judges op.
func (s *Spec) judges(op string) bool {
	for _, o := range s.Operations {
		if string(o) == op {
			return true
		}
	}
	return false
}

// Admits reports whether the route sees a CREATE of gvk.
func (s *Spec) Admits(gvk schema.GroupVersionKind) bool {
	if !s.judges(string(admissionregistrationv1.Create)) {
		return false
	}
	for _, k := range s.Kinds {
		if k.GVK == gvk {
			return true
		}
	}
	return false
}

// serves reports whether gvk is a kind of the route, and whether the
// route judges it under subresource.
func (s *Spec) serves(gvk schema.GroupVersionKind, subresource string) (kind, judged bool) {
	for _, k := range s.Kinds {
		if k.GVK != gvk {
			continue
		}
		kind = true
		if _, sub, _ := strings.Cut(k.Resource, "/"); sub == subresource {
			return true, true
		}
	}
	return kind, false
}

// Serves names the route's kinds in errors: "v1 pods, apps/v1 deployments".
func (s *Spec) Serves() string {
	names := make([]string, len(s.Kinds))
	for i, k := range s.Kinds {
		names[i] = k.GVK.GroupVersion().String() + " " + k.Resource
	}
	return strings.Join(names, ", ")
}
