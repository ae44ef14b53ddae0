package test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
)

// The test-only webhook of testdata/webhooks/roundtrip.yaml.
const (
	roundTripPath      = "/test-roundtrip"
	roundTripWebhook   = "roundtrip.test.eksguard.io"
	roundTripLabel     = "test.eksguard.io/roundtrip"
	roundTripTimeout   = 5 * time.Second // timeoutSeconds in roundtrip.yaml
	roundTripDenial    = "roundtrip: denied as requested"
	roundTripBounded   = "roundtrip: admission context ends with the API server's timeout"
	roundTripUnbounded = "roundtrip: admission context is not bounded by the API server's timeout"
)

// registerRoundTripWebhook serves the test-only webhook: it denies
// ConfigMaps labelled "deny" and admits the others with a warning saying
// whether the handler's context ends with the API server's admission timeout
// (and so outlives a server shutdown only that long).
func registerRoundTripWebhook(srv crwebhook.Server) {
	srv.Register(roundTripPath, &admission.Webhook{Handler: admission.HandlerFunc(
		func(ctx context.Context, req admission.Request) admission.Response {
			var cm corev1.ConfigMap
			if err := json.Unmarshal(req.Object.Raw, &cm); err != nil {
				return admission.Errored(http.StatusBadRequest, err)
			}
			if cm.Labels[roundTripLabel] == "deny" {
				return admission.Denied(roundTripDenial)
			}
			deadline, ok := ctx.Deadline()
			if !ok || time.Until(deadline) > roundTripTimeout {
				return admission.Allowed("").WithWarnings(roundTripUnbounded)
			}
			return admission.Allowed("").WithWarnings(roundTripBounded)
		})})
}

func roundTripConfigMap(namespace, verdict string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Namespace: namespace, GenerateName: "roundtrip-",
		Labels: map[string]string{roundTripLabel: verdict},
	}}
}

// TestRoundTripDenial: the API server calls the webhook over TLS and
// returns its denial to the client unchanged.
func TestRoundTripDenial(t *testing.T) {
	ns := newNamespace(t, nil)
	err := k8sClient.Create(context.Background(), roundTripConfigMap(ns, "deny"))
	if !apierrors.IsForbidden(err) {
		t.Fatalf("create: got error %v, want Forbidden", err)
	}
	want := `admission webhook "` + roundTripWebhook + `" denied the request: ` + roundTripDenial
	if err.Error() != want {
		t.Errorf("denial:\n got %q\nwant %q", err.Error(), want)
	}
}

// TestRoundTripWarning: admission warnings reach the client, and handlers
// run with a context bounded by the admission timeout.
func TestRoundTripWarning(t *testing.T) {
	ns := newNamespace(t, nil)
	c, warnings := newWarningClient(t)
	if err := c.Create(context.Background(), roundTripConfigMap(ns, "warn")); err != nil {
		t.Fatalf("create: %v", err)
	}
	if got, want := warnings.Messages(), []string{roundTripBounded}; !slices.Equal(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}

// TestPolicyReload: a policy ConfigMap is put in force and its deletion
// restores the defaults (applyPolicy's cleanup waits for that).
func TestPolicyReload(t *testing.T) {
	defaults := testServer.Store.Current()
	if defaults.Source != defaultsSource {
		t.Fatalf("policy before the test comes from %q, want the defaults", defaults.Source)
	}
	applyPolicy(t, `
apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  seccomp:
    mode: warn
`)
	current := testServer.Store.Current()
	if got := current.Config.Rules.Seccomp.Mode; got != config.ModeWarn {
		t.Errorf("seccomp mode in force: got %q, want %q", got, config.ModeWarn)
	}
	if current.Hash == defaults.Hash {
		t.Errorf("policy hash did not change from the defaults' %s", defaults.Hash)
	}
}
