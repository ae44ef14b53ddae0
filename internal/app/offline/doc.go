// Package offline runs eksguard's own admission handlers in-process, as the
// webhook server registers them from webhook.Routes, on objects that are
// not (yet) in a cluster: Engine asks every route in the API server's
// order and gives each object's Result, its findings as data; Store is the
// cluster those handlers read (namespaces, policies, Ingress groups and
// classes), filled from manifests by check or from a cluster by audit.
package offline
