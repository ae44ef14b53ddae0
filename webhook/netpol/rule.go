package netpol

import "github.com/eksguard/eksguard/config"

// Coverage is what every policy that can apply to one pod does to it.
type Coverage struct {
	// Covered: the isolation satisfies the coverage asked for.
	Covered   bool
	Isolation Isolation
	// Declared is the part of Isolation that the operator declared
	// (config ClusterDefaultDeny), or the cluster shows, rather than a
	// policy object gives; DeclaredBy is Want.Source.
	Declared   Isolation
	DeclaredBy string
	// IngressBy and EgressBy are the first policies that isolate the pod in
	// each direction; nil where none does (or only the declaration).
	IngressBy, EgressBy *Compiled
	// Uncertain, when set, is a policy that would isolate the pod further
	// if a label whose value is not known yet matched: it is not counted.
	Uncertain *Uncertainty
	// Passed, when set, is a Calico policy that selects the pod but isolates
	// nothing because its tier passes what the policy does not take.
	Passed *Compiled
	// Unenforced, when set, is a policy that selects the pod but whose kind
	// is not enforced where the pod runs (Want.Kinds).
	Unenforced *Compiled
	// Selected: a NetworkPolicy or ApplicationNetworkPolicy selects the pod,
	// so a default-deny by the agent does not hold (known only with
	// Want.ByAgent).
	Selected bool
	// Applying counts the policy objects that apply in the pod's namespace
	// (its namespace's own, and the cluster-scoped ones whose namespace
	// selection takes it in); Kinds has a bit per kind among them
	// (Kind.bit). Both are complete only when not Covered.
	Applying int
	Kinds    uint
}

// Uncertainty is a policy whose selection of a pod depends on Key.
type Uncertainty struct {
	Policy *Compiled
	Key    string
	// Why the value of Key is unknown.
	Why string
}

// Want is what the rule asks of one pod, and what the data plane gives it
// where the pod runs.
type Want struct {
	Coverage config.Coverage
	// Kinds are the bits of the kinds enforced where the pod runs; zero:
	// every kind.
	Kinds uint
	// Declared is the operator's default-deny where the pod runs.
	Declared Isolation
	// ByAgent: Declared is the VPC CNI agent's (strict mode or a
	// DefaultDeny NodeClass). It holds only while no NetworkPolicy or
	// ApplicationNetworkPolicy selects the pod: the agent default-denies a
	// pod only before a PolicyEndpoint targets it (aws-network-policy-agent
	// pkg/rpc/rpc_handler.go EnforceNpToPod), then programs the pod's
	// policies and opens each direction they do not isolate with a
	// catch-all allow (controllers/policyendpoints_controller.go, "No
	// Ingress rules and no ingress isolation - Appending catch all entry").
	// Cluster-scoped policies do not end it ("No concept of default deny
	// for cluster policies").
	ByAgent bool
	// Source, when set, is what in the cluster shows the default-deny
	// (learnedDefaultDeny); empty: the operator's declaration.
	Source string
}

// CheckCoverage is the coverage rule: policies add up, each isolating the
// pods it selects in its directions, on top of what the data plane gives
// by default. It is pure; the index runs the same evaluation over its
// cached policies.
func CheckCoverage(pod *Pod, policies []*Compiled, want Want, tiers *Tiers) Coverage {
	var e evaluation
	e.start(pod, want, tiers)
	for _, p := range policies {
		if e.add(p) {
			break
		}
	}
	return e.finish()
}

// evaluation accumulates policies for one pod.
type evaluation struct {
	pod    *Pod
	want   Want
	tiers  *Tiers
	result Coverage
	// listed: the pod's labels are listed for compiled selections; false
	// when some label values are unknown (Selection.matchPod decides
	// then).
	listed bool
	labels listedLabels
	// namespace holds the namespace's labels, listed the first time a
	// compiled namespace selector asks (namespaceListed).
	namespace       listedLabels
	namespaceListed bool
	// lastNamespaces is the last compiled namespace selector answered, and
	// inLastNamespaces its answer.
	lastNamespaces   *labelMatcher
	inLastNamespaces bool
	// hotKey is the pod label the index's scan looked up last (see
	// hotEntry.rejects), hotValue and hotPresent what it found.
	hotKey, hotValue string
	hotPresent       bool
	// tier and tierPasses remember the last Calico tier asked about (most
	// policies share one).
	tier       string
	tierPasses bool
}

// passes is Tiers.passes, remembering the last answer.
func (e *evaluation) passes(tier string) bool {
	if tier != e.tier || e.tier == "" {
		e.tier, e.tierPasses = tier, e.tiers.passes(tier)
	}
	return e.tierPasses
}

// isolation is what s isolates under e's tiers: a Calico selection's pass
// isolation where its tier passes what its policies do not take.
func (e *evaluation) isolation(s *Selection) Isolation {
	if c := s.calico; c != nil && e.passes(c.tier) {
		return c.passIsolation
	}
	return s.Isolation
}

// podLabels are the pod's listed labels.
func (e *evaluation) podLabels() labelList { return e.labels.list() }

// inNamespace is Selection.inNamespace, through the compiled matcher when
// it can.
func (e *evaluation) inNamespace(s *Selection) bool {
	if s.namespaces == nil || s.Namespace != "" && s.Namespace != e.pod.Namespace {
		return s.inNamespace(e.pod)
	}
	if s.namespaces != e.lastNamespaces {
		if !e.namespaceListed {
			e.namespace.fill(e.pod.NamespaceLabels)
			e.namespaceListed = true
		}
		e.lastNamespaces, e.inLastNamespaces = s.namespaces, s.namespaces.matches(e.namespace.list())
	}
	return e.inLastNamespaces
}

// match is Selection.match, through the compiled matchers when they can.
func (e *evaluation) match(s *Selection) (match, string) {
	if !e.inNamespace(s) {
		return noMatch, ""
	}
	return e.matchPod(s)
}

// matchPod is Selection.matchPod, through the compiled matcher when it can.
func (e *evaluation) matchPod(s *Selection) (match, string) {
	if s.pods != nil && e.listed && !s.attributes {
		if s.pods.matches(e.podLabels()) {
			return matches, ""
		}
		return noMatch, ""
	}
	return s.matchPod(e.pod)
}

// start begins the evaluation of pod. A default-deny by the agent is held
// back until finish knows whether a namespace policy selects the pod.
func (e *evaluation) start(pod *Pod, want Want, tiers *Tiers) {
	*e = evaluation{pod: pod, want: want, tiers: tiers}
	if !want.ByAgent {
		e.result = Coverage{Isolation: want.Declared, Declared: want.Declared, Covered: want.Declared.Satisfies(want.Coverage)}
	}
	if len(pod.Unknown) == 0 {
		e.listed = true
		e.labels.fill(pod.Labels)
	}
}

// finish adds the agent's default-deny when no namespace policy selects the pod.
func (e *evaluation) finish() Coverage {
	r := &e.result
	if e.want.ByAgent && !r.Selected && !r.Covered {
		r.Declared, r.DeclaredBy = e.want.Declared, e.want.Source
		r.Isolation = r.Isolation.union(r.Declared)
		r.Covered = r.Isolation.Satisfies(e.want.Coverage)
	}
	return *r
}

// add counts policy p and reports whether the pod is now covered.
func (e *evaluation) add(p *Compiled) bool {
	r := &e.result
	if r.Covered {
		return true
	}
	if e.want.Kinds != 0 && e.want.Kinds&p.Kind.bit == 0 {
		if r.Unenforced == nil && e.selects(p) {
			r.Unenforced = p
		}
		return false
	}
	// Under the agent's default-deny, whether a namespace policy selects
	// the pod matters even where it gains nothing.
	watchSelected := e.want.ByAgent && !r.Selected && p.Kind.endsAgentDefault()
	applies := false
	for i := range p.Selections {
		s := &p.Selections[i]
		if !e.inNamespace(s) {
			continue
		}
		applies = true
		gained := r.Isolation.union(e.isolation(s))
		if gained == r.Isolation {
			if watchSelected {
				if m, _ := e.matchPod(s); m == matches {
					r.Selected, watchSelected = true, false
				}
			}
			if r.Passed == nil && s.calico != nil && !s.Isolation.none() && e.passes(s.calico.tier) {
				if m, _ := e.matchPod(s); m == matches {
					r.Passed = p
				}
			}
			continue
		}
		switch m, key := e.matchPod(s); m {
		case matches:
			if watchSelected {
				r.Selected, watchSelected = true, false
			}
			if gained.Ingress && !r.Isolation.Ingress {
				r.IngressBy = p
			}
			if gained.Egress && !r.Isolation.Egress {
				r.EgressBy = p
			}
			r.Isolation = gained
			if gained.Satisfies(e.want.Coverage) {
				r.Covered = true
				return true
			}
		case mayMatch:
			if r.Uncertain == nil {
				r.Uncertain = &Uncertainty{Policy: p, Key: key, Why: e.pod.unknownReason(key)}
			}
		}
	}
	if applies {
		// Counted once covered is ruled out: messages read them then.
		r.Applying++
		r.Kinds |= p.Kind.bit
	}
	return false
}

// selects reports whether some selection of p takes the pod.
func (e *evaluation) selects(p *Compiled) bool {
	for i := range p.Selections {
		if s := &p.Selections[i]; e.inNamespace(s) {
			if m, _ := e.matchPod(s); m == matches {
				return true
			}
		}
	}
	return false
}

// kindNames names the kinds of bits, in Kinds order.
func kindNames(bits uint) []string {
	var names []string
	for i, k := range Kinds {
		if bits&(1<<i) != 0 {
			names = append(names, k.Name)
		}
	}
	return names
}
