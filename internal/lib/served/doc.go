// Package served watches kinds that exist only while their CRD is
// installed: a rule registers a kind with the cache transform of what it
// reads, and the Watcher runs an informer for it while the API server
// serves it, starting and stopping it as the CRD comes and goes, without a
// restart. One Watcher serves the whole server; CRD events prompt it,
// with a periodic rediscovery as the safety net.
package served
