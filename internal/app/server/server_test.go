package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
)

func TestParseTLSVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    uint16
		wantErr string
	}{
		{in: "1.2", want: tls.VersionTLS12},
		{in: "1.3", want: tls.VersionTLS13},
		{in: "1.1", wantErr: `unsupported TLS version "1.1": use 1.2 or 1.3`},
		{in: "", wantErr: `unsupported TLS version "": use 1.2 or 1.3`},
	}
	for _, tt := range tests {
		got, err := ParseTLSVersion(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseTLSVersion(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTLSVersion(%q) = %#04x, %v; want %#04x", tt.in, got, err, tt.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(*Options)
		wantErr []string
	}{
		{name: "defaults are valid", modify: func(*Options) {}},
		{
			name:    "missing namespaces and names",
			modify:  func(o *Options) { o.OwnNamespace, o.PolicyName = "", "" },
			wantErr: []string{"the own namespace must be set", "the policy ConfigMap namespace and name must be set"},
		},
		{
			name:    "port out of range",
			modify:  func(o *Options) { o.WebhookPort = 70000 },
			wantErr: []string{"webhook port 70000 is out of range 1-65535"},
		},
		{
			name:    "TLS 1.1",
			modify:  func(o *Options) { o.TLSMinVersion = tls.VersionTLS11 },
			wantErr: []string{"TLS minimum version 0x0302 is neither TLS 1.2 nor TLS 1.3"},
		},
		{
			name:    "no cache sync check timeout",
			modify:  func(o *Options) { o.CacheSyncCheckTimeout = 0 },
			wantErr: []string{"the cache sync check timeout must be positive"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			tt.modify(&o)
			err := o.validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !slices.Equal(got, tt.wantErr) {
				t.Errorf("validate() = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func TestWebhookServerTLS(t *testing.T) {
	tests := []struct {
		name          string
		minVersion    uint16
		http2         bool
		wantProtocols []string
	}{
		{name: "HTTP/1.1 only by default", minVersion: tls.VersionTLS12, wantProtocols: []string{"http/1.1"}},
		{name: "HTTP/2 when enabled", minVersion: tls.VersionTLS13, http2: true, wantProtocols: []string{"h2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.TLSMinVersion, opts.EnableHTTP2 = tt.minVersion, tt.http2
			srv := NewWebhookServer(opts).(*drainingServer)
			// controller-runtime starts from NextProtos ["h2"] and applies TLSOpts in order.
			cfg := &tls.Config{NextProtos: []string{"h2"}}
			for _, apply := range srv.Options.TLSOpts {
				apply(cfg)
			}
			if cfg.MinVersion != tt.minVersion {
				t.Errorf("MinVersion = %#04x, want %#04x", cfg.MinVersion, tt.minVersion)
			}
			if !slices.Equal(cfg.NextProtos, tt.wantProtocols) {
				t.Errorf("NextProtos = %q, want %q", cfg.NextProtos, tt.wantProtocols)
			}
		})
	}
}

func TestAdmissionTimeout(t *testing.T) {
	tests := []struct {
		query string
		want  time.Duration
	}{
		{query: "timeout=5s", want: 5 * time.Second},
		{query: "timeout=1m30s", want: fallbackAdmissionTimeout},
		{query: "timeout=-1s", want: fallbackAdmissionTimeout},
		{query: "timeout=five", want: fallbackAdmissionTimeout},
		{query: "", want: fallbackAdmissionTimeout},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/validate?"+tt.query, nil)
		if got := admissionTimeout(r); got != tt.want {
			t.Errorf("admissionTimeout(%q) = %s, want %s", tt.query, got, tt.want)
		}
	}
}

// TestDetachFromShutdown: a request in flight when the server's context is
// cancelled keeps a live context, bounded by the admission timeout, with the
// server context's values.
func TestDetachFromShutdown(t *testing.T) {
	type key struct{}
	serverCtx, shutdown := context.WithCancel(context.WithValue(context.Background(), key{}, "server value"))
	var handlerErr error
	var remaining time.Duration
	var value any
	handler := detachFromShutdown(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		shutdown() // SIGTERM arrives while the admission is in flight
		handlerErr = r.Context().Err()
		deadline, _ := r.Context().Deadline()
		remaining = time.Until(deadline)
		value = r.Context().Value(key{})
	}))
	r := httptest.NewRequest(http.MethodPost, "/validate?timeout=3s", nil).WithContext(serverCtx)
	handler.ServeHTTP(httptest.NewRecorder(), r)

	if handlerErr != nil {
		t.Errorf("request context after shutdown: %v, want still live", handlerErr)
	}
	if remaining <= 0 || remaining > 3*time.Second {
		t.Errorf("request deadline in %s, want within the 3s admission timeout", remaining)
	}
	if value != "server value" {
		t.Errorf("request context value = %v, want the server context's", value)
	}
}

func TestDrainingServerRegistersDetachedHandlers(t *testing.T) {
	srv := newDrainingServer(crwebhook.Options{})
	var sawErr error
	srv.Register("/hook", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { sawErr = r.Context().Err() }))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest(http.MethodPost, "/hook?timeout=2s", nil).WithContext(ctx)
	srv.WebhookMux().ServeHTTP(httptest.NewRecorder(), r)
	if sawErr != nil {
		t.Errorf("handler registered through the server saw %v, want a live context", sawErr)
	}
}

func TestCacheSyncedChecker(t *testing.T) {
	for _, synced := range []bool{false, true} {
		check := cacheSyncedChecker(&informertest.FakeInformers{Synced: &synced}, time.Second)
		err := check(httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if synced && err != nil {
			t.Errorf("synced caches: %v, want ready", err)
		}
		if !synced && (err == nil || err.Error() != "informer caches have not synced yet") {
			t.Errorf("unsynced caches: %v, want %q", err, "informer caches have not synced yet")
		}
	}
}

// neverLoadedCertificates is a certificate source whose certificate never
// appears, like a self-managed Secret that is not filled yet.
type neverLoadedCertificates struct{ started chan struct{} }

func (c *neverLoadedCertificates) Start(ctx context.Context) error {
	close(c.started)
	<-ctx.Done()
	return nil
}

func (c *neverLoadedCertificates) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return nil, errors.New("no serving certificate yet")
}

// TestDrainingServerListensOnlyWithACertificate: without a certificate the
// server does not listen (so no handshake fails), reports not started, and
// still stops cleanly.
func TestDrainingServerListensOnlyWithACertificate(t *testing.T) {
	certs := &neverLoadedCertificates{started: make(chan struct{})}
	srv := newDrainingServer(crwebhook.Options{Host: "127.0.0.1", Port: 1})
	srv.certificates = certs
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Start(ctx) }()

	<-certs.started
	err := srv.StartedChecker()(httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if err == nil || err.Error() != "webhook server has not been started yet" {
		t.Errorf("readiness without a certificate: %v, want not started", err)
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Errorf("Start after cancel: %v, want nil", err)
	}
}

// TestSlowBodyIsCutOff: a client that sends its headers and then trickles
// the body gets the body read failed after bodyReadTimeout, instead of
// holding the connection open.
func TestSlowBodyIsCutOff(t *testing.T) {
	saved := bodyReadTimeout
	bodyReadTimeout = 200 * time.Millisecond
	t.Cleanup(func() { bodyReadTimeout = saved })
	readErr := make(chan error, 1)
	srv := httptest.NewServer(detachFromShutdown(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	})))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		var netErr net.Error
		if !errors.As(err, &netErr) || !netErr.Timeout() {
			t.Errorf("body read ended with %v, want a timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the body read was never cut off")
	}
}

// TestShutdownResult: a drain past --graceful-shutdown-timeout is a clean
// exit when no admission was in flight, and an error naming the admissions
// cut off otherwise; other results pass through.
func TestShutdownResult(t *testing.T) {
	timedOut := fmt.Errorf("failed waiting for all runnables to end within grace period of 15s: %w", context.DeadlineExceeded)
	other := errors.New("starting the webhook server: address in use")
	for _, tt := range []struct {
		name     string
		err      error
		inFlight int64
		want     string
	}{
		{name: "clean", err: nil},
		{name: "timed out with nothing in flight", err: timedOut},
		{name: "timed out with admissions in flight", err: timedOut, inFlight: 2,
			want: "2 admission(s) were cut off at shutdown: failed waiting for all runnables to end within grace period of 15s: context deadline exceeded"},
		{name: "another error", err: other, inFlight: 2, want: other.Error()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := shutdownResult(context.Background(), tt.err, tt.inFlight)
			if got := fmt.Sprint(err); (err == nil) != (tt.want == "") || (err != nil && got != tt.want) {
				t.Errorf("shutdownResult = %v, want %q", err, tt.want)
			}
		})
	}
}
