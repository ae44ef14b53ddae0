// Package dataplane reads what a cluster's own objects say about how the
// Amazon VPC CNI enforces NetworkPolicies, so that eksguard can check an
// operator's declared cluster-wide default-deny (config.ClusterDefaultDeny)
// instead of trusting it, and so that the coverage rule can ask whether a
// pod's compute is default-deny at all.
//
// The sources, as read at aws/amazon-vpc-cni-k8s b52188387f2e and
// aws/aws-network-policy-agent c8619c056b4c:
//
//   - DaemonSet kube-system/aws-node: container aws-node's environment
//     (NETWORK_POLICY_ENFORCING_MODE, ENABLE_POD_ENI,
//     POD_SECURITY_GROUP_ENFORCING_MODE) and container aws-eks-nodeagent's
//     --enable-network-policy flag. It describes EC2 Linux nodes only.
//   - ConfigMap kube-system/amazon-vpc-cni, key
//     enable-network-policy-controller: without it EKS's control-plane
//     controller makes no PolicyEndpoints and no policy is enforced.
//   - eks.amazonaws.com/v1 NodeClass spec.networkPolicy, and the
//     karpenter.sh/v1 NodePools that refer to each NodeClass: Auto Mode's
//     per-NodeClass default.
//
// A cluster-wide declaration holds only if every compute class a pod can
// reach denies by default: strict aws-node, DefaultDeny on every NodeClass.
//
// Everything here is pure: Builder and FromObjects turn objects into Facts,
// whose queries and Findings are cheap and safe on a nil *Facts (nothing
// known). Reading the objects from a cluster is internal/app/dataplanewatch's
// job; Holder hands its latest Facts to readers.
package dataplane
