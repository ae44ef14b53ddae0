package certs

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// TestSecretNarrower: the rotator's Secret lists and watches name the
// certificate Secret, which is what lets the chart's Role grant list and
// watch on that name only (the API server reads a metadata.name field
// selector as the request's name, RequestInfoFactory.NewRequestInfo).
// Everything else passes unchanged.
func TestSecretNarrower(t *testing.T) {
	tests := []struct {
		name, method, target string
		wantQuery            string
	}{
		{"list", http.MethodGet, "/api/v1/namespaces/eksguard/secrets?limit=500", "fieldSelector=metadata.name%3Dtls&limit=500"},
		{"watch", http.MethodGet, "/api/v1/namespaces/eksguard/secrets?allowWatchBookmarks=true&resourceVersion=7&watch=true", "allowWatchBookmarks=true&fieldSelector=metadata.name%3Dtls&resourceVersion=7&watch=true"},
		{"a given selector is kept and ANDed", http.MethodGet, "/api/v1/namespaces/eksguard/secrets?fieldSelector=type%3Dopaque", "fieldSelector=type%3Dopaque%2Cmetadata.name%3Dtls"},
		{"trailing slash", http.MethodGet, "/api/v1/namespaces/eksguard/secrets/", "fieldSelector=metadata.name%3Dtls"},
		{"a get by name is already named", http.MethodGet, "/api/v1/namespaces/eksguard/secrets/tls", ""},
		{"an update is not a list", http.MethodPut, "/api/v1/namespaces/eksguard/secrets", ""},
		{"another namespace's Secrets", http.MethodGet, "/api/v1/namespaces/other/secrets", ""},
		{"another kind", http.MethodGet, "/api/v1/namespaces/eksguard/configmaps", ""},
		{"webhook configurations", http.MethodGet, "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations?watch=true", "watch=true"},
		{"an unparseable selector goes as given", http.MethodGet, "/api/v1/namespaces/eksguard/secrets?fieldSelector=%3D%3D%3D", "fieldSelector=%3D%3D%3D"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			rt := secretNarrower{
				next:       roundTripFunc(func(r *http.Request) (*http.Response, error) { got = r; return &http.Response{StatusCode: 200}, nil }),
				collection: "/api/v1/namespaces/eksguard/secrets",
				name:       "tls",
			}
			req := httptest.NewRequest(tt.method, "https://api"+tt.target, nil)
			original := req.URL.RawQuery
			if _, err := rt.RoundTrip(req); err != nil {
				t.Fatal(err)
			}
			if got.URL.RawQuery != tt.wantQuery {
				t.Errorf("query %q, want %q", got.URL.RawQuery, tt.wantQuery)
			}
			if req.URL.RawQuery != original {
				t.Errorf("the caller's request was changed: %q", req.URL.RawQuery)
			}
		})
	}
}

// TestNarrowSecretsConfig: the narrowing is in the configuration the
// rotator builds its cache from, through client-go's own transport, and the
// manager's configuration is left as it was.
func TestNarrowSecretsConfig(t *testing.T) {
	queries := make(chan url.Values, 2)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries <- r.URL.Query()
	}))
	defer api.Close()
	mgr := configManager{config: &rest.Config{Host: api.URL}}
	narrowed := narrowSecrets(mgr, "eksguard", "tls")
	for _, config := range []*rest.Config{narrowed.GetConfig(), mgr.GetConfig()} {
		client, err := rest.HTTPClientFor(config)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Get(api.URL + "/api/v1/namespaces/eksguard/secrets?watch=true")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := (<-queries).Get("fieldSelector"); got != "metadata.name=tls" {
		t.Errorf("narrowed configuration sent fieldSelector %q", got)
	}
	if got := (<-queries).Get("fieldSelector"); got != "" {
		t.Errorf("the manager's own configuration sent fieldSelector %q", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// configManager is a manager with only a configuration.
type configManager struct {
	manager.Manager
	config *rest.Config
}

func (m configManager) GetConfig() *rest.Config { return m.config }
