package dataplane

import (
	"strings"
	"testing"

	"github.com/eksguard/eksguard/config"
)

// want is a Finding as a test expects it: its object, whether it is a
// contradiction, and a part of its message.
type want struct {
	object        string
	contradiction bool
	says          string
}

// TestFindings: every way the cluster contradicts (or goes beyond) the
// declared clusterDefaultDeny, engine by engine.
func TestFindings(t *testing.T) {
	on := vpcCNIConfig(Namespace, map[string]string{KeyControllerEnabled: "true"})
	off := vpcCNIConfig(Namespace, map[string]string{KeyControllerEnabled: "false"})
	strict := awsNode([]string{"--enable-network-policy=true"}, env(EnvEnforcingMode, "strict"))
	standard := awsNode([]string{"--enable-network-policy=true"})
	agentOff := awsNode(nil, env(EnvEnforcingMode, "strict"))
	unknownMode := awsNode([]string{"--enable-network-policy=true"}, env(EnvEnforcingMode, "$(MODE)"))
	allow := nodeClass("default", nil)
	deny := nodeClass("locked", "DefaultDeny")
	declared := func(engine config.DefaultDenyEngine) config.ClusterDefaultDeny {
		return config.ClusterDefaultDeny{Ingress: true, Egress: true, Engine: engine}
	}
	nothing := config.ClusterDefaultDeny{}
	unreadAll := live()
	unreadAll.Unread = Sources

	for _, c := range []struct {
		name  string
		facts *Facts
		d     config.ClusterDefaultDeny
		want  []want
	}{
		{"nil Facts: nothing to say", nil, declared(""), nil},
		{"aws-network-policy-agent strict mode backs a vpc-cni declaration", live(on, strict), declared(config.EngineVPCCNI), nil},
		{"amazon-vpc-cni-k8s charts/aws-vpc-cni values.yaml NETWORK_POLICY_ENFORCING_MODE standard contradicts vpc-cni",
			live(on, standard), declared(config.EngineVPCCNI),
			[]want{{string(SourceAWSNode), true, `NETWORK_POLICY_ENFORCING_MODE "standard", not "strict"`}}},
		{"standard mode contradicts a declaration naming no engine", live(on, standard), declared(""),
			[]want{{string(SourceAWSNode), true, "not default-denied"}}},
		{"aws-network-policy-agent main.go --enable-network-policy=false: nothing policed",
			live(on, agentOff), declared(config.EngineVPCCNI),
			[]want{{string(SourceAWSNode), true, "not policed at all"}}},
		{"kubelet valueFrom: the mode cannot be checked", live(on, unknownMode), declared(config.EngineVPCCNI),
			[]want{{string(SourceAWSNode), false, "does not show NETWORK_POLICY_ENFORCING_MODE"}}},
		{"a vpc-cni declaration without aws-node", live(on), declared(config.EngineVPCCNI),
			[]want{{string(SourceAWSNode), true, "there is no DaemonSet kube-system/aws-node"}}},
		{"aws-node unread (Forbidden): its absence says nothing", unreadAll, declared(config.EngineVPCCNI), nil},
		{"auto-net-pol.html: a DefaultAllow NodeClass contradicts auto-mode",
			live(on, allow, deny, nodePool("a", "eks.amazonaws.com", "NodeClass", "default"), nodePool("b", "eks.amazonaws.com", "NodeClass", "default")),
			declared(config.EngineAutoMode),
			[]want{{"NodeClass default", true, "NodeClass default has spec.networkPolicy DefaultAllow: pods on NodePools a, b are not default-denied"}}},
		{"auto-net-pol.html: a DefaultAllow NodeClass no NodePool uses yet", live(on, allow), declared(""),
			[]want{{"NodeClass default", true, "no NodePool refers to it yet"}}},
		{"create-node-class.html: DefaultDeny everywhere backs auto-mode", live(on, deny), declared(config.EngineAutoMode), nil},
		{"an auto-mode declaration without any NodeClass", live(on), declared(config.EngineAutoMode),
			[]want{{string(SourceNodeClasses), true, "there is no Auto Mode NodeClass"}}},
		{"an unknown spec.networkPolicy value cannot be checked", live(on, nodeClass("future", "DefaultMaybe")), declared(config.EngineAutoMode),
			[]want{{"NodeClass future", false, `"DefaultMaybe"`}}},
		{"a cluster-wide default-deny needs every compute class to deny: standard aws-node beside an auto-mode declaration",
			live(on, standard, deny), declared(config.EngineAutoMode),
			[]want{{string(SourceAWSNode), false, "holds only on Auto Mode nodes"}}},
		{"a cluster-wide default-deny needs every compute class to deny: a DefaultAllow NodeClass beside a vpc-cni declaration",
			live(on, strict, allow), declared(config.EngineVPCCNI),
			[]want{{"NodeClass default", false, "holds only on aws-node's nodes"}}},
		{"mixed cluster, no engine named: both must deny", live(on, standard, allow), declared(""),
			[]want{{string(SourceAWSNode), true, "not default-denied"}, {"NodeClass default", true, "DefaultAllow"}}},
		{"nothing seen provides a declaration naming no engine", live(on), declared(""),
			[]want{{string(SourceAWSNode), true, "nothing eksguard can see provides the declared default-deny"}}},
		{"amazon-vpc-cni-k8s charts/aws-vpc-cni templates/configmap.yaml enable-network-policy-controller false: nothing enforced",
			live(off, strict), declared(config.EngineVPCCNI),
			[]want{{string(SourceVPCCNIConfig), true, "no NetworkPolicy is enforced"}}},
		{"controller off with nothing declared: another engine may enforce", live(off), nothing,
			[]want{{string(SourceVPCCNIConfig), false, "unless another engine"}}},
		{"controller key neither true nor false", live(vpcCNIConfig(Namespace, map[string]string{KeyControllerEnabled: "yes"}), strict), declared(config.EngineVPCCNI),
			[]want{{string(SourceVPCCNIConfig), false, "cannot be told"}}},
		{"strict aws-node while nothing is declared", live(on, strict), nothing,
			[]want{{string(SourceAWSNode), false, "declares no clusterDefaultDeny"}}},
		{"a DefaultDeny NodeClass while nothing is declared", live(on, deny, nodePool("system", "eks.amazonaws.com", "NodeClass", "locked")), nothing,
			[]want{{"NodeClass locked", false, "pods on NodePool system are default-denied, but"}}},
		{"standard aws-node and DefaultAllow while nothing is declared: nothing to say", live(on, standard, allow), nothing, nil},
		{"a calico declaration is not checked against the VPC CNI", live(off, standard, allow), declared(config.EngineCalico), nil},
		{"a cilium declaration is not checked", live(off, standard), declared(config.EngineCilium), nil},
		{"an other-engine declaration is not checked", live(off, standard), declared(config.EngineOther), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.facts.Findings(c.d)
			if len(got) != len(c.want) {
				t.Fatalf("got %d findings, want %d: %+v", len(got), len(c.want), got)
			}
			var contradictions []string
			for i, w := range c.want {
				g := got[i]
				if g.Object != w.object || g.Contradiction != w.contradiction || !strings.Contains(g.Message, w.says) {
					t.Errorf("finding %d: got %+v\nwant %+v", i, g, w)
				}
				if !strings.Contains(g.Message, strings.TrimPrefix(strings.TrimPrefix(g.Object, "DaemonSet "), "ConfigMap ")) &&
					g.Object != string(SourceNodeClasses) {
					t.Errorf("finding %d does not name its object %q: %s", i, g.Object, g.Message)
				}
				if w.contradiction {
					contradictions = append(contradictions, g.Message)
				}
			}
			if gotC := c.facts.Contradictions(c.d); strings.Join(gotC, "\n") != strings.Join(contradictions, "\n") {
				t.Errorf("Contradictions = %q, want %q", gotC, contradictions)
			}
		})
	}
}
