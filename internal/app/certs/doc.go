// Package certs provides the webhook server's TLS certificates when no
// cert-manager is installed: it generates a long-lived CA and a serving
// certificate into a Secret, renews them well before they expire, and
// patches the CA bundle into eksguard's webhook configurations
// (github.com/open-policy-agent/cert-controller, as used by Gatekeeper).
// The Secret reaches the server as a mounted volume; Watcher serves what is
// on disk and picks up renewed certificates without a restart.
package certs
