// Command eksguard runs the eksguard admission webhook server (the default
// command) and its offline tools; see internal/app/cli.
package main
