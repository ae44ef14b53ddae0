// Package internal holds eksguard's code outside the rules, on three floors
// whose imports run one way (TestLayers holds them to it):
//
//   - lib: leaf libraries the rules and the program use (JSON scanning and
//     decoding, lazy request loggers, log keys, the watcher of served
//     kinds). They import no other eksguard package but each other.
//   - app: the program: the commands (cli), the offline engine and its
//     reports, the server and what it runs (certificates, the failure-policy
//     reconciler, the policy watcher). It imports config, webhook and lib.
//   - testkit: what tests share (the rules' test helpers, the chart
//     renderer, the envtest test bed). Only tests, the demo and each other
//     import it.
//
// webhook (the rules and the route table) and config (the policy schema)
// import lib only.
package internal
