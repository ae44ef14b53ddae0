// Package config is eksguard's policy configuration schema: the document
// stored in the policy ConfigMap, its built-in defaults, strict parsing,
// validation, the compiled form that admission handlers read, and the
// atomic Store that holds the one in force. The watcher that keeps the Store
// in line with the ConfigMap is internal/app/policywatch.
package config
