// Package cli is eksguard's command line: `serve` runs the admission
// webhook server (and is what a bare `eksguard` runs, so existing
// deployments keep working), `check` judges manifests offline and `audit`
// judges what a cluster already runs. check and audit run the webhook's own
// admission handlers in-process: there is one implementation of each rule.
// The commands only parse flags and wire the parts: manifests are read by
// package manifest, judged by package offline and written by package report.
package cli
