package netpol

import "github.com/eksguard/eksguard/config"

// Coverage is what every policy that can apply to one pod does to it.
type Coverage struct {
	// Covered: the isolation satisfies the coverage asked for.
	Covered   bool
	Isolation Isolation
	// Declared is the part of Isolation that the operator declared
	// (config ClusterDefaultDeny) rather than a policy object gives.
	Declared Isolation
	// IngressBy and EgressBy are the first policies that isolate the pod in
	// each direction; nil where none does (or only the declaration).
	IngressBy, EgressBy *Compiled
	// Uncertain, when set, is a policy that would isolate the pod further
	// if a label whose value is not known yet matched: it is not counted.
	Uncertain *Uncertainty
	// Passed, when set, is a Calico policy that selects the pod but isolates
	// nothing because its tier passes what the policy does not take.
	Passed *Compiled
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

// CheckCoverage is the coverage rule: policies add up, each isolating the pods it
// selects in its directions, on top of what the operator declared. It is
// pure; the index runs the same evaluation over its cached policies.
func CheckCoverage(pod *Pod, policies []*Compiled, want config.Coverage, declared Isolation, tiers *Tiers) Coverage {
	var e evaluation
	e.start(pod, want, declared, tiers)
	for _, p := range policies {
		if e.add(p) {
			break
		}
	}
	return e.result
}

// evaluation accumulates policies for one pod.
type evaluation struct {
	pod    *Pod
	want   config.Coverage
	tiers  *Tiers
	result Coverage
	// listed: the pod's labels are listed for compiled selections, in
	// small (most pods) or large; false when some label values are
	// unknown (Selection.matchPod decides then). No slice of e points into
	// e, so e stays on the caller's stack.
	listed bool
	small  [8]labelPair
	nsmall int
	large  labelList
}

// podLabels are the pod's listed labels.
func (e *evaluation) podLabels() labelList {
	if e.large != nil {
		return e.large
	}
	return e.small[:e.nsmall]
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

// start begins the evaluation of pod.
func (e *evaluation) start(pod *Pod, want config.Coverage, declared Isolation, tiers *Tiers) {
	*e = evaluation{pod: pod, want: want, tiers: tiers, result: Coverage{
		Isolation: declared, Declared: declared, Covered: declared.Satisfies(want),
	}}
	if len(pod.Unknown) == 0 {
		e.listed = true
		if len(pod.Labels) <= len(e.small) {
			e.nsmall = len(listLabels(pod.Labels, e.small[:0]))
		} else {
			e.large = listLabels(pod.Labels, nil)
		}
	}
}

// add counts policy p and reports whether the pod is now covered.
func (e *evaluation) add(p *Compiled) bool {
	r := &e.result
	if r.Covered {
		return true
	}
	applies := false
	for i := range p.Selections {
		s := &p.Selections[i]
		if !s.inNamespace(e.pod) {
			continue
		}
		applies = true
		gained := r.Isolation.union(s.isolation(e.tiers))
		if gained == r.Isolation {
			if r.Passed == nil && s.tier != "" && !s.Isolation.none() && e.tiers.passes(s.tier) {
				if m, _ := e.matchPod(s); m == matches {
					r.Passed = p
				}
			}
			continue
		}
		switch m, key := e.matchPod(s); m {
		case matches:
			if gained.Ingress && !r.Isolation.Ingress {
				r.IngressBy = p
			}
			if gained.Egress && !r.Isolation.Egress {
				r.EgressBy = p
			}
			r.Isolation = gained
			if gained.Satisfies(e.want) {
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
