package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/internal/testkit/charttest"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
	"github.com/eksguard/eksguard/internal/testkit/testbed/testcert"
)

var chart = charttest.Chart{Dir: filepath.Join("..", "..", "..", "charts", "eksguard"), RepoRoot: filepath.Join("..", "..", "..")}

// chartArgs are the eksguard container's arguments in the chart rendered
// with its default values.
func chartArgs(t *testing.T) []string {
	t.Helper()
	var d appsv1.Deployment
	chart.Render(t, "eksguard", charttest.Namespace, "").Get(t, "Deployment", "eksguard", &d)
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "eksguard" {
			return c.Args
		}
	}
	t.Fatal("the Deployment has no eksguard container")
	return nil
}

// TestServeAsTheChartStartsIt: the server started with the chart's
// rendered arguments, nothing overridden, caps its connections and drains
// on SIGTERM. Only where it listens and its certificate are the test's: a
// pod's port and mounted Secret.
func TestServeAsTheChartStartsIt(t *testing.T) {
	discardLogs()
	t.Setenv("POD_NAMESPACE", charttest.Namespace)
	opts, err := serveOptions(t, chartArgs(t)...)
	if err != nil {
		t.Fatal(err)
	}
	if opts.MaxConnections != server.DefaultMaxConnections || opts.DrainPeriod != server.DefaultDrainPeriod {
		t.Fatalf("the chart starts the server with max connections %d and drain period %s, want %d and %s",
			opts.MaxConnections, opts.DrainPeriod, server.DefaultMaxConnections, server.DefaultDrainPeriod)
	}

	certPEM, keyPEM := testcert.Issue(t, testcert.Request{CommonName: "eksguard-test", Hosts: []string{"127.0.0.1"}})
	opts.CertDir = testcert.WriteKeyPair(t, certPEM, keyPEM)
	addr, err := testbed.FreeLocalAddress()
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	opts.WebhookHost = host
	if opts.WebhookPort, err = strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
	srv := server.NewWebhookServer(opts)
	srv.Register("/admit", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"allowed":true}`)
	}))
	ctx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Start(ctx) }()
	tlsConfig := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // self-signed test certificate

	// The cap: DefaultMaxConnections connections are served; one more waits.
	var conns []*tls.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for len(conns) < opts.MaxConnections {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, tlsConfig)
		if err != nil {
			if len(conns) == 0 {
				time.Sleep(50 * time.Millisecond) // still starting
				continue
			}
			t.Fatalf("connection %d of %d: %v", len(conns)+1, opts.MaxConnections, err)
		}
		conns = append(conns, conn)
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = extra.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if err := tls.Client(extra, tlsConfig).Handshake(); err == nil {
		t.Fatalf("connection %d was served beyond the cap", opts.MaxConnections+1)
	}
	extra.Close()

	// The drain: after SIGTERM an open keep-alive connection is still
	// answered, with Connection: close.
	sigterm()
	time.Sleep(100 * time.Millisecond)
	c := conns[0]
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "POST /admit HTTP/1.1\r\nHost: eksguard\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
		t.Fatalf("writing on a keep-alive connection after SIGTERM: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer on a keep-alive connection after SIGTERM: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("answer after SIGTERM: %d, Connection: close %t; want 200 and the connection retired", resp.StatusCode, resp.Close)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("server stopped with %v", err)
		}
	case <-time.After(opts.DrainPeriod + 10*time.Second):
		t.Error("the server did not stop after its drain period")
	}
}

// TestDocumentedDefaults holds each default the chart README documents for
// a server flag to the value the rendered chart passes and to the default
// `eksguard serve --help` shows, so that a default cannot be documented,
// shipped and built three different ways.
func TestDocumentedDefaults(t *testing.T) {
	helpDefaults := serveHelpDefaults(t)
	documented := chartReadmeDefaults(t)
	passed := map[string]string{}
	for _, arg := range chartArgs(t) {
		if name, value, ok := strings.Cut(strings.TrimPrefix(arg, "--"), "="); ok {
			passed[name] = value
		}
	}
	for _, tt := range []struct {
		flag, value string
		// asFlag turns the documented value into the flag's.
		asFlag func(string) string
	}{
		{flag: "webhook-port", value: "webhook.port"},
		{flag: "tls-min-version", value: "webhook.tlsMinVersion"},
		{flag: "enable-http2", value: "webhook.enableHTTP2"},
		{flag: "max-connections", value: "webhook.maxConnections"},
		{flag: "drain-period", value: "webhook.drainPeriod"},
		{flag: "memory-limit-ratio", value: "memoryLimitRatio"},
		{flag: "reconcile-failure-policy", value: "webhook.reconcileFailurePolicy"},
		{flag: "enforcing-failure-policy", value: "webhook.failurePolicy"},
		{flag: "metrics-bind-address", value: "metrics.port", asFlag: func(v string) string { return ":" + v }},
		{flag: "metrics-secure", value: "metrics.secure"},
		{flag: "health-probe-bind-address", value: "healthPort", asFlag: func(v string) string { return ":" + v }},
	} {
		doc, ok := documented[tt.value]
		if !ok {
			t.Errorf("the chart README documents no default for %s", tt.value)
			continue
		}
		if tt.asFlag != nil {
			doc = tt.asFlag(doc)
		}
		if got := passed[tt.flag]; got != doc {
			t.Errorf("--%s: the chart passes %q, its README documents %s = %q", tt.flag, got, tt.value, doc)
		}
		if got := helpDefaults[tt.flag]; got != doc {
			t.Errorf("--%s: --help shows the default %q, the chart README documents %s = %q", tt.flag, got, tt.value, doc)
		}
	}
}

// serveHelpDefaults reads `eksguard serve --help`: each flag's default, and
// "false" for a boolean flag that shows none.
func serveHelpDefaults(t *testing.T) map[string]string {
	t.Helper()
	code, stdout, stderr := run(t, "", "serve", "--help")
	if code != 0 {
		t.Fatalf("serve --help: exit %d: %s", code, stderr)
	}
	flagLine := regexp.MustCompile(`^\s+(?:-\w, )?--([a-z0-9-]+)( \w+)?\s.*?(?:\(default "?([^")]*)"?\))?$`)
	out := map[string]string{}
	for _, line := range strings.Split(stdout, "\n") {
		m := flagLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		value := m[3]
		if m[2] == "" && value == "" {
			value = "false"
		}
		out[m[1]] = value
	}
	if len(out) < 10 {
		t.Fatalf("read %d flags from serve --help:\n%s", len(out), stdout)
	}
	return out
}

// chartReadmeDefaults reads the chart README's values table: value name to
// its documented default, unquoted.
func chartReadmeDefaults(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chart.Dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([A-Za-z0-9.]+)` \\| [a-z]+ \\| `([^`]*)` \\|")
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			out[m[1]] = strings.Trim(m[2], `"`)
		}
	}
	return out
}
