package config

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Policy is a validated Config compiled for fast lookups. It is immutable:
// a reload builds a new Policy and swaps it in whole.
type Policy struct {
	Config Config
	// Hash identifies the configuration content (sha256 of the canonical JSON).
	Hash string
	// Source says where the configuration came from ("defaults" or namespace/name@resourceVersion).
	Source string

	excludedNamespaces        sets.Set[string]
	excludedNamespaceSelector labels.Selector
	exemptions                []compiledExemption
	annotationNamespaces      sets.Set[string]
	annotationSelector        labels.Selector
}

type compiledExemption struct {
	name              string
	rules             sets.Set[RuleName]
	namespaces        sets.Set[string]
	namespaceSelector labels.Selector
	objectSelector    labels.Selector
	expires           time.Time // zero: never
}

// Subject is what the policy needs to know of an object under admission.
type Subject struct {
	Namespace string
	// NamespaceLabels are the labels of the object's namespace; only
	// consulted when Policy.NeedsNamespaceLabels reports true.
	NamespaceLabels labels.Set
	Labels          labels.Set
	Annotations     map[string]string
}

// Decision is the effective mode of one rule for one subject.
type Decision struct {
	Mode Mode
	// Excluded is set when the namespace is out of scope.
	Excluded bool
	// Exemption names the exemption that lifted the rule; "annotation" for
	// an ExemptAnnotation honoured in an allowed namespace.
	Exemption string
}

// AnnotationExemption is the Decision.Exemption value for an object exempted
// by its own ExemptAnnotation.
const AnnotationExemption = "annotation"

// Compile validates cfg and builds its Policy. ownNamespace (eksguard's own
// namespace) is always excluded.
func Compile(cfg Config, ownNamespace string) (*Policy, error) {
	if errs := Validate(&cfg); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	p := &Policy{
		Config:               cfg,
		Hash:                 hashOf(cfg),
		excludedNamespaces:   sets.New(cfg.Scope.ExcludedNamespaces...),
		annotationNamespaces: sets.New(cfg.AnnotationExemptions.Namespaces...),
	}
	if ownNamespace != "" {
		p.excludedNamespaces.Insert(ownNamespace)
	}
	var errs field.ErrorList
	p.excludedNamespaceSelector = selector(cfg.Scope.ExcludedNamespaceSelector, field.NewPath("scope", "excludedNamespaceSelector"), &errs)
	p.annotationSelector = selector(cfg.AnnotationExemptions.NamespaceSelector, field.NewPath("annotationExemptions", "namespaceSelector"), &errs)
	for i, e := range cfg.Exemptions {
		path := field.NewPath("exemptions").Index(i)
		ce := compiledExemption{
			name:              e.Name,
			rules:             sets.New(e.Rules...),
			namespaces:        sets.New(e.Namespaces...),
			namespaceSelector: selector(e.NamespaceSelector, path.Child("namespaceSelector"), &errs),
			objectSelector:    selector(e.ObjectSelector, path.Child("objectSelector"), &errs),
		}
		if e.Expires != "" {
			t, err := ParseExpiry(e.Expires)
			if err != nil {
				errs = append(errs, field.Invalid(path.Child("expires"), e.Expires, err.Error()))
			}
			ce.expires = t
		}
		p.exemptions = append(p.exemptions, ce)
	}
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return p, nil
}

// selector converts an optional LabelSelector; nil stays nil (no selector).
func selector(ls *metav1.LabelSelector, path *field.Path, errs *field.ErrorList) labels.Selector {
	if ls == nil {
		return nil
	}
	s, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		*errs = append(*errs, field.Invalid(path, ls, err.Error()))
		return nil
	}
	return s
}

// ParseExpiry accepts a date (2006-01-02, meaning the end of that day UTC)
// or an RFC 3339 time.
func ParseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24 * time.Hour), nil
	}
	return time.Parse(time.RFC3339, s)
}

// ExpiredExemptions names the exemptions whose expiry has passed at now.
func (p *Policy) ExpiredExemptions(now time.Time) []string {
	var names []string
	for _, e := range p.exemptions {
		if e.expired(now) {
			names = append(names, e.name)
		}
	}
	return names
}

// Summary describes the policy in one line, for events and logs.
func (p *Policy) Summary(now time.Time) string {
	r := p.Config.Rules
	var b strings.Builder
	fmt.Fprintf(&b, "%s (hash %.12s): seccomp=%s (unconfined=%s), networkPolicy=%s (coverage=%s), loadBalancerTLS=%s",
		p.Source, p.Hash, r.Seccomp.Mode, r.Seccomp.Unconfined, r.NetworkPolicy.Mode, r.NetworkPolicy.Coverage, r.LoadBalancerTLS.Mode)
	if dd := r.NetworkPolicy.ClusterDefaultDeny; dd.Declared() {
		fmt.Fprintf(&b, ", declared cluster default-deny (ingress=%t, egress=%t", dd.Ingress, dd.Egress)
		if dd.Engine != "" {
			fmt.Fprintf(&b, ", engine=%s", dd.Engine)
		}
		b.WriteString(")")
	}
	if p.Config.DryRun {
		b.WriteString(", dryRun (enforce acts as warn)")
	}
	fmt.Fprintf(&b, ", %d exemption(s)", len(p.exemptions))
	if expired := p.ExpiredExemptions(now); len(expired) > 0 {
		fmt.Fprintf(&b, ", expired: %s", strings.Join(expired, ", "))
	}
	return b.String()
}

// NeedsNamespaceLabels reports whether any decision depends on namespace
// labels, so handlers only look them up when they matter.
func (p *Policy) NeedsNamespaceLabels() bool {
	if p.excludedNamespaceSelector != nil || p.annotationSelector != nil {
		return true
	}
	for _, e := range p.exemptions {
		if e.namespaceSelector != nil {
			return true
		}
	}
	return false
}

// Decide returns the effective mode of rule for s, starting from the
// configured mode of that finding. Order: off stays off; out-of-scope
// namespaces and exemptions turn the rule off; dry-run turns enforce into warn.
func (p *Policy) Decide(rule RuleName, configured Mode, s Subject, now time.Time) Decision {
	if configured == ModeOff {
		return Decision{Mode: ModeOff}
	}
	if p.excludedNamespaces.Has(s.Namespace) || matches(p.excludedNamespaceSelector, s.NamespaceLabels) {
		return Decision{Mode: ModeOff, Excluded: true}
	}
	for _, e := range p.exemptions {
		if e.applies(rule, s, now) {
			return Decision{Mode: ModeOff, Exemption: e.name}
		}
	}
	if p.annotationExempts(rule, s) {
		return Decision{Mode: ModeOff, Exemption: AnnotationExemption}
	}
	if p.Config.DryRun && configured == ModeEnforce {
		return Decision{Mode: ModeWarn}
	}
	return Decision{Mode: configured}
}

func (e *compiledExemption) applies(rule RuleName, s Subject, now time.Time) bool {
	if !e.rules.Has(rule) {
		return false
	}
	if e.expired(now) {
		return false
	}
	if !e.namespaces.Has(s.Namespace) && !matches(e.namespaceSelector, s.NamespaceLabels) {
		return false
	}
	return e.objectSelector == nil || e.objectSelector.Matches(s.Labels)
}

func (e *compiledExemption) expired(now time.Time) bool {
	return !e.expires.IsZero() && !now.Before(e.expires)
}

func (p *Policy) annotationExempts(rule RuleName, s Subject) bool {
	value, ok := s.Annotations[ExemptAnnotation]
	if !ok {
		return false
	}
	if !p.annotationNamespaces.Has(s.Namespace) && !matches(p.annotationSelector, s.NamespaceLabels) {
		return false
	}
	for _, r := range strings.Split(value, ",") {
		if RuleName(strings.TrimSpace(r)) == rule {
			return true
		}
	}
	return false
}

// matches treats a nil selector as matching nothing.
func matches(sel labels.Selector, set labels.Set) bool {
	return sel != nil && sel.Matches(set)
}

// ExcludedNamespaces lists, sorted, the namespaces out of scope, eksguard's
// own included: for renderings of the policy outside eksguard (an
// admission policy in the API server).
func (p *Policy) ExcludedNamespaces() []string { return sets.List(p.excludedNamespaces) }

// ExemptionsOf are the configured exemptions that lift rule at now, and the
// time the first of them expires (zero when none will): a rendering of the
// policy holds until then.
func (p *Policy) ExemptionsOf(rule RuleName, now time.Time) (active []Exemption, next time.Time) {
	for i := range p.exemptions {
		e := &p.exemptions[i]
		if !e.rules.Has(rule) || e.expired(now) {
			continue
		}
		active = append(active, p.Config.Exemptions[i])
		if !e.expires.IsZero() && (next.IsZero() || e.expires.Before(next)) {
			next = e.expires
		}
	}
	return active, next
}
