// Package webhook is eksguard's route table: every admission webhook it
// serves (Routes), each a name, a path, and the Spec its rule package
// declares (rule, kinds, operations, the modes that can make it deny), and
// SetupWithManager, which registers them on a controller-runtime manager.
// The chart's webhook configurations, the README's path table, the test
// bed and the offline engine are all held to this one table.
//
// Each rule lives in its own package (seccomp, netpol, lbtls) as pure rule
// functions and a handler of the one shape of package admit; package
// decision turns their rulings into answers whose findings are data.
package webhook
