package server

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync/atomic"
	"time"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
)

// drainingServer is controller-runtime's webhook server with request
// contexts that survive shutdown.
//
// On SIGTERM the manager cancels the webhook server's context; the server
// then calls http.Server.Shutdown, which stops accepting connections, closes
// idle keep-alive connections at once (so the API server does not send the
// next admission on a connection about to close, kubernetes#127335), answers
// in-flight requests with "Connection: close", and waits for them to finish.
// Idle keep-alives otherwise last 90 seconds, matching client-go's transport.
//
// But controller-runtime derives every request context from that same
// cancelled server context, so an admission in flight at SIGTERM would see
// context.Canceled on its first live API read and fail. drainingServer
// detaches request contexts from the server's cancellation and bounds them
// instead by the timeout the API server sends with each admission request.
//
// It also runs the certificate source, if any, for exactly its own lifetime:
// a manager runnable of the "others" group would start only after the
// caches synced, and until then the server could not complete a handshake.
type drainingServer struct {
	*crwebhook.DefaultServer
	// inFlight counts the admissions being answered.
	inFlight atomic.Int64
	// certificates feeds the TLS config's GetCertificate; nil when
	// controller-runtime's own certwatcher reads CertDir.
	certificates certificateSource
}

// certificateSource is a runnable that loads the serving certificate.
type certificateSource interface {
	manager.Runnable
	// GetCertificate fails until a certificate is loaded.
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

// certificatePollInterval spaces the checks for the first certificate.
const certificatePollInterval = 100 * time.Millisecond

// fallbackAdmissionTimeout bounds a request that carries no timeout
// parameter; the API server never waits longer than 30 seconds.
const fallbackAdmissionTimeout = 30 * time.Second

// bodyReadTimeout bounds the read of a request body: the API server sends
// the whole AdmissionReview at once, so a body that trickles in is a client
// holding a connection (and its buffers) open, and is cut off.
var bodyReadTimeout = 5 * time.Second

func newDrainingServer(opts crwebhook.Options) *drainingServer {
	return &drainingServer{DefaultServer: crwebhook.NewServer(opts).(*crwebhook.DefaultServer)}
}

// Start runs the certificate source and, once it has a certificate, serves
// until ctx is done. Listening only then keeps the API server and probes
// from failing TLS handshakes (each logged) while a self-managed
// certificate is still being issued; /readyz reports "not started" meanwhile.
func (s *drainingServer) Start(ctx context.Context) error {
	if s.certificates != nil {
		go func() {
			if err := s.certificates.Start(ctx); err != nil {
				logf.FromContext(ctx).Error(err, "certificate watcher stopped")
			}
		}()
		for {
			if _, err := s.certificates.GetCertificate(nil); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(certificatePollInterval):
			}
		}
	}
	return s.DefaultServer.Start(ctx)
}

// Register serves hook at path with a shutdown-proof request context,
// counting the admissions in flight.
func (s *drainingServer) Register(path string, hook http.Handler) {
	detached := detachFromShutdown(hook)
	s.DefaultServer.Register(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		detached.ServeHTTP(w, r)
	}))
}

// detachFromShutdown replaces the request context with one that keeps its
// values but not its cancellation, and that ends after the admission
// timeout the API server passed in the "timeout" query parameter. It also
// gives the body bodyReadTimeout to arrive.
func detachFromShutdown(hook http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Not every ResponseWriter supports deadlines (tests' recorders);
		// the server's connections do.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), admissionTimeout(r))
		defer cancel()
		hook.ServeHTTP(w, r.WithContext(ctx))
	})
}

// admissionTimeout reads the API server's "timeout" query parameter
// (webhook timeoutSeconds, e.g. "5s").
func admissionTimeout(r *http.Request) time.Duration {
	d, err := time.ParseDuration(r.URL.Query().Get("timeout"))
	if err != nil || d <= 0 || d > fallbackAdmissionTimeout {
		return fallbackAdmissionTimeout
	}
	return d
}
