package webhook

import (
	"fmt"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/eksguard/eksguard/internal/lib/served"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

// Options are the dependencies shared by every webhook.
type Options struct {
	Decider decision.Decider
	// APIReader reads live from the API server, bypassing the cache.
	APIReader client.Reader
	// DataPlane holds what the cluster says of the VPC CNI's enforcement
	// (internal/app/dataplanewatch keeps it); nil: nothing known.
	DataPlane *dataplane.Holder
}

// SetupWithManager prepares what the rules read from the manager (the
// policy index and its informers, the Ingress indexes, IngressClassParams,
// ACK LoadBalancers)
// and registers every route on mgr's webhook server.
func SetupWithManager(mgr manager.Manager, opts Options) error {
	// Rules watch their custom kinds only while the API server serves them,
	// through one watcher.
	disc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("creating the discovery client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("creating the dynamic client: %w", err)
	}
	watcher := served.NewWatcher(disc, dyn)
	coverage, err := netpol.SetupWithManager(mgr, opts.Decider, opts.APIReader, watcher)
	if err != nil {
		return err
	}
	coverage.DataPlane = opts.DataPlane
	lb, err := lbtls.SetupWithManager(mgr, watcher)
	if err != nil {
		return err
	}
	if err := watcher.AddToManager(mgr); err != nil {
		return err
	}
	// Ready once every served kind's informer has synced.
	if err := mgr.AddReadyzCheck("served-kinds", watcher.ReadyCheck); err != nil {
		return fmt.Errorf("adding the served kinds readiness check: %w", err)
	}
	h := Handlers{Decider: opts.Decider, Coverage: coverage, Ingresses: lb.Ingresses, LiveIngresses: opts.APIReader,
		IngressClasses: lb.Classes, ACK: lb.ACK, Gateways: lb.Gateways}
	server := mgr.GetWebhookServer()
	for _, r := range Routes {
		hook := r.Webhook(h)
		hook.RecoverPanic = ptr.To(true)
		server.Register(r.Path, hook)
	}
	return nil
}
