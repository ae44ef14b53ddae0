package test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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

// TestSlowBodyIsCutOff sends the in-process webhook server, over TLS as the
// API server would, headers and then only part of the body: the server
// must end the request (a 400 refusal of the unreadable body, once the body
// read times out) instead of holding the connection open.
func TestSlowBodyIsCutOff(t *testing.T) {
	wio := testEnv.WebhookInstallOptions
	addr := net.JoinHostPort(wio.LocalServingHost, fmt.Sprint(wio.LocalServingPort))
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test bed's own certificate
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "POST /validate-v1-pod-networkpolicy HTTP/1.1\r\nHost: eksguard\r\nContent-Type: application/json\r\n"+
		"Content-Length: 100000\r\n\r\n{\"apiVersion\":"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			t.Fatal("the server still holds the connection 30 s later")
		}
		return // the server closed it
	}
	defer resp.Body.Close()
	// controller-runtime answers an unreadable body with an AdmissionReview
	// whose result is a 400.
	var review struct {
		Response *struct {
			Allowed bool `json:"allowed"`
			Status  *struct {
				Code int32 `json:"code"`
			} `json:"status"`
		} `json:"response"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&review); err != nil {
		t.Fatalf("answer to a truncated body: %v", err)
	}
	if r := review.Response; r == nil || r.Allowed || r.Status == nil || r.Status.Code != http.StatusBadRequest {
		t.Errorf("answer to a truncated body: %+v, want a 400 refusal", review.Response)
	}
}
