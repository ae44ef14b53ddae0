package netpol

// The DNS step of "default deny, then allow DNS, then allow specific
// traffic": a pod whose egress is restricted needs a UDP/53 path to the
// cluster's DNS, or its first lookup fails. The path is walked as the VPC
// CNI agent walks a flow (aws-network-policy-agent
// pkg/ebpf/c/tc.v4egress.bpf.c evaluateFlow): the Admin tier of the AWS
// ClusterNetworkPolicy first, then the namespace policies
// (NetworkPolicy, ApplicationNetworkPolicy) that isolate the pod for
// egress, then the Baseline tier, then the pod's default (allow, or the
// agent's default-deny).

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// dnsPort is the DNS port; the CoreDNS add-on's containers name it "dns"
// (UDP) and "dns-tcp" (TCP), which named-port rules resolve against.
const (
	dnsPort        = 53
	dnsPortName    = "dns"
	dnsTCPPortName = "dns-tcp"
)

// dnsPolicy is what the DNS step keeps of a policy: its egress rules that
// can carry traffic to port 53, in order. For a namespace policy it is set
// only when the policy isolates egress (then even with no rules: it
// isolates and allows nothing); for a cluster policy, when it has such
// rules.
type dnsPolicy struct {
	priority int32
	rules    []dnsRule
	// allPods: a namespace policy that selects every pod of its namespace.
	allPods bool
	// raw are a NetworkPolicy's egress rules that can carry DNS, as the
	// cache keeps them (shared, like the policy, by every NetworkPolicy
	// that has the same; see networkPolicyDNS).
	raw []networkingv1.NetworkPolicyEgressRule
}

// sharedNetworkPolicyDNS interns NetworkPolicies' DNS summaries.
var sharedNetworkPolicyDNS internTable[dnsPolicy]

// networkPolicyDNS is the DNS summary of a NetworkPolicy that isolates
// egress, shared with every NetworkPolicy whose DNS-relevant egress rules
// and podSelector emptiness are the same. Its raw rules replace the
// policy's in the cache (TrimNetworkPolicy), so equal rules are held once.
func networkPolicyDNS(np *networkingv1.NetworkPolicy) (*dnsPolicy, error) {
	var relevant []networkingv1.NetworkPolicyEgressRule
	for _, r := range np.Spec.Egress {
		if npDNSPorts(r.Ports).relevant() {
			relevant = append(relevant, r)
		}
	}
	allPods := len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0
	key, err := json.Marshal(struct {
		AllPods bool                                   `json:"a"`
		Rules   []networkingv1.NetworkPolicyEgressRule `json:"r"`
	}{allPods, relevant})
	if err != nil {
		return nil, err
	}
	return sharedNetworkPolicyDNS.intern(string(key), func() (*dnsPolicy, error) {
		d, err := compileNamespaceDNS(&np.Spec.PodSelector, networkPolicyEgress(relevant))
		if err != nil {
			return nil, err
		}
		for _, r := range relevant {
			d.raw = append(d.raw, *r.DeepCopy())
		}
		return d, nil
	})
}

// dnsAction is what a matching rule does.
type dnsAction uint8

const (
	dnsAllow dnsAction = iota // a namespace policy's rule, or Accept
	dnsDeny
	dnsPass
)

// dnsRule is one egress rule as the DNS step reads it.
type dnsRule struct {
	action dnsAction
	ports  dnsPorts
	// peers are the rule's destinations; nil is every destination.
	peers []dnsPeer
}

// dnsPorts are the protocols to port 53 a rule's ports admit.
type dnsPorts struct {
	udp, tcp bool
	// tcpByDefault: an entry names port 53 without a protocol, which
	// means TCP (k8s.io/kubernetes pkg/apis/networking/v1 defaults.go
	// SetDefaults_NetworkPolicyPort; the AWS controller reads a missing
	// protocol as TCP too, pkg/resolvers applicationnetworkpolicy_resolver.go).
	tcpByDefault bool
}

func (p dnsPorts) admits(proto corev1.Protocol) bool {
	if proto == corev1.ProtocolUDP {
		return p.udp
	}
	return p.tcp
}

// dnsDest is the kind of a destination.
type dnsDest uint8

const (
	// destPods: pods, of namespaces (or of the policy's own namespace).
	destPods dnsDest = iota
	// destAnywhere: 0.0.0.0/0 or ::/0 without exceptions.
	destAnywhere
	// destNetwork: another CIDR; whether it holds the resolver's address
	// is not known statically, so it is given the benefit of the doubt.
	destNetwork
	// destDomains: domainNames, which never allow the lookups they need
	// (network-policy-api npeps/npep-133-fqdn-egress-selector.md).
	destDomains
)

// dnsPeer is one destination of a rule.
type dnsPeer struct {
	dest dnsDest
	// namespaces selects namespaces by their labels; nil: the policy's own
	// namespace (a NetworkPolicy podSelector peer alone).
	namespaces labels.Selector
	// pods selects pods; nil: every pod.
	pods labels.Selector
}

// dnsTarget is the cluster's DNS as the policy in force describes it.
type dnsTarget struct {
	Namespace       string
	NamespaceLabels labels.Set
	PodLabels       labels.Set
	// AutoMode: DNS is served on each node, not by pods.
	AutoMode bool
}

// reaches reports whether the peer, of a policy in policyNamespace, takes
// in the DNS target.
func (p *dnsPeer) reaches(t *dnsTarget, policyNamespace string) bool {
	switch p.dest {
	case destAnywhere, destNetwork:
		return true
	case destDomains:
		return false
	}
	if t.AutoMode {
		return false
	}
	if p.namespaces == nil {
		if policyNamespace != t.Namespace {
			return false
		}
	} else if !p.namespaces.Matches(t.NamespaceLabels) {
		return false
	}
	return p.pods == nil || p.pods.Matches(t.PodLabels)
}

// matches reports whether the rule takes DNS over proto to the target.
func (r *dnsRule) matches(proto corev1.Protocol, t *dnsTarget, policyNamespace string) bool {
	if !r.ports.admits(proto) {
		return false
	}
	if r.peers == nil {
		return true
	}
	for i := range r.peers {
		if r.peers[i].reaches(t, policyNamespace) {
			return true
		}
	}
	return false
}

// npDNSPorts reads NetworkPolicyPorts: empty is every port; a port 53
// entry, a range holding 53, or the DNS pods' named ports match.
func npDNSPorts(ports []networkingv1.NetworkPolicyPort) dnsPorts {
	if len(ports) == 0 {
		return dnsPorts{udp: true, tcp: true}
	}
	var out dnsPorts
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		hit := false
		switch {
		case p.Port == nil:
			hit = true
		case p.Port.Type == intstr.String:
			hit = (p.Port.StrVal == dnsPortName && proto == corev1.ProtocolUDP) || (p.Port.StrVal == dnsTCPPortName && proto == corev1.ProtocolTCP)
		case p.EndPort != nil:
			hit = p.Port.IntVal <= dnsPort && dnsPort <= *p.EndPort
		default:
			hit = p.Port.IntVal == dnsPort
			if hit && p.Protocol == nil {
				out.tcpByDefault = true
			}
		}
		if hit {
			out.udp = out.udp || proto == corev1.ProtocolUDP
			out.tcp = out.tcp || proto == corev1.ProtocolTCP
		}
	}
	return out
}

// relevant reports whether a rule with these ports can matter to DNS.
func (p dnsPorts) relevant() bool { return p.udp || p.tcp || p.tcpByDefault }

// namespacePeer is a NetworkPolicy or ApplicationNetworkPolicy peer.
type namespacePeer struct {
	PodSelector       *metav1.LabelSelector `json:"podSelector,omitempty"`
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	IPBlock           *networkingv1.IPBlock `json:"ipBlock,omitempty"`
	DomainNames       []string              `json:"domainNames,omitempty"`
}

// namespaceEgressRule is a NetworkPolicy or ApplicationNetworkPolicy egress rule.
type namespaceEgressRule struct {
	Ports []networkingv1.NetworkPolicyPort `json:"ports,omitempty"`
	To    []namespacePeer                  `json:"to,omitempty"`
}

// compileNamespaceDNS keeps the DNS-relevant egress rules of a namespace
// policy that isolates egress.
func compileNamespaceDNS(podSelector *metav1.LabelSelector, rules []namespaceEgressRule) (*dnsPolicy, error) {
	d := &dnsPolicy{allPods: len(podSelector.MatchLabels) == 0 && len(podSelector.MatchExpressions) == 0}
	for _, r := range rules {
		ports := npDNSPorts(r.Ports)
		if !ports.relevant() {
			continue
		}
		rule := dnsRule{action: dnsAllow, ports: ports}
		for _, to := range r.To {
			peer, err := namespaceDNSPeer(to)
			if err != nil {
				return nil, err
			}
			rule.peers = append(rule.peers, peer)
		}
		if len(r.To) > 0 && rule.peers == nil {
			rule.peers = []dnsPeer{}
		}
		d.rules = append(d.rules, rule)
	}
	return d, nil
}

func namespaceDNSPeer(to namespacePeer) (dnsPeer, error) {
	switch {
	case len(to.DomainNames) > 0:
		return dnsPeer{dest: destDomains}, nil
	case to.IPBlock != nil:
		return dnsPeer{dest: cidrDest(to.IPBlock.CIDR, len(to.IPBlock.Except) > 0)}, nil
	}
	peer := dnsPeer{dest: destPods}
	var err error
	if to.NamespaceSelector != nil {
		if peer.namespaces, err = metav1.LabelSelectorAsSelector(to.NamespaceSelector); err != nil {
			return peer, err
		}
	}
	if to.PodSelector != nil {
		if peer.pods, err = metav1.LabelSelectorAsSelector(to.PodSelector); err != nil {
			return peer, err
		}
	}
	return peer, nil
}

// cidrDest: a /0 without exceptions holds every resolver address.
func cidrDest(cidr string, except bool) dnsDest {
	if _, n, err := net.ParseCIDR(cidr); err == nil && !except {
		if ones, _ := n.Mask.Size(); ones == 0 {
			return destAnywhere
		}
	}
	return destNetwork
}

// awsClusterDNSRule reads one egress rule of the AWS ClusterNetworkPolicy.
type awsClusterDNSRule struct {
	Action string `json:"action"`
	To     []struct {
		Namespaces  *metav1.LabelSelector `json:"namespaces,omitempty"`
		Pods        *namespacedPods       `json:"pods,omitempty"`
		Networks    []string              `json:"networks,omitempty"`
		DomainNames []string              `json:"domainNames,omitempty"`
	} `json:"to"`
	Ports *[]struct {
		PortNumber *struct {
			Protocol corev1.Protocol `json:"protocol"`
			Port     int32           `json:"port"`
		} `json:"portNumber,omitempty"`
		PortRange *struct {
			Protocol corev1.Protocol `json:"protocol"`
			Start    int32           `json:"start"`
			End      int32           `json:"end"`
		} `json:"portRange,omitempty"`
		NamedPort *string `json:"namedPort,omitempty"`
	} `json:"ports,omitempty"`
}

// compileAWSClusterDNS keeps the DNS-relevant egress rules of an AWS
// ClusterNetworkPolicy (amazon-network-policy-controller-k8s
// api/v1alpha1/clusternetworkpolicy_types.go; a port's protocol defaults
// to TCP there too, pkg/resolvers clusternetworkpolicy_resolver.go).
func compileAWSClusterDNS(priority int32, rules []awsClusterDNSRule) (*dnsPolicy, error) {
	d := &dnsPolicy{priority: priority}
	for _, r := range rules {
		rule := dnsRule{action: dnsAllow}
		switch r.Action {
		case "Deny":
			rule.action = dnsDeny
		case "Pass":
			rule.action = dnsPass
		}
		if r.Ports == nil || len(*r.Ports) == 0 {
			rule.ports = dnsPorts{udp: true, tcp: true}
		} else {
			for _, p := range *r.Ports {
				proto, hit := corev1.ProtocolTCP, false
				switch {
				case p.PortNumber != nil:
					proto, hit = p.PortNumber.Protocol, p.PortNumber.Port == dnsPort
				case p.PortRange != nil:
					proto, hit = p.PortRange.Protocol, p.PortRange.Start <= dnsPort && dnsPort <= p.PortRange.End
				case p.NamedPort != nil:
					proto, hit = corev1.ProtocolUDP, *p.NamedPort == dnsPortName
					if *p.NamedPort == dnsTCPPortName {
						proto, hit = corev1.ProtocolTCP, true
					}
				}
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				if hit {
					rule.ports.udp = rule.ports.udp || proto == corev1.ProtocolUDP
					rule.ports.tcp = rule.ports.tcp || proto == corev1.ProtocolTCP
				}
			}
		}
		if !rule.ports.relevant() {
			continue
		}
		rule.peers = []dnsPeer{}
		for _, to := range r.To {
			switch {
			case len(to.DomainNames) > 0:
				rule.peers = append(rule.peers, dnsPeer{dest: destDomains})
			case len(to.Networks) > 0:
				dest := destNetwork
				for _, n := range to.Networks {
					if cidrDest(n, false) == destAnywhere {
						dest = destAnywhere
					}
				}
				rule.peers = append(rule.peers, dnsPeer{dest: dest})
			case to.Namespaces != nil:
				sel, err := metav1.LabelSelectorAsSelector(to.Namespaces)
				if err != nil {
					return nil, err
				}
				rule.peers = append(rule.peers, dnsPeer{dest: destPods, namespaces: sel})
			case to.Pods != nil:
				ns, err := metav1.LabelSelectorAsSelector(&to.Pods.NamespaceSelector)
				if err != nil {
					return nil, err
				}
				pods, err := metav1.LabelSelectorAsSelector(&to.Pods.PodSelector)
				if err != nil {
					return nil, err
				}
				rule.peers = append(rule.peers, dnsPeer{dest: destPods, namespaces: ns, pods: pods})
			}
		}
		d.rules = append(d.rules, rule)
	}
	if len(d.rules) == 0 {
		return nil, nil
	}
	return d, nil
}

// DNSPath is what the DNS step found for a pod.
type DNSPath struct {
	// UDP and TCP: DNS over each protocol reaches the cluster's DNS.
	UDP, TCP bool
	// Unmodelled, when set, is a selecting policy of a kind whose egress
	// rules the step does not read (Cilium, Calico, the SIG Network
	// ClusterNetworkPolicy): the step says nothing then.
	Unmodelled *Compiled
	// Why UDP is blocked, when it is.
	Blocked dnsBlock
}

// dnsBlock says what blocks DNS over UDP.
type dnsBlock struct {
	// Deny is the Admin- or Baseline-tier policy whose Deny blocks it.
	Deny *Compiled
	// Isolating are the namespace policies that isolate the pod for egress
	// and allow no path; Mistake what their rules get wrong.
	Isolating []*Compiled
	Mistake   string
	// ByDefault: the declared (or learned, DefaultBy) default-deny blocks
	// it, with no policy selecting the pod to allow it.
	ByDefault bool
	DefaultBy string
	// AfterPass is the Admin-tier policy that passed DNS on to the
	// namespace policies that then block it.
	AfterPass *Compiled
}

// CheckDNS walks the path of the pod's DNS over UDP and TCP through the
// policies that apply to it, as evaluateFlow does. It is pure.
func CheckDNS(pod *Pod, policies []*Compiled, want Want, t *dnsTarget, tiers *Tiers) DNSPath {
	var e evaluation
	e.start(pod, want, tiers)
	var w dnsWalk
	w.start(pod, want, t, tiers)
	for _, p := range policies {
		w.add(p, &e)
	}
	return w.finish()
}

// dnsWalk gathers the policies on a pod's DNS path.
type dnsWalk struct {
	pod    *Pod
	want   Want
	target *dnsTarget
	tiers  *Tiers
	// selected: a namespace policy selects the pod (the agent's default
	// then no longer holds).
	selected        bool
	admin, baseline []*Compiled
	isolating       []*Compiled
	unmodelled      *Compiled
}

func (w *dnsWalk) start(pod *Pod, want Want, t *dnsTarget, tiers *Tiers) {
	*w = dnsWalk{pod: pod, want: want, target: t, tiers: tiers}
}

// add takes policy p into the walk if it selects the pod; e, the coverage
// evaluation of the same pod, matches the selections.
func (w *dnsWalk) add(p *Compiled, e *evaluation) {
	if w.want.Kinds != 0 && w.want.Kinds&p.Kind.bit == 0 {
		return
	}
	// Skip what cannot change the walk before matching selectors.
	switch {
	case p.Kind.endsAgentDefault():
		if p.dns == nil && (w.selected || !w.want.ByAgent) {
			return
		}
	case p.Kind == KindAWSClusterNetworkPolicy:
		if p.dns == nil {
			return
		}
	case w.unmodelled != nil:
		return
	}
	var egress bool
	selects := false
	for i := range p.Selections {
		s := &p.Selections[i]
		if m, _ := e.match(s); m == matches {
			selects = true
			// Whatever a Calico tier does with what it does not take, the
			// policy has egress rules that may allow DNS.
			egress = egress || s.Isolation.Egress || s.calico != nil && s.calico.passIsolation.Egress
		}
	}
	if !selects {
		return
	}
	switch {
	case p.Kind.endsAgentDefault():
		w.selected = true
		if p.dns != nil {
			w.isolating = append(w.isolating, p)
		}
	case p.Kind == KindAWSClusterNetworkPolicy:
		if p.dns == nil {
			return
		}
		if p.Tier == "Admin" {
			w.admin = append(w.admin, p)
		} else {
			w.baseline = append(w.baseline, p)
		}
	default:
		// Another engine's egress rules may allow DNS whatever the
		// namespace policies say (Cilium unions allows, Calico's earlier
		// tiers and the SIG API's Admin Accept come first): the step is
		// silent. A SIG ClusterNetworkPolicy isolates nothing by selection,
		// so any that selects the pod counts.
		if w.unmodelled == nil && (egress || p.Kind == KindClusterNetworkPolicy) {
			w.unmodelled = p
		}
	}
}

func (w *dnsWalk) finish() DNSPath {
	path := DNSPath{Unmodelled: w.unmodelled}
	path.UDP = w.walk(corev1.ProtocolUDP, &path.Blocked)
	var ignored dnsBlock
	path.TCP = w.walk(corev1.ProtocolTCP, &ignored)
	return path
}

// walk reports whether DNS over proto gets through, and if not, fills why.
func (w *dnsWalk) walk(proto corev1.Protocol, why *dnsBlock) bool {
	action, by := w.tier(w.admin, proto)
	switch action {
	case dnsAllow:
		return true
	case dnsDeny:
		why.Deny = by
		return false
	case dnsPass:
		why.AfterPass = by
	}
	if len(w.isolating) > 0 {
		for _, p := range w.isolating {
			for i := range p.dns.rules {
				if p.dns.rules[i].matches(proto, w.target, p.Namespace) {
					return true
				}
			}
		}
		why.Isolating = w.isolating
		why.Mistake = w.mistake(proto)
		return false
	}
	why.AfterPass = nil
	switch action, by := w.tier(w.baseline, proto); action {
	case dnsAllow:
		return true
	case dnsDeny:
		why.Deny = by
		return false
	}
	declared := w.want.Declared.Egress
	if w.want.ByAgent && w.selected {
		declared = false
	}
	if declared {
		why.ByDefault, why.DefaultBy = true, w.want.Source
		return false
	}
	return true
}

// noAction: no rule of a tier matched.
const noAction dnsAction = 255

// tier is the action of a tier's policies for DNS over proto: within a
// policy its first matching rule, across policies the lowest priority
// number, Deny winning ties (evaluateFlow); noAction when none matches.
func (w *dnsWalk) tier(policies []*Compiled, proto corev1.Protocol) (dnsAction, *Compiled) {
	best, by := noAction, (*Compiled)(nil)
	var bestPriority int32
	for _, p := range policies {
		for i := range p.dns.rules {
			r := &p.dns.rules[i]
			if !r.matches(proto, w.target, p.Namespace) {
				continue
			}
			if best == noAction || p.dns.priority < bestPriority || (p.dns.priority == bestPriority && r.action == dnsDeny) {
				best, by, bestPriority = r.action, p, p.dns.priority
			}
			break
		}
	}
	return best, by
}

// mistake names what the isolating policies' rules get wrong about DNS
// over proto: the first recognised pitfall, or that no rule allows it.
func (w *dnsWalk) mistake(proto corev1.Protocol) string {
	t := w.target
	for _, p := range w.isolating {
		for i := range p.dns.rules {
			r := &p.dns.rules[i]
			if proto == corev1.ProtocolUDP && r.ports.tcpByDefault && !r.ports.udp {
				return fmt.Sprintf("%s allows port 53 without a protocol, which means TCP only (NetworkPolicyPort.protocol defaults to TCP); add protocol: UDP", p)
			}
			if !r.ports.admits(proto) {
				continue
			}
			for j := range r.peers {
				peer := &r.peers[j]
				switch {
				case peer.dest == destDomains:
					return fmt.Sprintf("%s allows domainNames, which do not allow the DNS lookups they need (NPEP-133); add a rule for port 53", p)
				case peer.dest != destPods:
				case t.AutoMode:
					return fmt.Sprintf("%s aims its port-53 rule at pods, but on EKS Auto Mode DNS is served on each node, not by pods; allow port 53 to any destination", p)
				case peer.namespaces == nil && p.Namespace != t.Namespace:
					return fmt.Sprintf("%s has a podSelector peer without a namespaceSelector, which selects pods of namespace %s, not the DNS pods of %s", p, p.Namespace, t.Namespace)
				case peer.namespaces != nil && !peer.namespaces.Matches(t.NamespaceLabels):
					hint := ""
					if strings.Contains(peer.namespaces.String(), "name=") && !strings.Contains(peer.namespaces.String(), corev1.LabelMetadataName) {
						hint = fmt.Sprintf(" (namespace %s carries %s=%s; nothing sets a name label)", t.Namespace, corev1.LabelMetadataName, t.Namespace)
					}
					return fmt.Sprintf("%s selects namespaces %s, which does not take in namespace %s%s", p, peer.namespaces, t.Namespace, hint)
				case peer.pods != nil && !peer.pods.Matches(t.PodLabels):
					return fmt.Sprintf("%s selects pods %s, which are not the DNS pods (%s)", p, peer.pods, t.PodLabels)
				}
			}
		}
	}
	names := make([]string, len(w.isolating))
	for i, p := range w.isolating {
		names[i] = p.String()
	}
	return "no egress rule of " + strings.Join(names, ", ") + " allows port 53 to the cluster's DNS"
}

// warns reports whether the path is one the DNS finding speaks of.
func (d *DNSPath) warns() bool { return d != nil && d.Unmodelled == nil && (!d.UDP || !d.TCP) }
