package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
)

// raceEnabled is set by race_test.go; the binary is built the same way as
// the test so that it reuses the compiled packages.
var raceEnabled bool

// networkPolicyCollection is what the server's NetworkPolicy informer lists
// and watches.
const networkPolicyCollection = "/apis/networking.k8s.io/v1/networkpolicies"

// TestBinaryReadyAfterCacheSyncAndGracefulShutdown runs the built eksguard
// binary against the envtest API server through a proxy that holds back the
// NetworkPolicy list/watch. It proves that the binary logs JSON, that
// /readyz fails while the webhook server answers TLS but the caches have not
// synced, passes once they have, and that SIGTERM ends the process with
// exit code 0.
func TestBinaryReadyAfterCacheSyncAndGracefulShutdown(t *testing.T) {
	bin := buildBinary(t)
	removeSeccompAdmissionPolicy(t, server.DefaultWebhookConfigurationName+"-seccomp")
	gate := make(chan struct{})
	proxy := gatedAPIProxy(t, networkPolicyCollection, gate)

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(proxyKubeconfig(proxy.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	healthAddr, err := testbed.FreeLocalAddress()
	if err != nil {
		t.Fatal(err)
	}
	webhookAddr, err := testbed.FreeLocalAddress()
	if err != nil {
		t.Fatal(err)
	}
	_, webhookPort, _ := strings.Cut(webhookAddr, ":")

	var logs lockedBuffer
	cmd := exec.Command(bin,
		"--kubeconfig="+kubeconfig,
		"--webhook-port="+webhookPort,
		"--cert-dir="+testEnv.WebhookInstallOptions.LocalServingCertDir,
		"--health-probe-bind-address="+healthAddr,
		"--metrics-bind-address=0",
		"--graceful-shutdown-timeout=10s",
	)
	cmd.Env = append(os.Environ(), "POD_NAMESPACE="+eksguardNamespace)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			t.Logf("eksguard killed at cleanup: %v", <-exited)
		}
		if t.Failed() {
			t.Logf("eksguard output:\n%s", logs.String())
		}
	})

	// The webhook server answers TLS, the informers cannot sync: not ready.
	readyz := "http://" + healthAddr + "/readyz?verbose"
	var body string
	eventually(t, time.Minute, func() error {
		var err error
		body, err = getBody(readyz)
		if err != nil {
			return err
		}
		if !strings.Contains(body, "[+]webhook ok") {
			return fmt.Errorf("webhook server not serving yet:\n%s", body)
		}
		return nil
	})
	if !strings.Contains(body, "[-]informers failed") {
		t.Errorf("/readyz while the NetworkPolicy list is held back:\n%s\nwant the informers check failing", body)
	}
	if err := testbed.Probe(t.Context(), "http://"+healthAddr+"/healthz"); err != nil {
		t.Errorf("/healthz while the caches sync: %v, want 200", err)
	}

	close(gate)
	eventually(t, time.Minute, func() error { return testbed.Probe(t.Context(), readyz) })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		waited = true
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit code 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("eksguard did not exit within 30s of SIGTERM")
	}

	messages, err := jsonLogMessages(logs.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"starting eksguard", "stopped"} {
		if !slices.Contains(messages, want) {
			t.Errorf("log messages %q lack %q", messages, want)
		}
	}
}

// buildBinary builds eksguard (once for the suite), with -race when the
// tests run with it.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin, err := testbed.BuildBinary(raceEnabled)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// gatedAPIProxy serves the envtest API server over plain HTTP without
// authentication, holding every request for the collection path until gate
// is closed.
func gatedAPIProxy(t *testing.T, path string, gate <-chan struct{}) *httptest.Server {
	t.Helper()
	target, err := url.Parse(restConfig.Host)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(restConfig)
	if err != nil {
		t.Fatal(err)
	}
	forward := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     transport,
		FlushInterval: -1, // stream watch events as they come
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	return proxy
}

func proxyKubeconfig(server string) string {
	return `apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster:
    server: ` + server + `
users:
- name: proxy
  user: {}
contexts:
- name: envtest
  context:
    cluster: envtest
    user: proxy
current-context: envtest
`
}

// getBody GETs url and returns its body whatever the status.
func getBody(url string) (string, error) {
	resp, err := http.Get(url) //nolint:noctx // short-lived test probe
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// jsonLogMessages checks that every output line is a JSON log entry with a
// level and returns the messages.
func jsonLogMessages(output string) ([]string, error) {
	var messages []string
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		var entry struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil || entry.Level == "" {
			return nil, fmt.Errorf("log line is not a JSON log entry: %s", line)
		}
		messages = append(messages, entry.Msg)
	}
	return messages, sc.Err()
}

// lockedBuffer collects a process's output written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
