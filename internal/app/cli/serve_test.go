package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	stdlog "log"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"k8s.io/klog/v2"

	"github.com/eksguard/eksguard/internal/app/server"
)

// serveOptions runs the command line with a server that only records the
// options it would start with.
func serveOptions(t *testing.T, args ...string) (server.Options, error) {
	t.Helper()
	var got server.Options
	started := false
	var out bytes.Buffer
	root := newRootCommand(Streams{In: strings.NewReader(""), Out: &out, Err: &out}, func(opts server.Options) error {
		got, started = opts, true
		return nil
	})
	root.SetArgs(defaultToServe(root, args))
	err := root.ExecuteContext(context.Background())
	if err == nil && !started {
		t.Fatalf("%q did not start the server; output: %s", args, out.String())
	}
	return got, err
}

func TestServeFlags(t *testing.T) {
	defaults := server.DefaultOptions()
	tests := []struct {
		name         string
		podNamespace string
		args         []string
		want         func(*server.Options)
		wantErr      string
	}{
		{name: "no arguments: the defaults", want: func(*server.Options) {}},
		{
			name:         "the chart's command line",
			podNamespace: "security",
			args: []string{"serve", "--webhook-port=9443", "--cert-dir=/etc/eksguard/tls", "--tls-min-version=1.3",
				"--enable-http2=false", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081",
				"--policy-configmap-namespace=security", "--policy-configmap-name=guard-policy", "--cert-rotation=true",
				"--cert-secret-name=guard-tls", "--webhook-service-name=guard", "--webhook-configuration-name=guard",
				"--graceful-shutdown-timeout=20s", "--zap-log-level=info", "--zap-encoder=json"},
			want: func(o *server.Options) {
				o.OwnNamespace, o.PolicyNamespace, o.PolicyName = "security", "security", "guard-policy"
				o.CertDir, o.TLSMinVersion = "/etc/eksguard/tls", tls.VersionTLS13
				o.CertRotation.Enabled = true
				o.CertRotation.SecretName, o.CertRotation.ServiceName, o.WebhookConfigurationName = "guard-tls", "guard", "guard"
				o.GracefulShutdownTimeout = 20 * time.Second
			},
		},
		{
			name: "the command line of deployments older than the subcommands, Go-style flags included",
			args: []string{"-webhook-port=10250", "--enable-http2", "-metrics-bind-address", "0", "-zap-devel"},
			want: func(o *server.Options) {
				o.WebhookPort, o.EnableHTTP2, o.MetricsBindAddress = 10250, true, "0"
			},
		},
		{name: "an unsupported TLS version", args: []string{"--tls-min-version=1.1"},
			wantErr: `--tls-min-version: unsupported TLS version "1.1": use 1.2 or 1.3`},
		{name: "a stray argument", args: []string{"serve", "now"}, wantErr: `unknown command "now" for "eksguard serve"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("POD_NAMESPACE", tt.podNamespace)
			got, err := serveOptions(t, tt.args...)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := defaults
			tt.want(&want)
			if got != want {
				t.Errorf("options:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestServerLoggerCollectsOtherLoggers: client-go (klog) and net/http (the
// standard library logger) lines end up in the server's logger.
func TestServerLoggerCollectsOtherLoggers(t *testing.T) {
	var lines []string
	logger := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{})
	t.Cleanup(func() {
		klog.ClearLogger()
		stdlog.SetOutput(os.Stderr)
		stdlog.SetFlags(stdlog.LstdFlags)
	})

	routeOtherLoggers(logger)
	klog.Info("reflector watch failed")
	stdlog.Print("http: TLS handshake error from 10.0.0.1:5000: EOF\n")
	klog.Flush()

	want := []string{
		`klog "level"=0 "msg"="reflector watch failed"`,
		`stdlib "level"=0 "msg"="http: TLS handshake error from 10.0.0.1:5000: EOF"`,
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("logged lines:\n got: %q\nwant: %q", lines, want)
	}
}
