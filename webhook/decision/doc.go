// Package decision is where a rule's verdict becomes eksguard's answer.
//
// A Decider says what the policy in force decides for one object (mode,
// exclusion, exemption); a rule returns a Ruling per finding mode, its
// violations under that decision; Compose turns rulings into an Answer,
// whose Findings are data (rule, outcome, field, detail, patches) that
// every output renders directly: the webhook's AdmissionResponse
// (Answer.Response), and check's table, JSON, SARIF, JUnit and policy
// reports. Undecided and BadRequest are the answers for what a rule could
// not decide and for input nobody can read.
package decision
