// Package logkeys holds every structured log key of eksguard, so that log
// queries do not depend on message wording and one key means one thing
// (Gatekeeper's pkg/logging is the model). No log call uses a literal key.
package logkeys
