package server

import (
	"context"
	"net/http"
	"time"

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
type drainingServer struct {
	*crwebhook.DefaultServer
}

// fallbackAdmissionTimeout bounds a request that carries no timeout
// parameter; the API server never waits longer than 30 seconds.
const fallbackAdmissionTimeout = 30 * time.Second

func newDrainingServer(opts crwebhook.Options) *drainingServer {
	return &drainingServer{DefaultServer: crwebhook.NewServer(opts).(*crwebhook.DefaultServer)}
}

// Register serves hook at path with a shutdown-proof request context.
func (s *drainingServer) Register(path string, hook http.Handler) {
	s.DefaultServer.Register(path, detachFromShutdown(hook))
}

// detachFromShutdown replaces the request context with one that keeps its
// values but not its cancellation, and that ends after the admission
// timeout the API server passed in the "timeout" query parameter.
func detachFromShutdown(hook http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
