// Package testbed runs eksguard against a local control plane: envtest's
// kube-apiserver and etcd, built from source by hack/build-envtest.sh, and
// the eksguard server in-process, serving the webhooks that envtest
// registers. The envtest suite (test/) and the demo (hack/demo) share it.
package testbed
