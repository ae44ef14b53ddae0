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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/eksguard/eksguard/internal/testkit/testbed/testcert"
)

// TestShutdownRetiresConnectionsAndDrainsInFlight starts the webhook server
// over TLS, holds one admission in flight and one keep-alive connection
// idle, and cancels the server's context as SIGTERM does. During the drain
// period the server keeps listening and serving: a request on the idle
// connection and one on a new connection are answered, with "Connection:
// close", and the connection is then closed by the server after a completed
// response, never under a request. The in-flight admission keeps a live
// context and gets its answer. After the drain period new connections are
// refused.
func TestShutdownRetiresConnectionsAndDrainsInFlight(t *testing.T) {
	certPEM, keyPEM := testcert.Issue(t, testcert.Request{CommonName: "eksguard-test", Hosts: []string{"127.0.0.1"}})
	certDir := testcert.WriteKeyPair(t, certPEM, keyPEM)
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	srv := newDrainingServer(crwebhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir})
	srv.drainPeriod = time.Second
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
	waitFor(t, func() error {
		if !srv.draining.Load() {
			return errors.New("not draining yet")
		}
		return nil
	})

	// The idle connection is not closed under the client: its next request
	// is answered, with Connection: close, and only then is it closed.
	if _, err := io.WriteString(idle, "GET /fast HTTP/1.1\r\nHost: eksguard\r\n\r\n"); err != nil {
		t.Fatalf("request on the idle connection during the drain: %v", err)
	}
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	reader := bufio.NewReader(idle)
	resp, err := http.ReadResponse(reader, nil)
	if err != nil {
		t.Fatalf("answer on the idle connection during the drain: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("answer during the drain: %s, close=%v; want 200 with Connection: close", resp.Status, resp.Close)
	}
	if _, err := reader.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("after the Connection: close answer: read error %v, want EOF", err)
	}

	// Still listening during the drain: a new connection is served, and retired.
	fresh, err := tls.Dial("tcp", addr, tlsConfig)
	if err != nil {
		t.Fatalf("a new connection during the drain: %v", err)
	}
	defer fresh.Close()
	if _, err := io.WriteString(fresh, "GET /fast HTTP/1.1\r\nHost: eksguard\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = fresh.SetReadDeadline(time.Now().Add(5 * time.Second))
	freshReader := bufio.NewReader(fresh)
	if resp, err := http.ReadResponse(freshReader, nil); err != nil || resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("a new connection during the drain: %v %v; want 200 with Connection: close", resp, err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if _, err := freshReader.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("a connection served during the drain: read error %v, want EOF after its answer", err)
	}

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

	// After the drain period the server stops listening.
	waitFor(t, func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return nil
		}
		conn.Close()
		return errors.New("still accepting connections")
	})
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

// TestShutdownUnderLoadLosesNoAdmission plays the API server after the
// pod left its Service's endpoints: 16 clients send admissions back to back
// on their own keep-alive connections and stop using a connection once an
// answer retires it (Connection: close), as the API server then dials
// another replica. SIGTERM comes mid-load. With the drain period no request
// may fail. The same load against an immediate shutdown (drain period 0,
// which closes idle connections at once) is measured for comparison.
func TestShutdownUnderLoadLosesNoAdmission(t *testing.T) {
	failed, answered := loadThroughShutdown(t, time.Second)
	if failed != 0 {
		t.Errorf("with a drain period: %d of %d admissions failed, want none", failed, failed+answered)
	}
	baselineFailed, baselineAnswered := loadThroughShutdown(t, 0)
	t.Logf("admissions failed at SIGTERM: %d of %d with a 1 s drain period, %d of %d with an immediate shutdown",
		failed, failed+answered, baselineFailed, baselineFailed+baselineAnswered)
}

// loadThroughShutdown runs the load and returns failed and answered requests.
func loadThroughShutdown(t *testing.T, drain time.Duration) (failed, answered int64) {
	t.Helper()
	certPEM, keyPEM := testcert.Issue(t, testcert.Request{CommonName: "eksguard-test", Hosts: []string{"127.0.0.1"}})
	certDir := testcert.WriteKeyPair(t, certPEM, keyPEM)
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	srv := newDrainingServer(crwebhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir})
	srv.drainPeriod = drain
	srv.Register("/admit", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(time.Millisecond) // a rule's work
		_, _ = io.WriteString(w, `{"allowed":true}`)
	}))
	ctx, shutdown := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Start(ctx) }()
	waitFor(t, func() error { return srv.StartedChecker()(nil) })

	tlsConfig := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // self-signed test certificate
	const clients = 16
	var failedN, answeredN atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		conn, err := tls.Dial("tcp", addr, tlsConfig)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			reader := bufio.NewReader(conn)
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.WriteString(conn, "POST /admit HTTP/1.1\r\nHost: eksguard\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
					failedN.Add(1)
					return
				}
				resp, err := http.ReadResponse(reader, nil)
				if err != nil {
					failedN.Add(1)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				answeredN.Add(1)
				if resp.Close {
					return // retired: the API server would now dial another replica
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	shutdown()
	wg.Wait()
	if err := <-stopped; err != nil {
		t.Errorf("server Start returned %v", err)
	}
	return failedN.Load(), answeredN.Load()
}

// TestConnectionCap: with maxConnections 2 and two connections held open,
// a third is not served until one of them closes.
func TestConnectionCap(t *testing.T) {
	certPEM, keyPEM := testcert.Issue(t, testcert.Request{CommonName: "eksguard-test", Hosts: []string{"127.0.0.1"}})
	certDir := testcert.WriteKeyPair(t, certPEM, keyPEM)
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	srv := newDrainingServer(crwebhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir})
	srv.maxConnections = 2
	srv.Register("/fast", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	ctx, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	go func() { _ = srv.Start(ctx) }()
	tlsConfig := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // self-signed test certificate
	var first *tls.Conn
	waitFor(t, func() error {
		conn, err := tls.Dial("tcp", addr, tlsConfig)
		if err != nil {
			return err
		}
		first = conn
		return nil
	})
	defer first.Close()
	second := idleKeepAliveConnection(t, addr, tlsConfig)

	third, err := net.Dial("tcp", addr) // accepted by the kernel, not by the server
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	thirdTLS := tls.Client(third, tlsConfig)
	_ = third.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if err := thirdTLS.Handshake(); err == nil {
		t.Fatal("a third connection was served while two were open")
	}

	// Free a slot: the waiting third connection (given up) and then a new
	// one are served.
	third.Close()
	second.Close()
	waitFor(t, func() error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, tlsConfig)
		if err != nil {
			return err
		}
		return conn.Close()
	})
}
