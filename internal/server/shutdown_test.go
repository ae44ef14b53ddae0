package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/internal/testbed/testcert"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
)

// TestShutdownDrainsInFlightAndClosesIdleConnections starts the webhook
// server over TLS, holds one admission in flight and one keep-alive
// connection idle, and cancels the server's context as SIGTERM does. The
// idle connection must be closed at once and new connections refused, while
// the in-flight admission keeps a live context and gets its answer, with
// "Connection: close".
func TestShutdownDrainsInFlightAndClosesIdleConnections(t *testing.T) {
	certPEM, keyPEM := testcert.Issue(t, testcert.Request{CommonName: "eksguard-test", Hosts: []string{"127.0.0.1"}})
	certDir := testcert.WriteKeyPair(t, certPEM, keyPEM)
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	srv := newDrainingServer(crwebhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir})
	entered, release := make(chan struct{}), make(chan struct{})
	var inFlightCtxErr error
	srv.Register("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		inFlightCtxErr = r.Context().Err()
		_, _ = io.WriteString(w, "answered")
	}))
	srv.Register("/fast", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))

	ctx, shutdown := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Start(ctx) }()
	waitFor(t, func() error { return srv.StartedChecker()(nil) })

	tlsConfig := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // self-signed test certificate
	idle := idleKeepAliveConnection(t, addr, tlsConfig)

	type result struct {
		resp *http.Response
		body string
		err  error
	}
	inFlight := make(chan result, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}}
		resp, err := client.Post("https://"+addr+"/slow?timeout=10s", "application/json", strings.NewReader("{}"))
		if err != nil {
			inFlight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inFlight <- result{resp: resp, body: string(b), err: err}
	}()
	<-entered

	shutdown()

	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("idle keep-alive connection after shutdown: read error %v, want EOF (closed by the server)", err)
	}
	waitFor(t, func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return nil
		}
		conn.Close()
		return errors.New("still accepting connections")
	})

	close(release)
	r := <-inFlight
	if r.err != nil {
		t.Fatalf("in-flight admission: %v, want an answer", r.err)
	}
	if r.resp.StatusCode != http.StatusOK || r.body != "answered" {
		t.Errorf("in-flight admission: %s %q, want 200 \"answered\"", r.resp.Status, r.body)
	}
	if !r.resp.Close {
		t.Errorf("in-flight admission answered without Connection: close")
	}
	if inFlightCtxErr != nil {
		t.Errorf("in-flight admission context after shutdown: %v, want live", inFlightCtxErr)
	}
	if err := <-stopped; err != nil {
		t.Errorf("server Start returned %v, want nil", err)
	}
}

// idleKeepAliveConnection completes one HTTP/1.1 request on a new TLS
// connection and returns the connection, now idle in keep-alive.
func idleKeepAliveConnection(t *testing.T, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, "GET /fast HTTP/1.1\r\nHost: eksguard\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("keep-alive request: %s, close=%v", resp.Status, resp.Close)
	}
	return conn
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor polls check for up to 10 seconds.
func waitFor(t *testing.T, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
