package dataplane

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

// live is Facts as a live read gives them: every source read, absent or not.
func live(objs ...runtime.Object) *Facts {
	b := NewBuilder()
	for _, o := range objs {
		b.Add(o)
	}
	return b.Facts()
}

// TestStrictMode: strict only when the agent runs, enabled, in strict mode.
func TestStrictMode(t *testing.T) {
	for _, c := range []struct {
		name  string
		facts *Facts
		want  bool
	}{
		{"nil Facts know nothing", nil, false},
		{"no aws-node (Auto Mode, Fargate only)", live(), false},
		{"aws-network-policy-agent pkg/rpc/rpc_handler.go EnforceNpToPod: strict mode default-denies",
			live(awsNode([]string{"--enable-network-policy=true"}, env(EnvEnforcingMode, "strict"))), true},
		{"amazon-vpc-cni-k8s charts/aws-vpc-cni values.yaml NETWORK_POLICY_ENFORCING_MODE standard",
			live(awsNode([]string{"--enable-network-policy=true"})), false},
		{"aws-network-policy-agent main.go: --enable-network-policy=false registers no reconciler",
			live(awsNode(nil, env(EnvEnforcingMode, "strict"))), false},
		{"a mode set from valueFrom is not taken for strict",
			live(awsNode([]string{"--enable-network-policy=true"}, env(EnvEnforcingMode, "$(MODE)"))), false},
	} {
		if got := c.facts.StrictMode(); got != c.want {
			t.Errorf("%s: StrictMode = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestNodePoolDefaultDeny: a NodePool is default-deny when its Auto Mode
// NodeClass is (auto-net-pol.html; create-node-class.html networkPolicy).
func TestNodePoolDefaultDeny(t *testing.T) {
	f := live(nodeClass("default", nil), nodeClass("locked", "DefaultDeny"), nodeClass("future", "DefaultSomething"),
		nodePool("general-purpose", "eks.amazonaws.com", "NodeClass", "default"),
		nodePool("system", "eks.amazonaws.com", "NodeClass", "locked"),
		nodePool("orphan", "eks.amazonaws.com", "NodeClass", "missing"),
		nodePool("new", "eks.amazonaws.com", "NodeClass", "future"),
		nodePool("self-managed", "karpenter.k8s.aws", "EC2NodeClass", "locked"))
	for _, c := range []struct {
		pool        string
		deny, known bool
	}{
		{"general-purpose", false, true},
		{"system", true, true},
		{"orphan", false, false},
		{"new", false, false},
		{"self-managed", false, false},
		{"absent", false, false},
	} {
		if deny, known := f.NodePoolDefaultDeny(c.pool); deny != c.deny || known != c.known {
			t.Errorf("NodePool %s: (%v, %v), want (%v, %v)", c.pool, deny, known, c.deny, c.known)
		}
	}
	if deny, known := (*Facts)(nil).NodePoolDefaultDeny("system"); deny || known {
		t.Error("nil Facts know a NodePool")
	}
	if deny, known := (*Facts)(nil).NodeClassDefaultDeny("locked"); deny || known {
		t.Error("nil Facts know a NodeClass")
	}
}

// TestPoliciesEnforced: the VPC CNI enforces nothing without its controller,
// or with aws-node's agent off and no Auto Mode compute.
func TestPoliciesEnforced(t *testing.T) {
	on := vpcCNIConfig(Namespace, map[string]string{KeyControllerEnabled: "true"})
	off := vpcCNIConfig(Namespace, map[string]string{KeyControllerEnabled: "false"})
	agentOff := awsNode(nil)
	agentOn := awsNode([]string{"--enable-network-policy=true"})
	noClassesRead := live(on, agentOff)
	noClassesRead.Unread = []Source{SourceNodeClasses}
	for _, c := range []struct {
		name  string
		facts *Facts
		want  bool
		why   string
	}{
		{"nil Facts: assume enforced", nil, true, ""},
		{"amazon-vpc-cni-k8s charts/aws-vpc-cni templates/configmap.yaml enable-network-policy-controller false",
			live(off, agentOn), false, `enable-network-policy-controller "false"`},
		{"auto-net-pol.html step 1: the controller on, Auto Mode nodes enforce", live(on, nodeClass("default", nil)), true, ""},
		{"aws-network-policy-agent main.go: agent off and no NodeClass", live(on, agentOff), false, "without --enable-network-policy=true"},
		{"agent off but Auto Mode NodeClasses enforce on their nodes", live(on, agentOff, nodeClass("default", nil)), true, ""},
		{"agent off, NodeClasses unknown (Forbidden): cannot tell", noClassesRead, true, ""},
		{"aws-network-policy-agent main.go getNetworkPolicyConfigsFromIpamd: an unset mode stops the agent",
			live(on, awsNode([]string{"--enable-network-policy=true"}, env(EnvPodENI, "false"))), false, "NETWORK_POLICY_ENFORCING_MODE unset"},
		{"amazon-vpc-cni-k8s utils.IsValidNetworkPolicyEnforcingMode accepts none, the agent does not",
			live(on, awsNode([]string{"--enable-network-policy=true"}, env(EnvEnforcingMode, "none"))), false, `"none"`},
		{"chart nodeAgent.enabled=false: no agent container", live(on, func() runtime.Object {
			ds := awsNode(nil)
			ds.Spec.Template.Spec.Containers = ds.Spec.Template.Spec.Containers[:1]
			return ds
		}()), false, "has no aws-eks-nodeagent container"},
		{"agent on in standard mode", live(on, agentOn), true, ""},
	} {
		got, why := c.facts.PoliciesEnforced()
		if got != c.want || !strings.Contains(why, c.why) || (c.why == "" && why != "") {
			t.Errorf("%s: PoliciesEnforced = %v %q, want %v containing %q", c.name, got, why, c.want, c.why)
		}
	}
}

// TestHolder: a nil or empty Holder knows nothing.
func TestHolder(t *testing.T) {
	var nilHolder *Holder
	if nilHolder.Load() != nil {
		t.Error("nil Holder loaded Facts")
	}
	h := &Holder{}
	if h.Load() != nil {
		t.Error("empty Holder loaded Facts")
	}
	f := live()
	h.Store(f)
	if h.Load() != f {
		t.Error("Holder lost the Facts stored")
	}
}
