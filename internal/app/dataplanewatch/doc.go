// Package dataplanewatch reads, from the live cluster, the objects that say
// how the VPC CNI enforces NetworkPolicies (webhook/netpol/dataplane names
// them), publishes them as dataplane.Facts for the coverage rule, and checks
// them against the cluster-wide default-deny the policy in force declares:
// every contradiction is logged, recorded as an Event and counted in the
// gauge eksguard_data_plane_contradictions. An operator's declaration that
// the cluster silently contradicts would otherwise make eksguard admit
// uncovered pods as isolated.
package dataplanewatch
