// Package calicoselector parses and evaluates Calico's selector language, the
// one in the spec.selector, spec.namespaceSelector and
// spec.serviceAccountSelector of projectcalico.org/v3 NetworkPolicy and
// GlobalNetworkPolicy objects (not Kubernetes label selectors). eksguard needs
// it to decide which pods a Calico policy isolates; Calico's Go module is not
// a dependency, so this is a small reimplementation held to Calico's own test
// cases.
//
// Ground truth is libcalico-go/lib/selector (tokenizer/tokenizer.go,
// parser/parser.go, parser/ast.go) at projectcalico/calico commit
// 87c15906f20c4ca1fda55af92295e7678b0cc0b2. Parse accepts exactly what
// Calico's parser.Parse accepts, with one deliberate limit: parentheses nested
// deeper than MaxNesting are refused (ErrTooDeep), so a hostile object cannot
// make the webhook recurse without bound. No selector within the 1024-byte
// MaxLength of Calico's v3 CRD fields nests that deep.
//
// The language, as Calico tokenizes and parses it:
//
//   - all() and global() match everything; "" (or only spaces and tabs) is all().
//   - has(k); k == "v"; k != "v"; k in {"a", "b"}; k not in {...};
//     k contains "s"; k starts with "s"; k ends with "s". "notin",
//     "startswith" and "endswith" are accepted spellings. != and not in are
//     true when the label is absent; every other test of a value is false.
//   - ! negates one operation or a parenthesised group; && binds tighter
//     than ||; strings are quoted with ' or " and have no escapes.
//   - Whitespace is only space and tab: a newline is a syntax error, as in
//     Calico's trimWhitespace.
//   - Label keys are 1 to 512 bytes of [a-zA-Z0-9_./-].
package calicoselector
