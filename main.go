// Command eksguard runs the eksguard admission webhook server.
package main

import (
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/eksguard/eksguard/internal/server"
)

func main() {
	opts, err := parseFlags()
	if err == nil {
		err = run(opts)
	}
	if err != nil {
		ctrl.Log.WithName("eksguard").Error(err, "exiting")
		os.Exit(1)
	}
}

// parseFlags parses the command line and sets up JSON logging.
func parseFlags() (server.Options, error) {
	opts := server.DefaultOptions()
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		opts.OwnNamespace = ns
		opts.PolicyNamespace = ns
	}
	var tlsMinVersion string

	flag.IntVar(&opts.WebhookPort, "webhook-port", opts.WebhookPort, "Port the webhook server listens on.")
	flag.StringVar(&opts.CertDir, "cert-dir", opts.CertDir,
		"Directory with the webhook serving certificate (tls.crt, tls.key); rotated files are reloaded without a restart.")
	flag.StringVar(&tlsMinVersion, "tls-min-version", "1.2", "Minimum TLS version of the webhook server: 1.2 or 1.3.")
	flag.BoolVar(&opts.EnableHTTP2, "enable-http2", false, "Allow HTTP/2 on the webhook server (off: HTTP/1.1 only).")
	flag.StringVar(&opts.MetricsBindAddress, "metrics-bind-address", opts.MetricsBindAddress,
		"Address of the Prometheus metrics endpoint; 0 disables it.")
	flag.StringVar(&opts.HealthProbeBindAddress, "health-probe-bind-address", opts.HealthProbeBindAddress,
		"Address of the /healthz and /readyz endpoints; 0 disables them.")
	flag.StringVar(&opts.PolicyNamespace, "policy-configmap-namespace", opts.PolicyNamespace,
		"Namespace of the policy ConfigMap (default: $POD_NAMESPACE, else "+server.DefaultNamespace+").")
	flag.StringVar(&opts.PolicyName, "policy-configmap-name", opts.PolicyName, "Name of the policy ConfigMap.")
	flag.DurationVar(&opts.GracefulShutdownTimeout, "graceful-shutdown-timeout", opts.GracefulShutdownTimeout,
		"How long to let in-flight admissions finish after SIGTERM; keep it below terminationGracePeriodSeconds.")
	// JSON logs at info level unless --zap-devel; --zap-log-level etc. come from BindFlags.
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	v, err := server.ParseTLSVersion(tlsMinVersion)
	if err != nil {
		return opts, fmt.Errorf("--tls-min-version: %w", err)
	}
	opts.TLSMinVersion = v
	return opts, nil
}

// run serves admissions until SIGTERM or SIGINT, then drains and returns.
func run(opts server.Options) error {
	log := ctrl.Log.WithName("eksguard")
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the Kubernetes client configuration: %w", err)
	}
	srv, err := server.New(cfg, opts)
	if err != nil {
		return err
	}
	log.Info("starting eksguard", "webhookPort", opts.WebhookPort, "certDir", opts.CertDir,
		"policyConfigMap", opts.PolicyNamespace+"/"+opts.PolicyName)
	if err := srv.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	log.Info("stopped")
	return nil
}
