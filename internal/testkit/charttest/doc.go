// Package charttest renders the Helm chart for tests: the chart rendering
// tests (test/chart, no control plane) and the chart tests that install it
// into envtest (test/) share it. It runs the helm that make builds
// ($HELM, else bin/helm-*).
package charttest
