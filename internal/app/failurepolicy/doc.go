// Package failurepolicy keeps the failurePolicy of every entry of eksguard's
// own two webhook configurations in line with the policy in force: closed
// only for routes that may deny, open for warn, off and dry run. The chart
// renders failure policies once, while modes change at runtime through the
// policy ConfigMap; without this a ConfigMap edit to warn would leave a down
// eksguard blocking, and an edit to enforce would leave it failing open.
package failurepolicy
