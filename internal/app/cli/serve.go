package cli

import (
	goflag "flag"
	"fmt"
	stdlog "log"
	"os"
	"runtime/debug"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/eksguard/eksguard/internal/app/server"

	"github.com/eksguard/eksguard/internal/lib/logkeys"
)

// serveError is an error of the running server; Main logs it through the
// server's logger instead of printing it as a usage error.
type serveError struct{ err error }

func (e *serveError) Error() string { return e.err.Error() }

func (e *serveError) Unwrap() error { return e.err }

// newServeCommand builds the serve command; start runs the server with the
// options the command line gives (runServer, or a test's recorder).
func newServeCommand(start func(server.Options) error) *cobra.Command {
	opts := server.DefaultOptions()
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		opts.OwnNamespace = ns
		opts.PolicyNamespace = ns
	}
	var tlsMinVersion string
	memoryLimitRatio := DefaultMemoryLimitRatio
	// JSON logs at info level unless --zap-devel; --zap-log-level etc. come from BindFlags.
	zapOpts := zap.Options{Development: false}

	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the admission webhook server (the default command)",
		Long: `Run the admission webhook server. It reads the policy ConfigMap, serves the
webhooks over TLS with the certificate in --cert-dir (reloaded when it
changes), and drains in-flight admissions on SIGTERM.

It talks to the cluster of --kubeconfig, $KUBECONFIG, ~/.kube/config or, in a
pod, its service account. POD_NAMESPACE sets eksguard's own namespace and the
policy ConfigMap's namespace.

Exit status: 0 after a clean shutdown, also when the drain outlasted
--graceful-shutdown-timeout with no admission in flight (logged); 1 when the
command line is wrong, the server cannot start or fails, or the drain cut off
admissions still being answered.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			logger := zap.New(zap.UseFlagOptions(&zapOpts))
			ctrl.SetLogger(logger)
			routeOtherLoggers(logger)
			v, err := server.ParseTLSVersion(tlsMinVersion)
			if err != nil {
				return &serveError{fmt.Errorf("--tls-min-version: %w", err)}
			}
			opts.TLSMinVersion = v
			limit, err := goMemoryLimit(os.Getenv(MemoryLimitEnv), os.Getenv("GOMEMLIMIT"), memoryLimitRatio)
			if err != nil {
				return &serveError{err}
			}
			if limit > 0 {
				// The GC works harder near the limit instead of the kernel
				// killing the container at it.
				debug.SetMemoryLimit(limit)
				logger.Info("set the Go runtime's soft memory limit", logkeys.MemoryLimitBytes, limit)
			}
			if err := start(opts); err != nil {
				return &serveError{err}
			}
			return nil
		},
	}

	flags := cmd.Flags()
	flags.IntVar(&opts.WebhookPort, "webhook-port", opts.WebhookPort, "Port the webhook server listens on.")
	flags.StringVar(&opts.CertDir, "cert-dir", opts.CertDir,
		"Directory with the webhook serving certificate (tls.crt, tls.key); rotated files are reloaded without a restart.")
	flags.StringVar(&tlsMinVersion, "tls-min-version", "1.3", "Minimum TLS version of the webhook server: 1.3 (only the API server connects) or 1.2.")
	flags.BoolVar(&opts.EnableHTTP2, "enable-http2", false, "Allow HTTP/2 on the webhook server (off: HTTP/1.1 only).")
	flags.StringVar(&opts.MetricsBindAddress, "metrics-bind-address", opts.MetricsBindAddress,
		"Address of the Prometheus metrics endpoint; 0 disables it.")
	flags.BoolVar(&opts.MetricsSecure, "metrics-secure", opts.MetricsSecure,
		"Serve the metrics over HTTPS to callers allowed to get the /metrics URL (TokenReview, SubjectAccessReview); false serves plain HTTP to anyone.")
	flags.StringVar(&opts.HealthProbeBindAddress, "health-probe-bind-address", opts.HealthProbeBindAddress,
		"Address of the /healthz and /readyz endpoints; 0 disables them.")
	flags.StringVar(&opts.PprofBindAddress, "pprof-bind-address", opts.PprofBindAddress,
		"Address of the net/http/pprof endpoints, for profiling; 0 (the default) disables them.")
	flags.StringVar(&opts.PolicyNamespace, "policy-configmap-namespace", opts.PolicyNamespace,
		"Namespace of the policy ConfigMap (default: $POD_NAMESPACE, else "+server.DefaultNamespace+").")
	flags.StringVar(&opts.PolicyName, "policy-configmap-name", opts.PolicyName, "Name of the policy ConfigMap.")
	flags.BoolVar(&opts.CertRotation.Enabled, "cert-rotation", false,
		"Generate and renew the serving certificate in the Secret --cert-secret-name and put its CA into the webhook "+
			"configurations (off: cert-manager or you provide --cert-dir).")
	flags.StringVar(&opts.CertRotation.SecretName, "cert-secret-name", opts.CertRotation.SecretName,
		"Secret in eksguard's namespace that holds the serving certificate and is mounted at --cert-dir (with --cert-rotation).")
	flags.StringVar(&opts.CertRotation.ServiceName, "webhook-service-name", opts.CertRotation.ServiceName,
		"Service in eksguard's namespace the API server calls; the certificate is issued for it (with --cert-rotation).")
	flags.StringVar(&opts.WebhookConfigurationName, "webhook-configuration-name", opts.WebhookConfigurationName,
		"Name of eksguard's own mutating and validating webhook configurations: the CA bundle goes there (with --cert-rotation), and their failure policies follow the policy in force.")
	flags.BoolVar(&opts.FailurePolicy.Reconcile, "reconcile-failure-policy", opts.FailurePolicy.Reconcile,
		"Keep each webhook entry's failurePolicy in line with the policy in force (closed only where a rule enforces); false only reports disagreements (metric and Event).")
	flags.BoolVar(&opts.SeccompAdmissionPolicy, "seccomp-admission-policy", opts.SeccompAdmissionPolicy,
		"Where the API server serves admissionregistration.k8s.io/v1 MutatingAdmissionPolicies, inject RuntimeDefault through eksguard's own (named <webhook-configuration-name>-seccomp), kept in line with the policy in force: no call to eksguard, and it holds while eksguard is down; the webhook mutates elsewhere.")
	flags.StringVar((*string)(&opts.FailurePolicy.Enforcing), "enforcing-failure-policy", string(opts.FailurePolicy.Enforcing),
		"failurePolicy of webhook entries whose rule enforces: Fail or Ignore.")
	flags.IntVar(&opts.MaxConnections, "max-connections", opts.MaxConnections,
		"Connections the webhook server serves at once (0: no cap); more wait in the listen backlog.")
	flags.DurationVar(&opts.DrainPeriod, "drain-period", opts.DrainPeriod,
		"After SIGTERM, keep serving this long, answering with Connection: close so that the API server's connections are retired by completed answers; then stop listening and wait for in-flight admissions.")
	flags.Float64Var(&memoryLimitRatio, "memory-limit-ratio", memoryLimitRatio,
		"Set the Go runtime's soft memory limit to this fraction of $"+MemoryLimitEnv+" (the container's limit in bytes); 0, an unset variable or GOMEMLIMIT leave it alone.")
	flags.DurationVar(&opts.GracefulShutdownTimeout, "graceful-shutdown-timeout", opts.GracefulShutdownTimeout,
		"How long to let in-flight admissions finish after SIGTERM; keep it below terminationGracePeriodSeconds.")

	// The zap flags and controller-runtime's --kubeconfig are Go flags.
	goFlags := goflag.NewFlagSet("serve", goflag.ContinueOnError)
	zapOpts.BindFlags(goFlags)
	addKubeconfigFlag(goFlags)
	flags.AddGoFlagSet(goFlags)
	return cmd
}

// addKubeconfigFlag exposes controller-runtime's --kubeconfig flag, which it
// registers on the Go command line flag set, and which ctrl.GetConfig reads.
func addKubeconfigFlag(fs *goflag.FlagSet) {
	if f := goflag.CommandLine.Lookup("kubeconfig"); f != nil {
		fs.Var(f.Value, f.Name, f.Usage)
	}
}

// runServer serves admissions until SIGTERM or SIGINT, then drains and returns.
func runServer(opts server.Options) error {
	log := ctrl.Log.WithName("eksguard")
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the Kubernetes client configuration: %w", err)
	}
	srv, err := server.New(cfg, opts)
	if err != nil {
		return err
	}
	log.Info("starting eksguard", logkeys.Version, Version, logkeys.WebhookPort, opts.WebhookPort, logkeys.CertDir, opts.CertDir,
		logkeys.PolicyConfigMap, opts.PolicyNamespace+"/"+opts.PolicyName)
	if err := srv.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	log.Info("stopped")
	return nil
}

// routeOtherLoggers sends what client-go logs through klog and net/http
// (TLS handshake errors) through the standard library logger to the
// server's logger; they would otherwise print plain text among its JSON lines.
func routeOtherLoggers(logger logr.Logger) {
	klog.SetLogger(logger.WithName("klog"))
	stdlog.SetFlags(0)
	stdlog.SetOutput(logrWriter{logger.WithName("stdlib")})
}

// logrWriter turns each standard library log line into one logr entry.
type logrWriter struct{ log logr.Logger }

func (w logrWriter) Write(p []byte) (int, error) {
	w.log.Info(strings.TrimSpace(string(p)))
	return len(p), nil
}
