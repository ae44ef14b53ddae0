package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	"github.com/eksguard/eksguard/internal/app/certs"
	"github.com/eksguard/eksguard/internal/lib/logkeys"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// drainingServer is controller-runtime's webhook server with a shutdown
// that loses no admission.
//
// The API server keeps webhook connections alive and does not retry a call
// that fails: a connection the webhook closes while the API server is
// sending a request on it (the keep-alive race, kubernetes#127335) fails
// that admission. So on SIGTERM the server does not close idle connections
// at once. For drainPeriod it keeps listening and serving, and answers every
// request with "Connection: close": each client connection is retired by a
// completed response, never closed under a request. Only then does
// http.Server.Shutdown stop listening, close what is still idle (unused for
// the whole period), and wait for in-flight admissions. Idle keep-alives
// otherwise last 90 seconds, matching client-go's transport.
//
// controller-runtime derives every request context from the server context,
// so an admission in flight at SIGTERM would see context.Canceled on its
// first live API read and fail. drainingServer detaches request contexts
// from that cancellation and bounds them instead by the timeout the API
// server sends with each admission request.
//
// It also runs the certificate source, if any, for exactly its own lifetime:
// a manager runnable of the "others" group would start only after the
// caches synced, and until then the server could not complete a handshake.
type drainingServer struct {
	*crwebhook.DefaultServer
	// inFlight counts the admissions being answered.
	inFlight atomic.Int64
	// drainPeriod is how long the server keeps serving after SIGTERM,
	// retiring connections; draining is set during it.
	drainPeriod time.Duration
	draining    atomic.Bool
	// maxConnections caps the connections served at once (0: no cap);
	// further ones wait in the listen backlog.
	maxConnections int
	// started is set once the server listens.
	started atomic.Bool
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
	// The server sees its context end only after the drain period.
	serveCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	go func() {
		select {
		case <-ctx.Done():
		case <-serveCtx.Done():
			return
		}
		s.draining.Store(true)
		logf.FromContext(ctx).Info("draining: answering with Connection: close before the webhook server stops")
		timer := time.NewTimer(s.drainPeriod)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-serveCtx.Done():
		}
		stop()
	}()
	return s.serve(serveCtx)
}

// Defaults of the certificate file names in CertDir: the names the rotator
// writes and the chart projects.
const (
	defaultCertName = certs.CertFile
	defaultKeyName  = certs.KeyFile
)

// Timeouts of the HTTP server, as controller-runtime's: headers get 32 s,
// idle keep-alives last 90 s (client-go's transport), bodies bodyReadTimeout.
const (
	readHeaderTimeout = 32 * time.Second
	idleTimeout       = 90 * time.Second
	// shutdownTimeout bounds the wait for in-flight requests after the
	// drain; the manager's graceful shutdown timeout ends it sooner.
	shutdownTimeout = time.Minute
)

// serve listens (at most maxConnections at once) and serves the registered
// webhooks over TLS until ctx is done, then stops listening and waits for
// in-flight requests. It replaces controller-runtime's DefaultServer.Start,
// which offers no way to cap connections.
func (s *drainingServer) serve(ctx context.Context) error {
	opts := s.Options
	cfg := &tls.Config{NextProtos: []string{"h2"}}
	for _, op := range opts.TLSOpts {
		op(cfg)
	}
	if cfg.GetCertificate == nil {
		certName, keyName := opts.CertName, opts.KeyName
		if certName == "" {
			certName = defaultCertName
		}
		if keyName == "" {
			keyName = defaultKeyName
		}
		watcher, err := certwatcher.New(filepath.Join(opts.CertDir, certName), filepath.Join(opts.CertDir, keyName))
		if err != nil {
			return err
		}
		cfg.GetCertificate = watcher.GetCertificate
		go func() {
			if err := watcher.Start(ctx); err != nil {
				logf.FromContext(ctx).Error(err, "certificate watcher stopped")
			}
		}()
	}
	listener, err := tls.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)), cfg)
	if err != nil {
		return err
	}
	if s.maxConnections > 0 {
		listener = netutil.LimitListener(listener, s.maxConnections)
	}
	mux := s.WebhookMux()
	if mux == nil {
		mux = http.NewServeMux()
	}
	srv := &http.Server{
		Handler:           mux,
		MaxHeaderBytes:    1 << 20,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	shutDown := make(chan struct{})
	go func() {
		defer close(shutDown)
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			logf.FromContext(ctx).Error(err, "shutting down the webhook server")
		}
	}()
	s.started.Store(true)
	logf.FromContext(ctx).Info("serving webhooks", logkeys.Address, listener.Addr().String())
	if err := srv.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-shutDown
	return nil
}

// StartedChecker is a healthz.Checker: it passes once the server listens
// and completes a TLS handshake.
func (s *drainingServer) StartedChecker() healthz.Checker {
	return func(*http.Request) error {
		if !s.started.Load() {
			return errors.New("webhook server has not been started yet")
		}
		dialer := &net.Dialer{Timeout: 10 * time.Second}
		conn, err := tls.DialWithDialer(dialer, "tcp", net.JoinHostPort(s.Options.Host, strconv.Itoa(s.Options.Port)),
			&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a reachability check of our own server
		if err != nil {
			return fmt.Errorf("webhook server is not reachable: %w", err)
		}
		return conn.Close()
	}
}

// Register serves hook at path with a shutdown-proof request context,
// counting the admissions in flight.
func (s *drainingServer) Register(path string, hook http.Handler) {
	if wh, ok := hook.(*admission.Webhook); ok {
		hook = reviewHandler{hook: wh}
	}
	detached := detachFromShutdown(hook)
	s.DefaultServer.Register(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		detached.ServeHTTP(&retiringWriter{ResponseWriter: w, draining: &s.draining}, r)
	}))
}

// retiringWriter answers with "Connection: close" when the server is
// draining by the time the answer is written (an admission that arrived
// before SIGTERM included), so that net/http closes the connection after a
// completed response.
type retiringWriter struct {
	http.ResponseWriter
	draining    *atomic.Bool
	wroteHeader bool
}

func (w *retiringWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		if w.draining.Load() {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *retiringWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *retiringWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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
