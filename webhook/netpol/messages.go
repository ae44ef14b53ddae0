package netpol

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/eksguard/eksguard/config"
)

// defaultDenyHint is the usual way to cover every pod of a namespace.
const defaultDenyHint = "a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]"

// gapDetail says, in one line, what is not covered and how to fix it. Warn
// mode gets a shorter variant, without namespace, labels and count, that
// fits a kubectl warning. Where only NetworkPolicies can apply, it speaks
// of NetworkPolicies; otherwise it names the kinds, the objects that
// isolate part of the way and the one it could not count.
func gapDetail(s subject, w where, r Coverage, settings *config.NetworkPolicySettings, mode config.Mode) string {
	object := s.Description
	if mode != config.ModeWarn {
		object += " (" + labelsText(s.Labels) + ")"
	}
	verb := "select"
	if missing := missingDirections(r.Isolation, settings.Coverage); missing != "" {
		verb, object = "isolate", object+" for "+missing
	}
	onlyNetworkPolicies := r.Kinds&^KindNetworkPolicy.bit == 0
	if mode == config.ModeWarn {
		what := "NetworkPolicy"
		if !onlyNetworkPolicies {
			what = "network policy"
		}
		return fmt.Sprintf("No %s %ss %s; add a default-deny (podSelector: {})", what, verb, object)
	}
	var gap string
	switch {
	case r.Applying == 0:
		gap = fmt.Sprintf("Namespace %s has no NetworkPolicy to %s %s", s.Namespace, verb, object)
	case onlyNetworkPolicies && r.Applying == 1:
		gap = fmt.Sprintf("The only NetworkPolicy in namespace %s does not %s %s", s.Namespace, verb, object)
	case onlyNetworkPolicies:
		gap = fmt.Sprintf("None of the %d NetworkPolicies in namespace %s %ss %s", r.Applying, s.Namespace, verb, object)
	default:
		gap = fmt.Sprintf("None of the %d policies that apply in namespace %s (%s) %ss %s",
			r.Applying, s.Namespace, strings.Join(kindNames(r.Kinds), ", "), verb, object)
	}
	gap += partialDetail(r, settings)
	if p := r.Passed; p != nil {
		gap += fmt.Sprintf("; %s selects it, but its tier passes what the policy does not take (defaultAction: Pass)", p)
	}
	if u := r.Uncertain; u != nil {
		gap += fmt.Sprintf("; %s is not counted: it selects on %s, and %s", u.Policy, u.Key, u.Why)
	}
	if p := r.Unenforced; p != nil {
		gap += fmt.Sprintf("; %s selects it but is not counted: %s", p, unenforcedReason(w))
	}
	return fmt.Sprintf("%s; add one that %ss it, e.g. %s", gap, verb, defaultDenyHint)
}

// partialDetail names what isolates the subject part of the way, when that
// is not a NetworkPolicy: the declared default-deny, or another kind's object.
func partialDetail(r Coverage, settings *config.NetworkPolicySettings) string {
	var parts []string
	if !r.Declared.none() && r.DeclaredBy != "" {
		parts = append(parts, "the cluster's default-deny ("+r.DeclaredBy+") isolates it for "+r.Declared.String())
	} else if !r.Declared.none() {
		what := "the cluster default-deny declared in the eksguard policy"
		switch dd := settings.ClusterDefaultDeny; {
		case dd.Reason != "" && dd.Engine != "":
			what += " (" + dd.Reason + ", by " + string(dd.Engine) + ")"
		case dd.Reason != "":
			what += " (" + dd.Reason + ")"
		case dd.Engine != "":
			what += " (by " + string(dd.Engine) + ")"
		}
		parts = append(parts, what+" isolates it for "+r.Declared.String())
	}
	for _, by := range []struct {
		policy *Compiled
		dir    Isolation
	}{{r.IngressBy, Isolation{Ingress: true}}, {r.EgressBy, Isolation{Egress: true}}} {
		if by.policy != nil && by.policy.Kind != KindNetworkPolicy {
			parts = append(parts, fmt.Sprintf("%s isolates it for %s", by.policy, by.dir))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; only " + strings.Join(parts, " and ")
}

// missingDirections names the directions coverage needs and iso lacks, or
// "" for coverage any.
func missingDirections(iso Isolation, coverage config.Coverage) string {
	var missing []string
	if (coverage == config.CoverageIngress || coverage == config.CoverageBoth) && !iso.Ingress {
		missing = append(missing, "Ingress")
	}
	if (coverage == config.CoverageEgress || coverage == config.CoverageBoth) && !iso.Egress {
		missing = append(missing, "Egress")
	}
	return strings.Join(missing, " and ")
}

// hostNetworkDetail: no policy kind isolates a pod on the host network (the
// AWS controller's pkg/resolvers/endpoints.go skips them, Cilium manages no
// endpoint for them, and the SIG Network API excludes them from subjects),
// so asking for a policy would not help.
func hostNetworkDetail(s subject, mode config.Mode) string {
	if mode == config.ModeWarn {
		return s.Description + " uses hostNetwork: no network policy can isolate it; drop hostNetwork or exempt it"
	}
	return s.Description + " runs on the host network, where no NetworkPolicy or other policy kind applies " +
		"(the VPC CNI agent, Cilium and the SIG Network API leave host-network pods out); " +
		"drop hostNetwork, or exempt it from the networkPolicy rule if it must stay"
}

// unenforcedReason says why a kind is not enforced where the pod runs.
func unenforcedReason(w where) string {
	switch w.Compute {
	case ComputeHybrid:
		return "the pod runs on EKS Hybrid Nodes (" + w.Why + "), where the VPC CNI does not run and only NetworkPolicy is enforced, through Cilium (EKS user guide, hybrid-nodes-cni)"
	case ComputeWindows:
		return "the pod runs on Windows (" + w.Why + "), where only the declared Windows engine's kinds are enforced (rules.networkPolicy.windowsEngine)"
	}
	return "its kind is not enforced where the pod runs"
}

// unpolicedDetail: a Fargate or Windows pod, which no engine polices (EKS
// user guide, cni-network-policy "Considerations": policies apply to EC2
// Linux nodes only, not Fargate or Windows).
func unpolicedDetail(s subject, w where, mode config.Mode) string {
	on, fix := "AWS Fargate", "run it on EC2 nodes (outside the Fargate profiles) if it must be isolated, or exempt it"
	short := "is on Fargate: no policy applies there; exempt it"
	if w.Compute == ComputeWindows {
		on, fix = "Windows", "run a Windows-capable engine and name it in rules.networkPolicy.windowsEngine, or exempt it"
		short = "is on Windows: no policy applies; set windowsEngine or exempt it"
	}
	if mode == config.ModeWarn {
		return s.Description + " " + short
	}
	return fmt.Sprintf("%s runs on %s (%s), where the VPC CNI enforces no NetworkPolicy or other policy kind "+
		"(EKS user guide, cni-network-policy: EC2 Linux nodes only); %s", s.Description, on, w.Why, fix)
}

// standaloneDetail: the VPC CNI agent keys a pod's rules by its name
// without the last "-" segment (aws-network-policy-agent pkg/utils
// GetPodIdentifier), so a pod no controller owns may share another's rules
// or get none; the EKS guide says such pods "can't have network policies
// applied to them" (cni-network-policy "Considerations").
func standaloneDetail(s subject, mode config.Mode) string {
	if mode == config.ModeWarn {
		return s.Description + " has no owner: VPC CNI policies may miss it; run it from a Deployment or Job"
	}
	return s.Description + " has no ownerReferences, and the VPC CNI agent keys policy rules by the pod's name prefix, " +
		"so network policies are not applied to it reliably (EKS user guide, cni-network-policy); create it from a Deployment, StatefulSet or Job"
}

// maxLabelsShown bounds the labels a message lists.
const maxLabelsShown = 20

// labelsText lists the labels, sorted, at most maxLabelsShown of them.
func labelsText(set labels.Set) string {
	if len(set) == 0 {
		return "no labels"
	}
	if len(set) <= maxLabelsShown {
		return "labels " + set.String()
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	shown := make([]string, maxLabelsShown)
	for i, k := range keys[:maxLabelsShown] {
		shown[i] = k + "=" + set[k]
	}
	return fmt.Sprintf("labels %s and %d more", strings.Join(shown, ","), len(set)-maxLabelsShown)
}

// dnsDetail: what blocks the pod's DNS and the policy that opens it. The
// sentence leads with the verdict and the mistake, so a kubectl warning cut
// short still says what is wrong; check, audit and the reports carry the
// fix whole.
func dnsDetail(s subject, path *DNSPath, settings *config.NetworkPolicySettings) string {
	target := &settings.DNS
	if path.UDP {
		return s.Description + " has a DNS path over UDP only: answers too large for UDP fail; add TCP port 53 to the rule that allows UDP port 53"
	}
	b := path.Blocked
	var why, fix string
	switch {
	case b.Deny != nil && b.Deny.Tier == "Admin":
		why = fmt.Sprintf("%s denies it, and the Admin tier is evaluated before any namespace policy, which cannot reopen it", b.Deny)
		fix = fmt.Sprintf("add an Admin-tier Accept for port 53 to namespace %s with a lower priority number than %s's", target.Namespace, b.Deny.Name)
	case b.Deny != nil:
		why = fmt.Sprintf("%s denies it and no namespace policy selects the pod for Egress to allow it", b.Deny)
		fix = "add " + allowDNSPolicy(s, path, target, false)
	case b.ByDefault:
		by := b.DefaultBy
		if by == "" {
			by = defaultDenyName(settings)
		}
		why = "the cluster's default-deny (" + by + ") denies its egress and no policy allows DNS"
		// A policy that selects the pod ends the agent's default-deny in
		// every direction it does not isolate: isolate ingress too.
		fix = "add " + allowDNSPolicy(s, path, target, byAgent(settings.ClusterDefaultDeny))
	default:
		why = b.Mistake
		if b.AfterPass != nil {
			why += fmt.Sprintf(" (%s passes DNS on to the namespace policies)", b.AfterPass)
		}
		fix = "add " + allowDNSPolicy(s, path, target, false)
	}
	return fmt.Sprintf("%s has no DNS path (UDP 53): %s; %s", s.Description, why, fix)
}

// defaultDenyName names the declared default-deny.
func defaultDenyName(settings *config.NetworkPolicySettings) string {
	dd := settings.ClusterDefaultDeny
	switch {
	case dd.Reason != "":
		return dd.Reason
	case dd.Engine != "":
		return string(dd.Engine)
	}
	return "rules.networkPolicy.clusterDefaultDeny"
}

// allowDNSPolicy is the NetworkPolicy that opens DNS for the subject's
// pods, in flow style: to the DNS pods in the DNS namespace (by the label
// the API server sets on every namespace) on UDP and TCP 53, or on EKS
// Auto Mode to any destination on port 53. It selects every pod of the
// namespace only when a namespace-wide policy isolates them already, so
// applying it isolates no pod for egress that was not; isolateIngress
// keeps the pods' ingress isolated too.
func allowDNSPolicy(s subject, path *DNSPath, target *config.DNSSettings, isolateIngress bool) string {
	podSelector := "{}"
	allPods := false
	for _, p := range path.Blocked.Isolating {
		allPods = allPods || p.dns.allPods
	}
	if !allPods {
		podSelector = "{matchLabels: " + flowMap(s.Labels) + "}"
	}
	types := "[Egress]"
	if isolateIngress {
		types = "[Ingress, Egress]"
	}
	to := fmt.Sprintf("to: [{namespaceSelector: {matchLabels: {%s: %s}}, podSelector: {matchLabels: %s}}], ",
		corev1.LabelMetadataName, target.Namespace, flowMap(target.PodLabels))
	if target.AutoMode {
		to = ""
	}
	return fmt.Sprintf("the NetworkPolicy {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: allow-dns, namespace: %s}, "+
		"spec: {podSelector: %s, policyTypes: %s, egress: [{%sports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]}]}}",
		s.Namespace, podSelector, types, to)
}

// flowMap renders labels as a sorted YAML flow mapping.
func flowMap(set map[string]string) string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + set[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
