package dataplane

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// StrictMode reports whether aws-node default-denies the pods of its nodes
// until a policy selects them: its agent runs, enabled, in strict mode. A
// setting the DaemonSet does not show counts as not strict.
func (f *Facts) StrictMode() bool {
	if f == nil || f.AWSNode == nil {
		return false
	}
	a := f.AWSNode
	return a.AgentPresent && a.AgentEnabled && a.Knows(FlagEnableNetworkPolicy) &&
		a.EnforcingMode == ModeStrict && a.Knows(EnvEnforcingMode)
}

// NodeClassDefaultDeny reports whether the Auto Mode NodeClass nodeClass
// default-denies its pods; known is false for a NodeClass not read or a
// spec.networkPolicy value eksguard does not know.
func (f *Facts) NodeClassDefaultDeny(nodeClass string) (deny, known bool) {
	if f == nil {
		return false, false
	}
	switch f.NodeClasses[nodeClass] {
	case NetworkPolicyDefaultDeny:
		return true, true
	case NetworkPolicyDefaultAllow:
		return false, true
	}
	return false, false
}

// NodePoolDefaultDeny is NodeClassDefaultDeny for the NodeClass of the
// NodePool nodePool; known is false for a NodePool not read or not on an
// Auto Mode NodeClass.
func (f *Facts) NodePoolDefaultDeny(nodePool string) (deny, known bool) {
	if f == nil {
		return false, false
	}
	class, ok := f.NodePools[nodePool]
	if !ok {
		return false, false
	}
	return f.NodeClassDefaultDeny(class)
}

// PoliciesEnforced reports whether the VPC CNI enforces NetworkPolicies at
// all, with the reason when it does not. It says nothing of Calico or
// Cilium, which enforce without the VPC CNI; it answers true when unsure.
func (f *Facts) PoliciesEnforced() (enforced bool, why string) {
	if f == nil {
		return true, ""
	}
	if f.ControllerEnabled != nil && !*f.ControllerEnabled {
		return false, controllerOffMessage(f.ControllerValue)
	}
	if f.AWSNode != nil && f.Read(SourceNodeClasses) && len(f.NodeClasses) == 0 {
		if runs, known, why := f.AWSNode.agentEnforces(); known && !runs {
			return false, why + ", and there is no Auto Mode NodeClass: no node enforces NetworkPolicies"
		}
	}
	return true, ""
}

// agentEnforces reports whether aws-node's agent enforces policies on its
// nodes at all (in either mode), with the reason when it does not.
func (a *AWSNode) agentEnforces() (runs, known bool, why string) {
	switch {
	case !a.AgentPresent:
		return false, true, string(SourceAWSNode) + " has no " + AgentContainer + " container"
	case !a.Knows(FlagEnableNetworkPolicy):
		return false, false, ""
	case !a.AgentEnabled:
		return false, true, fmt.Sprintf("%s runs its %s container without --%s=true", SourceAWSNode, AgentContainer, FlagEnableNetworkPolicy)
	case !a.Knows(EnvEnforcingMode):
		return false, false, ""
	case a.EnforcingMode != ModeStrict && a.EnforcingMode != ModeStandard:
		return false, true, fmt.Sprintf("%s has %s %s, which its agent refuses, so the agent does not start",
			SourceAWSNode, EnvEnforcingMode, modeName(a.EnforcingMode))
	}
	return true, true, ""
}

func modeName(mode string) string {
	if mode == "" {
		return "unset"
	}
	return fmt.Sprintf("%q", mode)
}

func controllerOffMessage(value string) string {
	return fmt.Sprintf("%s has %s %q, not \"true\": EKS's network policy controller makes no PolicyEndpoints, so no NetworkPolicy is enforced",
		SourceVPCCNIConfig, KeyControllerEnabled, value)
}

// poolsOf lists, sorted, the NodePools on nodeClass.
func (f *Facts) poolsOf(nodeClass string) []string {
	var pools []string
	for pool, class := range f.NodePools {
		if class == nodeClass {
			pools = append(pools, pool)
		}
	}
	slices.Sort(pools)
	return pools
}

// podsOn names the pods a NodeClass's setting reaches, for messages.
func (f *Facts) podsOn(nodeClass string) string {
	pools := f.poolsOf(nodeClass)
	switch {
	case len(pools) == 1:
		return "pods on NodePool " + pools[0]
	case len(pools) > 1:
		return "pods on NodePools " + strings.Join(pools, ", ")
	case f.Read(SourceNodePools):
		return "pods on its nodes (no NodePool refers to it yet)"
	}
	return "pods on its nodes"
}

// Holder hands the latest Facts from the watcher to readers (the coverage
// rule, once per admission) without a lock.
type Holder struct {
	p atomic.Pointer[Facts]
}

// Load returns the latest Facts; nil (nothing known) before the first read
// or on a nil Holder.
func (h *Holder) Load() *Facts {
	if h == nil {
		return nil
	}
	return h.p.Load()
}

// Store makes f the latest Facts.
func (h *Holder) Store(f *Facts) { h.p.Store(f) }
