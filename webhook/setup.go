// Package webhook registers eksguard's admission webhooks with a
// controller-runtime manager. Each rule lives in its own package with a pure
// rule function, a thin handler and its own SetupWithManager.
package webhook

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
	"github.com/eksguard/eksguard/webhook/seccomp"
)

// Options are the dependencies shared by every webhook.
type Options struct {
	Policies decision.Policies
	// APIReader reads live from the API server, bypassing the cache.
	APIReader client.Reader
}

// SetupWithManager registers every eksguard webhook on mgr's webhook server.
func SetupWithManager(mgr manager.Manager, opts Options) error {
	if err := seccomp.SetupWithManager(mgr, opts.Policies); err != nil {
		return err
	}
	if err := netpol.SetupWithManager(mgr, opts.Policies, opts.APIReader); err != nil {
		return err
	}
	return lbtls.SetupWithManager(mgr, opts.Policies)
}
