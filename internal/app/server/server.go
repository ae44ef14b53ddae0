package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/admissionpolicy"
	"github.com/eksguard/eksguard/internal/app/dataplanewatch"
	"github.com/eksguard/eksguard/internal/app/failurepolicy"
	"github.com/eksguard/eksguard/internal/app/policywatch"
	"github.com/eksguard/eksguard/internal/lib/logkeys"
	"github.com/eksguard/eksguard/webhook"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

// Defaults for Options.
const (
	DefaultNamespace               = "eksguard-system"
	DefaultPolicyConfigMapName     = "eksguard-policy"
	DefaultWebhookPort             = 9443
	DefaultMetricsBindAddress      = ":8080"
	DefaultHealthProbeBindAddress  = ":8081"
	DefaultGracefulShutdownTimeout = 15 * time.Second
	DefaultDrainPeriod             = 5 * time.Second
	// DefaultMaxConnections is far above what API servers open (one per
	// concurrent call) and far below what holds memory hostage.
	DefaultMaxConnections = 512
	// DefaultCacheSyncCheckTimeout bounds how long one /readyz probe waits
	// for the informer caches; probes must answer well within their own timeout.
	DefaultCacheSyncCheckTimeout = 2 * time.Second
)

// Options configure the server; the serve command fills them from flags.
type Options struct {
	// OwnNamespace is eksguard's namespace; the policy always excludes it.
	OwnNamespace string
	// PolicyNamespace and PolicyName locate the policy ConfigMap.
	PolicyNamespace string
	PolicyName      string

	// WebhookHost is the listen address of the webhook server ("" is all).
	WebhookHost string
	WebhookPort int
	// CertDir holds tls.crt and tls.key; changes on disk are picked up
	// without a restart.
	CertDir string
	// TLSMinVersion is tls.VersionTLS12 or tls.VersionTLS13.
	TLSMinVersion uint16
	// EnableHTTP2 allows HTTP/2 on the webhook server. Off by default: the
	// API server talks HTTP/1.1 to webhooks, and HTTP/2 exposes the
	// rapid-reset and stream-cancellation attacks (CVE-2023-44487, CVE-2023-39325).
	EnableHTTP2 bool

	// MetricsBindAddress and HealthProbeBindAddress are listen addresses;
	// "0" disables the listener.
	MetricsBindAddress     string
	HealthProbeBindAddress string
	// MetricsSecure serves the metrics over HTTPS (a self-signed
	// certificate) to callers the API server authenticates (TokenReview) and
	// authorizes (SubjectAccessReview: get on the /metrics non-resource
	// URL): they name exemptions and which rules only warn.
	MetricsSecure bool
	// PprofBindAddress serves net/http/pprof for profiling; "" or "0"
	// (the default) disables it.
	PprofBindAddress string

	// MaxConnections caps the connections the webhook server serves at once
	// (0: no cap); more wait in the listen backlog.
	MaxConnections int
	// DrainPeriod is how long the webhook server keeps serving after
	// SIGTERM, answering with Connection: close so that every client
	// connection is retired by a completed response; then it stops
	// listening and waits for in-flight admissions.
	DrainPeriod time.Duration
	// GracefulShutdownTimeout bounds the whole shutdown (drain period
	// included); keep it below the pod's terminationGracePeriodSeconds.
	GracefulShutdownTimeout time.Duration
	// CacheSyncCheckTimeout bounds one readiness probe's wait for the caches.
	CacheSyncCheckTimeout time.Duration

	// WebhookConfigurationName names eksguard's own MutatingWebhookConfiguration
	// and ValidatingWebhookConfiguration: the only ones it writes (their CA
	// bundle with CertRotation, their failure policies with FailurePolicy).
	WebhookConfigurationName string
	// FailurePolicy keeps the configurations' failure policies in line
	// with the policy in force.
	FailurePolicy FailurePolicyOptions
	// SeccompAdmissionPolicy makes the API server inject RuntimeDefault
	// through eksguard's MutatingAdmissionPolicy where it serves them
	// (internal/app/admissionpolicy); the webhook mutates elsewhere.
	SeccompAdmissionPolicy bool

	// CertRotation makes eksguard generate and renew the certificate in
	// CertDir itself. Off in DefaultOptions: the command line turns it on
	// unless cert-manager provides the certificate.
	CertRotation CertRotationOptions
}

// metricsOptions serves the metrics as opts say: over HTTPS behind the API
// server's authentication and authorization (as kubebuilder scaffolds it),
// at the webhook's minimum TLS version, or in plain HTTP.
func metricsOptions(opts Options) metricsserver.Options {
	m := metricsserver.Options{BindAddress: opts.MetricsBindAddress}
	if opts.MetricsSecure {
		m.SecureServing = true
		m.FilterProvider = metricsAuth
		m.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.MinVersion = opts.TLSMinVersion }}
	}
	return m
}

// DefaultOptions returns the production defaults.
func DefaultOptions() Options {
	return Options{
		OwnNamespace:             DefaultNamespace,
		PolicyNamespace:          DefaultNamespace,
		PolicyName:               DefaultPolicyConfigMapName,
		WebhookPort:              DefaultWebhookPort,
		TLSMinVersion:            tls.VersionTLS13,
		MetricsBindAddress:       DefaultMetricsBindAddress,
		MetricsSecure:            true,
		HealthProbeBindAddress:   DefaultHealthProbeBindAddress,
		PprofBindAddress:         "0",
		MaxConnections:           DefaultMaxConnections,
		DrainPeriod:              DefaultDrainPeriod,
		GracefulShutdownTimeout:  DefaultGracefulShutdownTimeout,
		CacheSyncCheckTimeout:    DefaultCacheSyncCheckTimeout,
		WebhookConfigurationName: DefaultWebhookConfigurationName,
		FailurePolicy:            FailurePolicyOptions{Reconcile: true, Enforcing: admissionregistrationv1.Fail},
		SeccompAdmissionPolicy:   true,
		CertRotation: CertRotationOptions{
			SecretName:  DefaultCertSecretName,
			ServiceName: DefaultWebhookServiceName,
		},
	}
}

// FailurePolicyOptions configure internal/app/failurepolicy.
type FailurePolicyOptions struct {
	// Reconcile patches the failure policies; off, disagreements are only
	// reported (metric and Event), for GitOps tools that own the objects.
	Reconcile bool
	// Enforcing is the failure policy of entries whose rule may deny.
	Enforcing admissionregistrationv1.FailurePolicyType
}

// ParseTLSVersion maps the --tls-min-version flag value to a crypto/tls version.
func ParseTLSVersion(v string) (uint16, error) {
	switch v {
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	default:
		return 0, fmt.Errorf("unsupported TLS version %q: use 1.2 or 1.3", v)
	}
}

// Server is a configured, not yet started, eksguard manager.
type Server struct {
	// Manager is the controller-runtime manager; tests may register extra
	// webhooks on its webhook server before Start.
	Manager manager.Manager
	// Store holds the policy in force.
	Store *config.Store
	// admissions is the webhook server, which counts admissions in flight.
	admissions *drainingServer
}

// New builds the manager and registers the webhooks, the policy watcher
// and the health checks. Nothing talks to the API server until Start.
func New(cfg *rest.Config, opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}

	webhookServer := withCertWatcher(NewWebhookServer(opts), opts.CertDir)
	mgr, err := manager.New(cfg, manager.Options{
		Scheme:                  scheme,
		Cache:                   cacheOptions(opts),
		Client:                  client.Options{Cache: &client.CacheOptions{DisableFor: uncachedObjects()}},
		Metrics:                 metricsOptions(opts),
		HealthProbeBindAddress:  opts.HealthProbeBindAddress,
		PprofBindAddress:        opts.PprofBindAddress,
		WebhookServer:           webhookServer,
		GracefulShutdownTimeout: &opts.GracefulShutdownTimeout,
		// Every replica answers admissions; there is nothing to elect.
		LeaderElection: false,
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}

	// Create the informers now so that the manager starts them with the
	// cache and /readyz waits for all of them, instead of the first
	// admission creating one lazily and waiting for it to sync.
	for _, obj := range cachedObjects() {
		if _, err := mgr.GetCache().GetInformer(context.Background(), obj, cache.BlockUntilSynced(false)); err != nil {
			return nil, fmt.Errorf("creating the informer for %T: %w", obj, err)
		}
	}

	store := config.NewStore(config.DefaultPolicy(opts.OwnNamespace))
	if err := policywatch.SetupWithManager(mgr, store, opts.PolicyNamespace, opts.PolicyName, opts.OwnNamespace); err != nil {
		return nil, fmt.Errorf("setting up the policy watcher: %w", err)
	}
	dataPlane := &dataplane.Holder{}
	if err := webhook.SetupWithManager(mgr, webhook.Options{
		Decider:   decision.Decider{Policy: store, Namespaces: mgr.GetCache(), LiveNamespaces: mgr.GetAPIReader()},
		APIReader: mgr.GetAPIReader(),
		DataPlane: dataPlane,
	}); err != nil {
		return nil, fmt.Errorf("registering the webhooks: %w", err)
	}

	if err := setupCertificates(mgr, opts); err != nil {
		return nil, err
	}
	watcher, err := client.NewWithWatch(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return nil, fmt.Errorf("creating the webhook configurations' watch client: %w", err)
	}
	if err := mgr.Add(&failurepolicy.Reconciler{
		Reader: mgr.GetAPIReader(), Writer: mgr.GetClient(), Watcher: watcher, Store: store, Name: opts.WebhookConfigurationName,
		Enforcing: opts.FailurePolicy.Enforcing, Patch: opts.FailurePolicy.Reconcile,
		Recorder:    mgr.GetEventRecorder("eksguard-failure-policy"),
		EventTarget: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: opts.PolicyNamespace, Name: opts.PolicyName}},
	}); err != nil {
		return nil, fmt.Errorf("adding the failure-policy reconciler: %w", err)
	}
	if opts.SeccompAdmissionPolicy {
		if err := mgr.Add(&admissionpolicy.Reconciler{
			Reader: mgr.GetAPIReader(), Writer: mgr.GetClient(), Mapper: mgr.GetRESTMapper(), Store: store,
			Name: opts.WebhookConfigurationName + "-seccomp", Owner: opts.WebhookConfigurationName,
		}); err != nil {
			return nil, fmt.Errorf("adding the seccomp admission policy reconciler: %w", err)
		}
	}
	if err := dataplanewatch.SetupWithManager(mgr, store, dataPlane,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: opts.PolicyNamespace, Name: opts.PolicyName}}); err != nil {
		return nil, fmt.Errorf("adding the data-plane watcher: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("informers", cacheSyncedChecker(mgr.GetCache(), opts.CacheSyncCheckTimeout)); err != nil {
		return nil, err
	}
	admissions := webhookServer.(*drainingServer)
	serving.Store(&servingState{certificates: admissions.certificates, cache: mgr.GetCache()})
	return &Server{Manager: mgr, Store: store, admissions: admissions}, nil
}

// Start runs the server until ctx is cancelled, then drains in-flight
// admissions (bounded by Options.GracefulShutdownTimeout) and returns. A
// drain that outlasts the timeout is an error only when admissions were
// still being answered then (shutdownResult).
func (s *Server) Start(ctx context.Context) error {
	return shutdownResult(ctx, s.Manager.Start(ctx), s.admissions.inFlight.Load())
}

// shutdownResult is the manager's result as the command's: a graceful
// shutdown that hit its timeout with no admission in flight (a slow informer
// or probe server, say) is logged and is a clean exit; with admissions in
// flight they were cut off, which is an error.
func shutdownResult(ctx context.Context, err error, inFlight int64) error {
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if inFlight == 0 {
		logf.FromContext(ctx).Info("the graceful shutdown timed out, with no admission in flight", logkeys.Cause, err.Error())
		return nil
	}
	return fmt.Errorf("%d admission(s) were cut off at shutdown: %w", inFlight, err)
}

func (o Options) validate() error {
	var errs []error
	if o.OwnNamespace == "" {
		errs = append(errs, errors.New("the own namespace must be set"))
	}
	if o.PolicyNamespace == "" || o.PolicyName == "" {
		errs = append(errs, errors.New("the policy ConfigMap namespace and name must be set"))
	}
	if o.WebhookPort <= 0 || o.WebhookPort > 65535 {
		errs = append(errs, fmt.Errorf("webhook port %d is out of range 1-65535", o.WebhookPort))
	}
	if o.TLSMinVersion != tls.VersionTLS12 && o.TLSMinVersion != tls.VersionTLS13 {
		errs = append(errs, fmt.Errorf("TLS minimum version %#04x is neither TLS 1.2 nor TLS 1.3", o.TLSMinVersion))
	}
	if o.FailurePolicy.Enforcing != admissionregistrationv1.Fail && o.FailurePolicy.Enforcing != admissionregistrationv1.Ignore {
		errs = append(errs, fmt.Errorf("enforcing failure policy %q is neither Fail nor Ignore", o.FailurePolicy.Enforcing))
	}
	if o.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("max connections %d is negative", o.MaxConnections))
	}
	if o.DrainPeriod < 0 || o.DrainPeriod >= o.GracefulShutdownTimeout {
		errs = append(errs, fmt.Errorf("the drain period %s must be at least 0 and shorter than the graceful shutdown timeout %s",
			o.DrainPeriod, o.GracefulShutdownTimeout))
	}
	if o.CacheSyncCheckTimeout <= 0 {
		errs = append(errs, errors.New("the cache sync check timeout must be positive"))
	}
	return errors.Join(errs...)
}

// cachedObjects are the kinds the rules read from the cache. The cache
// refuses reads of any other kind (ReaderFailOnMissingInformer), so adding
// a cluster-wide informer is a deliberate change here, never a side effect
// of a client.Get in a handler.
func cachedObjects() []client.Object {
	namespaceMetadata := &metav1.PartialObjectMetadata{}
	namespaceMetadata.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return []client.Object{
		// Labels of namespaces, for namespace selectors in the policy.
		namespaceMetadata,
		// NetworkPolicies, for the coverage rule.
		&networkingv1.NetworkPolicy{},
		// Ingresses, for the load-balancer TLS verdict of an IngressGroup.
		&networkingv1.Ingress{},
		// IngressClasses, which decide whether the LBC builds an Ingress.
		&networkingv1.IngressClass{},
		// The one policy ConfigMap (restricted in cacheOptions).
		&corev1.ConfigMap{},
	}
}

// uncachedObjects are read live by the manager's client: a cluster-wide
// informer of Pods or Secrets would hold every object of the cluster in
// memory for rare lookups.
func uncachedObjects() []client.Object {
	return []client.Object{&corev1.Pod{}, &corev1.Secret{}}
}

// cacheOptions strips managedFields from everything cached and narrows the
// ConfigMap informer to the one policy ConfigMap. Because of that narrowing,
// the cached client finds no other ConfigMap: read other ConfigMaps with the
// APIReader.
func cacheOptions(opts Options) cache.Options {
	namespaceMetadata := &metav1.PartialObjectMetadata{}
	namespaceMetadata.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return cache.Options{
		DefaultTransform:            cache.TransformStripManagedFields(),
		ReaderFailOnMissingInformer: true,
		ByObject: map[client.Object]cache.ByObject{
			// The coverage index reads a NetworkPolicy's identity and spec only.
			&networkingv1.NetworkPolicy{}: {Transform: netpol.TrimNetworkPolicy},
			&networkingv1.IngressClass{}:  {Transform: lbtls.TrimIngressClass},
			&networkingv1.Ingress{}:       {Transform: lbtls.TrimIngress},
			// Namespace selectors read a namespace's labels only.
			namespaceMetadata: {Transform: trimNamespace},
			&corev1.ConfigMap{}: {
				Namespaces: map[string]cache.Config{opts.PolicyNamespace: {}},
				Field:      fields.OneTermEqualSelector("metadata.name", opts.PolicyName),
			},
		},
	}
}

// trimNamespace keeps a cached namespace's identity and labels.
func trimNamespace(obj any) (any, error) {
	ns, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	trimmed := &metav1.PartialObjectMetadata{TypeMeta: ns.TypeMeta}
	trimmed.Name, trimmed.UID, trimmed.ResourceVersion, trimmed.Labels = ns.Name, ns.UID, ns.ResourceVersion, ns.Labels
	return trimmed, nil
}

// cacheSyncedChecker passes once every informer has synced. Until then the
// rules would read an empty cache, e.g. see no NetworkPolicy at all.
func cacheSyncedChecker(c cache.Cache, timeout time.Duration) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), timeout)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("informer caches have not synced yet")
		}
		return nil
	}
}

// NewWebhookServer is the webhook server New starts: TLS as opts say, the
// connection cap and the SIGTERM drain period. New reads its certificates
// from CertDir through a certs.Watcher (see withCertWatcher), which reloads
// them on file change (fsnotify) and every 10 seconds, so rotated
// certificates are served without a restart.
func NewWebhookServer(opts Options) crwebhook.Server {
	tlsOpts := []func(*tls.Config){func(c *tls.Config) { c.MinVersion = opts.TLSMinVersion }}
	if !opts.EnableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	srv := newDrainingServer(crwebhook.Options{
		Host:    opts.WebhookHost,
		Port:    opts.WebhookPort,
		CertDir: opts.CertDir,
		TLSOpts: tlsOpts,
	})
	srv.drainPeriod = opts.DrainPeriod
	srv.maxConnections = opts.MaxConnections
	return srv
}
