// Package ruletest holds what the rule packages' tests share: a policy
// compiled from the defaults plus an edit, a decision context over it,
// exact renderings of admission answers, and field-error assertions.
package ruletest
