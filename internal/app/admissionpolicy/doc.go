// Package admissionpolicy keeps eksguard's MutatingAdmissionPolicy and its
// binding in line with the policy in force, where the API server serves
// admissionregistration.k8s.io/v1 MutatingAdmissionPolicies (Kubernetes
// 1.36+): the seccomp mutation then happens inside the API server, with no
// call to eksguard, and survives an eksguard outage. Where they are not
// served, nothing is written and the webhook mutates as before.
package admissionpolicy
