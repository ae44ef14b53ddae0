package dataplane

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/config"
)

// Finding is one thing the cluster says about the operator's declared
// default-deny (rules.networkPolicy.clusterDefaultDeny).
type Finding struct {
	// Object names the object the finding is about ("DaemonSet
	// kube-system/aws-node", "NodeClass default").
	Object string `json:"object"`
	// Message is a sentence that names the object.
	Message string `json:"message"`
	// Contradiction is true when the cluster contradicts the declaration
	// (or no declaration can hold); false for information, such as a
	// default-deny nothing declares, or a setting that cannot be read.
	Contradiction bool `json:"contradiction"`
}

// Contradictions are the messages of the Findings that contradict d.
func (f *Facts) Contradictions(d config.ClusterDefaultDeny) []string {
	var out []string
	for _, x := range f.Findings(d) {
		if x.Contradiction {
			out = append(out, x.Message)
		}
	}
	return out
}

// Findings checks the declaration d against the cluster, in a stable
// order. A declaration for Calico, Cilium or another engine is not checked:
// those enforce policies, and their default-deny, without the VPC CNI.
func (f *Facts) Findings(d config.ClusterDefaultDeny) []Finding {
	if f == nil {
		return nil
	}
	switch d.Engine {
	case config.EngineCalico, config.EngineCilium, config.EngineOther:
		return nil
	}
	var out []Finding
	add := func(object string, contradiction bool, format string, args ...any) {
		out = append(out, Finding{Object: object, Contradiction: contradiction, Message: fmt.Sprintf(format, args...)})
	}
	declared := d.Declared()
	vpcCNI := d.Engine == "" || d.Engine == config.EngineVPCCNI
	autoMode := d.Engine == "" || d.Engine == config.EngineAutoMode

	// The controller: without it nothing is enforced, declared or not.
	// With nothing declared or named, another engine may enforce policies.
	switch {
	case f.ControllerEnabled != nil && !*f.ControllerEnabled:
		if declared || d.Engine != "" {
			add(string(SourceVPCCNIConfig), true, "%s", controllerOffMessage(f.ControllerValue))
		} else {
			add(string(SourceVPCCNIConfig), false, "%s (unless another engine, such as Calico or Cilium, enforces them)",
				controllerOffMessage(f.ControllerValue))
		}
	case f.ControllerEnabled == nil && f.ControllerValue != "":
		add(string(SourceVPCCNIConfig), false, "%s has %s %q, neither \"true\" nor \"false\": whether policies are enforced cannot be told",
			SourceVPCCNIConfig, KeyControllerEnabled, f.ControllerValue)
	}

	out = append(out, f.awsNodeFindings(declared, vpcCNI, d.Engine)...)
	out = append(out, f.nodeClassFindings(declared, autoMode, d.Engine)...)

	// Nothing seen could provide the default-deny declared for no named engine.
	if declared && d.Engine == "" && f.AWSNode == nil && len(f.NodeClasses) == 0 &&
		f.Read(SourceAWSNode) && f.Read(SourceNodeClasses) {
		add(string(SourceAWSNode), true, "there is neither a %s nor an Auto Mode NodeClass: nothing eksguard can see provides the declared default-deny (name its engine if Calico, Cilium or another provides it)",
			SourceAWSNode)
	}
	return out
}

// awsNodeFindings checks aws-node: a declaration for the VPC CNI needs
// strict mode; one for Auto Mode alone does not hold on aws-node's nodes.
func (f *Facts) awsNodeFindings(declared, vpcCNI bool, engine config.DefaultDenyEngine) []Finding {
	object := string(SourceAWSNode)
	a := f.AWSNode
	if a == nil {
		if declared && engine == config.EngineVPCCNI && f.Read(SourceAWSNode) {
			return []Finding{{Object: object, Contradiction: true,
				Message: fmt.Sprintf("there is no %s: nothing provides the VPC CNI strict mode the declared default-deny names", SourceAWSNode)}}
		}
		return nil
	}
	if !declared {
		if f.StrictMode() {
			return []Finding{{Object: object, Message: fmt.Sprintf("%s runs its network policy agent in strict mode: pods on its nodes are default-denied until a policy selects them, but the eksguard policy declares no clusterDefaultDeny",
				SourceAWSNode)}}
		}
		return nil
	}
	var unknown []string
	for _, s := range []string{FlagEnableNetworkPolicy, EnvEnforcingMode} {
		if !a.Knows(s) {
			unknown = append(unknown, s)
		}
	}
	if len(unknown) > 0 {
		return []Finding{{Object: object, Message: fmt.Sprintf("%s does not show %s (valueFrom, envFrom or a $(VAR) reference): its enforcing mode cannot be checked against the declared default-deny",
			SourceAWSNode, strings.Join(unknown, " or "))}}
	}
	var why string
	if runs, _, notRunning := a.agentEnforces(); !runs {
		why = notRunning + ": pods on its nodes are not policed at all, let alone default-denied"
	} else if a.EnforcingMode != ModeStrict {
		why = fmt.Sprintf("%s has %s %s, not %q: pods on its nodes are not default-denied", SourceAWSNode, EnvEnforcingMode, modeName(a.EnforcingMode), ModeStrict)
	} else {
		return nil
	}
	if !vpcCNI {
		// Declared for Auto Mode: aws-node's EC2 nodes are another compute class.
		return []Finding{{Object: object, Message: fmt.Sprintf("%s; the default-deny declared for %s holds only on Auto Mode nodes", why, engine)}}
	}
	return []Finding{{Object: object, Contradiction: true, Message: why}}
}

// nodeClassFindings checks every Auto Mode NodeClass: a declaration for
// Auto Mode needs DefaultDeny on each.
func (f *Facts) nodeClassFindings(declared, autoMode bool, engine config.DefaultDenyEngine) []Finding {
	if declared && engine == config.EngineAutoMode && len(f.NodeClasses) == 0 && f.Read(SourceNodeClasses) {
		return []Finding{{Object: string(SourceNodeClasses), Contradiction: true,
			Message: "there is no Auto Mode NodeClass (eks.amazonaws.com/v1): nothing provides the Auto Mode default-deny the declared default-deny names"}}
	}
	var out []Finding
	for _, class := range slices.Sorted(maps.Keys(f.NodeClasses)) {
		object := "NodeClass " + class
		policy := f.NodeClasses[class]
		switch {
		case policy == NetworkPolicyDefaultDeny && !declared:
			out = append(out, Finding{Object: object, Message: fmt.Sprintf("%s has spec.networkPolicy %s: %s are default-denied, but the eksguard policy declares no clusterDefaultDeny",
				object, policy, f.podsOn(class))})
		case policy == NetworkPolicyDefaultDeny, !declared:
		case policy == NetworkPolicyDefaultAllow && autoMode:
			out = append(out, Finding{Object: object, Contradiction: true, Message: fmt.Sprintf("%s has spec.networkPolicy %s: %s are not default-denied",
				object, policy, f.podsOn(class))})
		case policy == NetworkPolicyDefaultAllow:
			out = append(out, Finding{Object: object, Message: fmt.Sprintf("%s has spec.networkPolicy %s: %s are not default-denied; the default-deny declared for %s holds only on aws-node's nodes",
				object, policy, f.podsOn(class), engine)})
		case autoMode:
			out = append(out, Finding{Object: object, Message: fmt.Sprintf("%s has spec.networkPolicy %q, neither %s nor %s: it cannot be checked against the declared default-deny",
				object, policy, NetworkPolicyDefaultAllow, NetworkPolicyDefaultDeny)})
		}
	}
	return out
}
