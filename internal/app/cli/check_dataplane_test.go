package cli

import (
	"strings"
	"testing"
)

const (
	// awsNodeStrictYAML is the VPC CNI in strict mode with its policy agent on.
	awsNodeStrictYAML = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: aws-node}}
  template:
    metadata: {labels: {k8s-app: aws-node}}
    spec:
      containers:
      - name: aws-node
        image: aws-node
        env: [{name: NETWORK_POLICY_ENFORCING_MODE, value: strict}]
      - name: aws-eks-nodeagent
        image: aws-network-policy-agent
        args: [--enable-network-policy=true]
`
	nodeClassDenyYAML = `apiVersion: eks.amazonaws.com/v1
kind: NodeClass
metadata: {name: default}
spec: {networkPolicy: DefaultDeny}
`
	nodePoolYAML = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    spec:
      nodeClassRef: {group: eks.amazonaws.com, kind: NodeClass, name: default}
`
	securityGroupPolicyYAML = `apiVersion: vpcresources.k8s.aws/v1beta1
kind: SecurityGroupPolicy
metadata: {name: web, namespace: team}
spec:
  podSelector: {matchLabels: {app: web}}
  securityGroups: {groupIds: [sg-0123456789abcdef0]}
`
	vpcCNIConfigMapYAML = `apiVersion: v1
kind: ConfigMap
metadata: {name: amazon-vpc-cni, namespace: kube-system}
data: {enable-network-policy-controller: "true"}
`
	// ownedPodYAML is a ReplicaSet's pod (not standalone) that needs no patch.
	ownedPodYAML = `apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: team
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: "1", controller: true}]
spec:
  securityContext: {seccompProfile: {type: RuntimeDefault}}
  containers: [{name: web, image: nginx}]
`
	egressOnlyYAML = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-only, namespace: team}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress: [{}]
`
	// noDNSPolicyYAML leaves out the DNS step's warning.
	noDNSPolicyYAML = `apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  networkPolicy:
    dns: {mode: "off"}
`
	bothNoDNSPolicyYAML = `apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  networkPolicy:
    coverage: both
    dns: {mode: "off"}
`
	awsNodeAdmitted = "admitted  DaemonSet  kube-system  aws-node  DIR/aws-node.yaml#1"
	noNodeClass     = "Assumed: the input has no NodeClass, so Auto Mode nodes may allow by default: " +
		"VPC CNI strict mode (DaemonSet kube-system/aws-node) is not taken to isolate pods."
)

// TestCheckDataPlane: the VPC CNI's objects in the input are context that
// says which pods the data plane isolates by default. A source the input
// does not show is unknown (dataplane.FromObjects): strict mode on aws-node
// isolates a pod only when the input also shows that every Auto Mode
// NodeClass denies by default.
func TestCheckDataPlane(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		args       []string // "DIR" is replaced by the directory of files
		wantCode   int
		wantStdout []string
	}{
		{
			name:     "the pod alone",
			files:    map[string]string{"pod.yaml": ownedPodYAML},
			args:     []string{"check", "-f", "DIR/pod.yaml"},
			wantCode: ExitViolations,
			wantStdout: []string{
				"RESULT  KIND  NAMESPACE  NAME   SOURCE",
				"denied  Pod   team       web-1  DIR/pod.yaml#1",
				"        eksguard denied this Pod: [networkPolicy] metadata.labels: Namespace team has no NetworkPolicy to select Pod web-1 ...",
				"",
				"1 checked under policy built-in defaults: 0 admitted, 1 denied.",
			},
		},
		{
			name:     "strict mode, NodeClasses unknown: the pod is still denied",
			files:    map[string]string{"aws-node.yaml": awsNodeStrictYAML, "pod.yaml": ownedPodYAML},
			args:     []string{"check", "-f", "DIR"},
			wantCode: ExitViolations,
			wantStdout: []string{
				"RESULT    KIND       NAMESPACE    NAME      SOURCE",
				awsNodeAdmitted,
				"denied    Pod        team         web-1     DIR/pod.yaml#1",
				"          eksguard denied this Pod: [networkPolicy] metadata.labels: Namespace team has no NetworkPolicy to select Pod web-1 ...",
				"",
				"2 checked under policy built-in defaults: 1 admitted, 1 denied.",
				noNodeClass,
			},
		},
		{
			name:     "strict mode and a DefaultDeny NodeClass isolate an unselected pod; the DNS step warns",
			files:    map[string]string{"aws-node.yaml": awsNodeStrictYAML, "nodeclass.yaml": nodeClassDenyYAML, "pod.yaml": ownedPodYAML},
			args:     []string{"check", "-f", "DIR"},
			wantCode: ExitClean,
			wantStdout: []string{
				"RESULT    KIND       NAMESPACE    NAME      SOURCE",
				awsNodeAdmitted,
				"warned    Pod        team         web-1     DIR/pod.yaml#1",
				"          warning: eksguard [networkPolicy] Pod web-1 has no DNS path (UDP 53): the cluster's default-deny (VPC CNI strict mode ...",
				"",
				"2 checked under policy built-in defaults: 1 admitted, 1 warned. 1 not checked (NodeClass).",
			},
		},
		{
			name: "strict mode and a DefaultDeny NodeClass, DNS step off: admitted",
			files: map[string]string{"aws-node.yaml": awsNodeStrictYAML, "nodeclass.yaml": nodeClassDenyYAML, "pod.yaml": ownedPodYAML,
				"policy/policy.yaml": noDNSPolicyYAML},
			args:     []string{"check", "-f", "DIR", "--policy", "DIR/policy/policy.yaml"},
			wantCode: ExitClean,
			wantStdout: []string{
				"RESULT    KIND       NAMESPACE    NAME      SOURCE",
				awsNodeAdmitted,
				"admitted  Pod        team         web-1     DIR/pod.yaml#1",
				"",
				"2 checked under policy DIR/policy/policy.yaml: 2 admitted. 1 not checked (NodeClass).",
			},
		},
		{
			// The DaemonSet is judged in --namespace, as before, but read
			// as kube-system's aws-node.
			name: "an aws-node DaemonSet without namespace is kube-system's",
			files: map[string]string{"aws-node.yaml": strings.Replace(awsNodeStrictYAML, ", namespace: kube-system", "", 1),
				"nodeclass.yaml": nodeClassDenyYAML, "pod.yaml": ownedPodYAML, "policy/policy.yaml": noDNSPolicyYAML},
			args:     []string{"check", "-f", "DIR", "--policy", "DIR/policy/policy.yaml", "-n", "apps"},
			wantCode: ExitClean,
			wantStdout: []string{
				"RESULT    KIND       NAMESPACE  NAME      SOURCE",
				"admitted  DaemonSet  apps       aws-node  DIR/aws-node.yaml#1",
				"admitted  Pod        team       web-1     DIR/pod.yaml#1",
				"",
				"2 checked under policy DIR/policy/policy.yaml: 2 admitted. 1 not checked (NodeClass).",
			},
		},
		{
			// A policy that selects the pod ends the agent's default-deny:
			// isolated for Egress only, the pod is denied for Ingress.
			name: "strict mode and an Egress-only policy under coverage both",
			files: map[string]string{"aws-node.yaml": awsNodeStrictYAML, "nodeclass.yaml": nodeClassDenyYAML, "pod.yaml": egressOnlyYAML + "---\n" + ownedPodYAML,
				"policy/policy.yaml": bothNoDNSPolicyYAML},
			args:     []string{"check", "-f", "DIR", "--policy", "DIR/policy/policy.yaml"},
			wantCode: ExitViolations,
			wantStdout: []string{
				"RESULT    KIND       NAMESPACE    NAME      SOURCE",
				awsNodeAdmitted,
				"denied    Pod        team         web-1     DIR/pod.yaml#2",
				"          eksguard denied this Pod: [networkPolicy] metadata.labels: The only NetworkPolicy in namespace team " +
					"does not isolate Pod web-1 (labels app=web) for Ingress; ...",
				"",
				"2 checked under policy DIR/policy/policy.yaml: 1 admitted, 1 denied. 2 not checked (NodeClass, NetworkPolicy).",
			},
		},
		{
			name: "a pod pinned to a NodePool on a DefaultDeny NodeClass, aws-node unknown",
			files: map[string]string{"nodeclass.yaml": nodeClassDenyYAML + "---\n" + nodePoolYAML, "policy/policy.yaml": noDNSPolicyYAML,
				"pod.yaml": strings.Replace(ownedPodYAML, "spec:\n", "spec:\n  nodeSelector: {karpenter.sh/nodepool: general}\n", 1)},
			args:     []string{"check", "-f", "DIR", "--policy", "DIR/policy/policy.yaml"},
			wantCode: ExitClean,
			wantStdout: []string{
				"RESULT    KIND  NAMESPACE  NAME   SOURCE",
				"admitted  Pod   team       web-1  DIR/pod.yaml#1",
				"",
				"1 checked under policy DIR/policy/policy.yaml: 1 admitted. 2 not checked (NodeClass, NodePool).",
				"Assumed: the input has no DaemonSet kube-system/aws-node, so EC2 nodes may allow by default: " +
					"only pods pinned to Auto Mode nodes are taken to be isolated by their NodeClass's DefaultDeny.",
			},
		},
		{
			name: "NodeClass, NodePool, SecurityGroupPolicy and amazon-vpc-cni are context, not checked",
			files: map[string]string{"context.yaml": nodeClassDenyYAML + "---\n" + nodePoolYAML + "---\n" + securityGroupPolicyYAML +
				"---\n" + vpcCNIConfigMapYAML},
			args:     []string{"check", "-f", "DIR"},
			wantCode: ExitClean,
			wantStdout: []string{
				"0 checked under policy built-in defaults: 0 admitted. 4 not checked (NodeClass, NodePool, SecurityGroupPolicy, ConfigMap).",
				"Assumed: the input has no DaemonSet kube-system/aws-node, ...",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "DIR", dir)
			}
			code, stdout, stderr := run(t, "", args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
			assertLines(t, "stdout", strings.ReplaceAll(stdout, dir, "DIR"), tt.wantStdout)
		})
	}
}
