package testbed

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/eksguard/eksguard/internal/app/server"
)

// readyTimeout bounds the wait for a freshly started server's /readyz.
const readyTimeout = time.Minute

// Assets returns the directory holding kube-apiserver and etcd:
// $KUBEBUILDER_ASSETS when set, else the cache that hack/build-envtest.sh
// (below repoRoot) fills on its first run; its progress goes to stderr.
func Assets(repoRoot string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "build-envtest.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-envtest.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Server is an eksguard server running in-process.
type Server struct {
	*server.Server
	// HealthAddr is the host:port of /healthz and /readyz.
	HealthAddr string

	cancel  context.CancelFunc
	stopped chan error
}

// NewServer builds a server that serves the webhooks wio registered with
// the API server at cfg: on wio's loopback address and certificate, metrics
// off, health probes on a free port, a short drain, keeping the test bed's
// webhook configurations' failure policies in line with its policy.
func NewServer(cfg *rest.Config, wio envtest.WebhookInstallOptions) (*Server, error) {
	opts := server.DefaultOptions()
	opts.WebhookHost, opts.WebhookPort, opts.CertDir = wio.LocalServingHost, wio.LocalServingPort, wio.LocalServingCertDir
	opts.MetricsBindAddress = "0"
	opts.GracefulShutdownTimeout = 5 * time.Second
	opts.DrainPeriod = 100 * time.Millisecond
	// Its own configurations, whose failure policies it keeps in line
	// (the chart tests install the chart's next to them).
	opts.WebhookConfigurationName = ConfigurationName
	healthAddr, err := FreeLocalAddress()
	if err != nil {
		return nil, err
	}
	opts.HealthProbeBindAddress = healthAddr
	srv, err := server.New(cfg, opts)
	if err != nil {
		return nil, err
	}
	return &Server{Server: srv, HealthAddr: healthAddr}, nil
}

// Start runs the server until ctx ends or Stop, and returns once its
// /readyz passes (webhook server answering TLS, caches synced).
func (s *Server) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	s.stopped = make(chan error, 1)
	go func() { s.stopped <- s.Server.Start(ctx) }()
	if err := WaitUntilReady(ctx, "http://"+s.HealthAddr+"/readyz", s.stopped); err != nil {
		s.cancel()
		return err
	}
	return nil
}

// Stop shuts the server down, waits for its drain and returns its error.
func (s *Server) Stop() error {
	s.cancel()
	return <-s.stopped
}

// WaitUntilReady polls readyzURL until it answers 200, the server reports
// on stopped that it ended, or a minute passes.
func WaitUntilReady(ctx context.Context, readyzURL string, stopped <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var lastErr error
	for {
		if lastErr = Probe(ctx, readyzURL); lastErr == nil {
			return nil
		}
		select {
		case err := <-stopped:
			return fmt.Errorf("eksguard server stopped before it was ready: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("eksguard server not ready: %w", lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Probe GETs a health endpoint and fails unless it answers 200.
func Probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	return nil
}

// FreeLocalAddress returns a loopback address with a port free right now.
func FreeLocalAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// WarningRecorder collects the warnings the API server returns to a client
// (admission warnings included), as kubectl prints them. Set it as a
// rest.Config's WarningHandler.
type WarningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (r *WarningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, text)
}

// Messages returns the warnings received so far, in order.
func (r *WarningRecorder) Messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// Reset forgets the warnings received so far.
func (r *WarningRecorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = nil
}
