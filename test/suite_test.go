// Package test runs eksguard against a real kube-apiserver and etcd
// (controller-runtime envtest): the API server calls the in-process webhook
// server over TLS, exactly as in a cluster.
//
// TestMain starts the control plane once, installs every webhook
// configuration in testdata/webhooks (each clientConfig.service is rewritten
// to the local server), and runs the manager built by internal/server.
// Tests share one policy ConfigMap, so they must not call t.Parallel.
//
// The control plane binaries come from KUBEBUILDER_ASSETS, or else from
// hack/build-envtest.sh (built from source once, then cached). Set
// EKSGUARD_TEST_LOG=1 to see the server's logs.
package test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/eksguard/eksguard/internal/server"
)

// eksguardNamespace is the namespace the server runs in and reads its
// policy ConfigMap from, as installed by the chart.
const eksguardNamespace = server.DefaultNamespace

var (
	// restConfig is the admin configuration of the envtest API server.
	restConfig *rest.Config
	// k8sClient is an uncached admin client.
	k8sClient client.Client
	// testServer is the running eksguard server.
	testServer *server.Server
	// testEnv is the control plane; webhookOptions says where it expects
	// the webhook server.
	testEnv *envtest.Environment
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "envtest suite:", err)
		code = 1
	}
	os.Exit(code)
}

func runSuite(m *testing.M) (int, error) {
	if os.Getenv("EKSGUARD_TEST_LOG") != "" {
		logf.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	} else {
		logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	}

	assets, err := envtestAssets()
	if err != nil {
		return 1, err
	}
	testEnv = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths:            []string{filepath.Join("testdata", "webhooks")},
			LocalServingHost: "127.0.0.1",
		},
	}
	cfg, err := testEnv.Start()
	if err != nil {
		return 1, fmt.Errorf("starting the control plane from %s: %w", assets, err)
	}
	defer func() {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "envtest suite: stopping the control plane:", err)
		}
	}()
	cfg.QPS, cfg.Burst = 200, 400
	restConfig = cfg

	if k8sClient, err = client.New(cfg, client.Options{}); err != nil {
		return 1, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: eksguardNamespace}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		return 1, fmt.Errorf("creating namespace %s: %w", eksguardNamespace, err)
	}

	wio := testEnv.WebhookInstallOptions
	opts := server.DefaultOptions()
	opts.WebhookHost = wio.LocalServingHost
	opts.WebhookPort = wio.LocalServingPort
	opts.CertDir = wio.LocalServingCertDir
	opts.MetricsBindAddress = "0"
	healthAddr, err := freeLocalAddress()
	if err != nil {
		return 1, err
	}
	opts.HealthProbeBindAddress = healthAddr
	opts.GracefulShutdownTimeout = 5 * time.Second
	if testServer, err = server.New(cfg, opts); err != nil {
		return 1, err
	}
	registerRoundTripWebhook(testServer.Manager.GetWebhookServer())

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- testServer.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-stopped; err != nil {
			fmt.Fprintln(os.Stderr, "envtest suite: eksguard server:", err)
		}
	}()
	if err := waitUntilReady(ctx, "http://"+healthAddr+"/readyz", stopped); err != nil {
		return 1, err
	}
	return m.Run(), nil
}

// envtestAssets returns the directory with kube-apiserver and etcd.
func envtestAssets() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	cmd := exec.Command(filepath.Join("..", "hack", "build-envtest.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-envtest.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// waitUntilReady polls the server's own /readyz (webhook server answering
// TLS, informer caches synced) until it passes.
func waitUntilReady(ctx context.Context, readyzURL string, stopped <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var lastErr error
	for {
		if lastErr = probe(ctx, readyzURL); lastErr == nil {
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

// probe GETs a health endpoint and fails unless it answers 200.
func probe(ctx context.Context, url string) error {
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

// freeLocalAddress returns a loopback address with a port free right now.
func freeLocalAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
