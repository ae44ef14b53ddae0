// Package policywatch keeps the config.Store in line with the policy
// ConfigMap: a controller-runtime reconciler of that one ConfigMap, its
// Events and its metrics.
package policywatch
