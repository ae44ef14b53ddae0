// Package testcert issues TLS certificates for tests: self-signed, or
// signed by a given CA. It is a leaf package so that the tests of
// internal/app/certs and internal/app/server can use it too.
package testcert
