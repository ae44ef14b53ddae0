package certs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Defaults for Options.
const (
	// DefaultCAValidity is long: replacing a CA changes the CA bundle the
	// API server trusts, the step where the anchors' outages happened.
	DefaultCAValidity = 10 * 365 * 24 * time.Hour
	// DefaultServerCertValidity is the lifetime of a serving certificate.
	DefaultServerCertValidity = 365 * 24 * time.Hour
	// DefaultRenewBefore renews a certificate (serving or CA) this long
	// before it expires, leaving months to notice a failing renewal.
	DefaultRenewBefore = 90 * 24 * time.Hour
	// DefaultCheckInterval is how often expiry is checked besides on every
	// change of the Secret or of the webhook configurations.
	DefaultCheckInterval = 12 * time.Hour
)

// Names of the files in the Secret and in the mounted certificate directory.
const (
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
	// CAFile is the CA certificate; the CA key is stored as ca.key.
	CAFile = "ca.crt"
)

// fieldOwner identifies eksguard's writes to the webhook configurations.
const fieldOwner = "eksguard-cert-rotation"

// Options configure certificate rotation.
type Options struct {
	// Namespace holds the Secret and the webhook Service.
	Namespace string
	// SecretName is the Secret that stores the CA and the serving
	// certificate. It must exist (the Helm chart creates it empty): eksguard
	// only updates it, so it needs no permission to create Secrets.
	SecretName string
	// ServiceName is the webhook Service; the serving certificate is valid
	// for <service>.<namespace>.svc and <service>.<namespace>.svc.cluster.local.
	ServiceName string
	// CertDir is where the Secret is mounted; Ready waits for the files.
	CertDir string
	// MutatingWebhookConfigurations and ValidatingWebhookConfigurations get
	// the CA bundle in every webhook entry.
	MutatingWebhookConfigurations   []string
	ValidatingWebhookConfigurations []string
	// Ready is closed once the serving certificate is in CertDir and the CA
	// bundle is in every webhook configuration that exists. Required.
	Ready chan struct{}

	// Zero values mean the defaults above.
	CAValidity         time.Duration
	ServerCertValidity time.Duration
	RenewBefore        time.Duration
	CheckInterval      time.Duration
}

// ServiceDNSName is the host name the API server verifies when it calls
// the webhook Service.
func ServiceDNSName(service, namespace string) string {
	return service + "." + namespace + ".svc"
}

// SetupWithManager adds certificate rotation to mgr. Every replica runs
// it: the first to find the Secret empty or expiring writes it, the others
// lose the update conflict and reuse what it wrote.
func SetupWithManager(mgr manager.Manager, opts Options) error {
	opts.defaults()
	if err := opts.validate(); err != nil {
		return fmt.Errorf("invalid certificate rotation options: %w", err)
	}
	webhooks := make([]rotator.WebhookInfo, 0, len(opts.MutatingWebhookConfigurations)+len(opts.ValidatingWebhookConfigurations))
	for _, name := range opts.MutatingWebhookConfigurations {
		webhooks = append(webhooks, rotator.WebhookInfo{Name: name, Type: rotator.Mutating})
	}
	for _, name := range opts.ValidatingWebhookConfigurations {
		webhooks = append(webhooks, rotator.WebhookInfo{Name: name, Type: rotator.Validating})
	}
	dnsName := ServiceDNSName(opts.ServiceName, opts.Namespace)
	return rotator.AddRotator(narrowSecrets(mgr, opts.Namespace, opts.SecretName), &rotator.CertRotator{
		SecretKey:      types.NamespacedName{Namespace: opts.Namespace, Name: opts.SecretName},
		CertDir:        opts.CertDir,
		CertName:       CertFile,
		KeyName:        KeyFile,
		CAName:         opts.ServiceName + "-ca",
		CAOrganization: "eksguard",
		DNSName:        dnsName,
		ExtraDNSNames:  []string{dnsName + ".cluster.local"},
		ExtKeyUsages:   &[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsReady:        opts.Ready,
		Webhooks:       webhooks,
		FieldOwner:     fieldOwner,
		// Inject the CA bundle only once this replica can serve the
		// certificate it belongs to.
		EnableReadinessCheck: true,
		// Renewed certificates are reloaded from disk, never by restarting.
		RestartOnSecretRefresh: false,
		// Every replica needs its certificates; there is no leader.
		RequireLeaderElection:  false,
		CaCertDuration:         opts.CAValidity,
		ServerCertDuration:     opts.ServerCertValidity,
		LookaheadInterval:      opts.RenewBefore,
		RotationCheckFrequency: opts.CheckInterval,
	})
}

// ReadyChecker fails until ready is closed; add it as a readyz check so
// that no replica receives admissions before its certificates are trusted.
func ReadyChecker(ready <-chan struct{}) healthz.Checker {
	return func(*http.Request) error {
		select {
		case <-ready:
			return nil
		default:
			return errors.New("webhook certificates are not in place yet")
		}
	}
}

func (o *Options) defaults() {
	if o.CAValidity == 0 {
		o.CAValidity = DefaultCAValidity
	}
	if o.ServerCertValidity == 0 {
		o.ServerCertValidity = DefaultServerCertValidity
	}
	if o.RenewBefore == 0 {
		o.RenewBefore = DefaultRenewBefore
	}
	if o.CheckInterval == 0 {
		o.CheckInterval = DefaultCheckInterval
	}
}

func (o *Options) validate() error {
	var errs []error
	for _, msg := range validation.IsDNS1123Label(o.Namespace) {
		errs = append(errs, fmt.Errorf("namespace %q: %s", o.Namespace, msg))
	}
	for _, msg := range validation.IsDNS1123Label(o.ServiceName) {
		errs = append(errs, fmt.Errorf("service name %q: %s", o.ServiceName, msg))
	}
	for _, msg := range validation.IsDNS1123Subdomain(o.SecretName) {
		errs = append(errs, fmt.Errorf("secret name %q: %s", o.SecretName, msg))
	}
	if o.CertDir == "" {
		errs = append(errs, errors.New("the certificate directory must be set"))
	}
	if len(o.MutatingWebhookConfigurations)+len(o.ValidatingWebhookConfigurations) == 0 {
		errs = append(errs, errors.New("name at least one webhook configuration to receive the CA bundle"))
	}
	if o.Ready == nil {
		errs = append(errs, errors.New("the Ready channel must be set"))
	}
	// A certificate that is always within its renewal window would be
	// regenerated on every check.
	if o.RenewBefore <= 0 || o.RenewBefore >= o.ServerCertValidity || o.RenewBefore >= o.CAValidity {
		errs = append(errs, fmt.Errorf("renew-before %s must be positive and shorter than the serving certificate (%s) and CA (%s) validity",
			o.RenewBefore, o.ServerCertValidity, o.CAValidity))
	}
	if o.CheckInterval <= 0 || o.CheckInterval >= o.RenewBefore {
		errs = append(errs, fmt.Errorf("check interval %s must be positive and shorter than renew-before %s", o.CheckInterval, o.RenewBefore))
	}
	return errors.Join(errs...)
}
