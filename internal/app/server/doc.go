// Package server wires eksguard's controller-runtime manager: the webhook
// server, the informer cache of the objects the rules read, the policy
// store and its ConfigMap watcher, and the health checks. The serve command
// (internal/app/cli) and the test bed (internal/testkit/testbed, for the envtest suite
// and the demo) all build the server through New, so tests run the same
// wiring as production.
package server
