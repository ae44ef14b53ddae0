// Package seccomp gives every Linux pod without a pod-level seccomp profile
// the RuntimeDefault profile and reports explicit Unconfined profiles.
//
// The pod-level profile applies to every container that sets none of its
// own, so adding it is the one minimal change that puts a whole pod under
// seccomp without overriding what a container chose. Only Pods are mutated:
// changing workload templates would make GitOps tools report drift forever,
// and the pods they create come through this webhook anyway.
package seccomp
