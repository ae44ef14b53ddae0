// Package resource names API kinds together with the resource the API
// server serves them under, and turns lists of them into webhook rules.
package resource
