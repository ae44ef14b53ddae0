// Command demo runs eksguard end to end on this machine: a local control
// plane (envtest's kube-apiserver and etcd, built once by
// hack/build-envtest.sh), the eksguard server in-process with its webhooks
// registered, the manifests of examples/ applied one by one with what
// happened to each, and `eksguard audit` on the result. Run it from the
// repository root: go run ./hack/demo (or make demo).
package main
