// Package report renders what the offline engine found, from its results
// and their findings as data: check's table, JSON, SARIF 2.1.0 and JUnit
// XML, audit's tables, and the policy reports (openreports.io and
// wgpolicyk8s.io) that audit writes or applies.
package report
