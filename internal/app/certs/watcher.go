package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/eksguard/eksguard/internal/lib/logkeys"
)

// Watcher serves the certificate and key in a directory, waiting for them
// to appear first. controller-runtime's certwatcher, which it wraps, needs
// the files when it starts; but with self-managed certificates the pod
// starts with the Secret still empty, and kubelet writes the files into the
// mounted volume only after eksguard has filled the Secret. Once loaded,
// certwatcher reloads the files on change (fsnotify) and every 10 seconds,
// which covers kubelet's atomic symlink swap of Secret volumes.
//
// Use GetCertificate as the webhook server's tls.Config.GetCertificate and
// add the Watcher to the manager.
type Watcher struct {
	certPath, keyPath string
	// pollInterval is how often the files are looked for before they exist.
	pollInterval time.Duration
	current      atomic.Pointer[certwatcher.CertWatcher]
}

var _ manager.LeaderElectionRunnable = &Watcher{}

// NewWatcher returns a Watcher for CertFile and KeyFile in dir.
func NewWatcher(dir string) *Watcher {
	return &Watcher{
		certPath:     filepath.Join(dir, CertFile),
		keyPath:      filepath.Join(dir, KeyFile),
		pollInterval: time.Second,
	}
}

// Start waits until the certificate and key can be loaded, then watches
// them until ctx is done.
func (w *Watcher) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("cert-watcher").WithValues(logkeys.Cert, w.certPath)
	var cw *certwatcher.CertWatcher
	var lastErr error
	err := wait.PollUntilContextCancel(ctx, w.pollInterval, true, func(context.Context) (bool, error) {
		if _, err := os.Stat(w.certPath); err != nil {
			lastErr = err
			return false, nil
		}
		var err error
		if cw, err = certwatcher.New(w.certPath, w.keyPath); err != nil {
			// The volume may be mid-update; try again.
			lastErr = err
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("waiting for the serving certificate: %w", errors.Join(err, lastErr))
	}
	log.Info("Serving certificate loaded")
	w.current.Store(cw)
	return cw.Start(ctx)
}

// NeedLeaderElection is false: every replica serves.
func (w *Watcher) NeedLeaderElection() bool { return false }

// GetCertificate returns the current certificate, or an error (failing the
// TLS handshake) while there is none yet.
func (w *Watcher) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cw := w.current.Load()
	if cw == nil {
		return nil, fmt.Errorf("no serving certificate in %s yet", filepath.Dir(w.certPath))
	}
	return cw.GetCertificate(hello)
}
