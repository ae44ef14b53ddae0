// Package netpol implements the NetworkPolicy coverage rule: a pod (or a
// workload's pod template) must be isolated, in the directions the policy
// configuration asks for, by the policy kinds the cluster's data plane
// enforces: networking.k8s.io NetworkPolicies, and every other kind of
// Kinds whose CRD the API server serves.
package netpol
