package server

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/manager"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/eksguard/eksguard/internal/app/certs"
)

// CertRotationOptions configure eksguard's own certificate management
// (internal/app/certs). Leave it off when cert-manager fills CertDir.
type CertRotationOptions struct {
	Enabled bool
	// SecretName is the Secret in OwnNamespace that is mounted at CertDir.
	SecretName string
	// ServiceName is the webhook Service in OwnNamespace. The webhook
	// configurations that get the CA bundle are Options.WebhookConfigurationName.
	ServiceName string
}

// Defaults of CertRotationOptions, the names the Helm chart uses for a
// release named eksguard.
const (
	DefaultCertSecretName           = "eksguard-webhook-tls"
	DefaultWebhookServiceName       = "eksguard"
	DefaultWebhookConfigurationName = "eksguard"
)

// withCertWatcher makes srv serve the certificate of a certs.Watcher on
// certDir instead of controller-runtime's own certwatcher: the Watcher waits
// for the files to appear, so the server can start while the self-managed
// certificate is still being generated.
func withCertWatcher(srv crwebhook.Server, certDir string) crwebhook.Server {
	if certDir == "" {
		// controller-runtime's default CertDir.
		certDir = filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs")
	}
	watcher := certs.NewWatcher(certDir)
	ds := srv.(*drainingServer)
	ds.Options.TLSOpts = append(ds.Options.TLSOpts, func(c *tls.Config) { c.GetCertificate = watcher.GetCertificate })
	// The webhook server runs the watcher: it must serve before the caches sync.
	ds.certificates = watcher
	return srv
}

// setupCertificates runs, when enabled, the certificate rotation, whose
// readiness check holds admissions back until the certificate is on disk
// and its CA in the webhook configurations.
func setupCertificates(mgr manager.Manager, opts Options) error {
	rotation := opts.CertRotation
	if !rotation.Enabled {
		return nil
	}
	ready := make(chan struct{})
	if err := certs.SetupWithManager(mgr, certs.Options{
		Namespace:                       opts.OwnNamespace,
		SecretName:                      rotation.SecretName,
		ServiceName:                     rotation.ServiceName,
		CertDir:                         opts.CertDir,
		MutatingWebhookConfigurations:   []string{opts.WebhookConfigurationName},
		ValidatingWebhookConfigurations: []string{opts.WebhookConfigurationName},
		Ready:                           ready,
	}); err != nil {
		return fmt.Errorf("setting up certificate rotation: %w", err)
	}
	return mgr.AddReadyzCheck("certificates", certs.ReadyChecker(ready))
}
