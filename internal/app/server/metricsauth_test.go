package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestMetricsAuthorizer: the answers of controller-runtime's
// metrics/filters (401 without a token the API server authenticates, 403
// without get on the path, 500 when the API server cannot answer), the
// review fields the API server sees, and the cache.
func TestMetricsAuthorizer(t *testing.T) {
	users := map[string]authenticationv1.UserInfo{
		"reader-token":   {Username: "system:serviceaccount:monitoring:prometheus", Groups: []string{"system:serviceaccounts"}, Extra: map[string]authenticationv1.ExtraValue{"k": {"v"}}},
		"stranger-token": {Username: "system:serviceaccount:default:stranger"},
	}
	var reviews, accesses int
	var broken bool
	client := fake.NewClientset()
	client.PrependReactor("create", "tokenreviews", func(a clienttesting.Action) (bool, runtime.Object, error) {
		reviews++
		if broken {
			return true, nil, errors.New("the API server is unreachable")
		}
		tr := a.(clienttesting.CreateAction).GetObject().(*authenticationv1.TokenReview)
		if u, ok := users[tr.Spec.Token]; ok {
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: u}
		}
		return true, tr, nil
	})
	client.PrependReactor("create", "subjectaccessreviews", func(a clienttesting.Action) (bool, runtime.Object, error) {
		accesses++
		sar := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		s := sar.Spec
		if s.NonResourceAttributes == nil || s.NonResourceAttributes.Path != "/metrics" || s.NonResourceAttributes.Verb != "get" {
			t.Errorf("SubjectAccessReview asks for %+v, want get /metrics", s.NonResourceAttributes)
		}
		sar.Status.Allowed = s.User == "system:serviceaccount:monitoring:prometheus" &&
			len(s.Groups) == 1 && len(s.Extra["k"]) == 1
		return true, sar, nil
	})
	a := &metricsAuthorizer{tokens: client.AuthenticationV1().TokenReviews(), access: client.AuthorizationV1().SubjectAccessReviews(),
		cache: map[[32]byte]metricsVerdict{}}
	ask := func(header string) (int, error) {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		return a.verdict(r)
	}
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"not a bearer token", "Basic dXNlcjpwYXNz", http.StatusUnauthorized},
		{"a token the API server does not authenticate", "Bearer forged", http.StatusUnauthorized},
		{"an authenticated caller without get on /metrics", "Bearer stranger-token", http.StatusForbidden},
		{"the reader", "Bearer reader-token", http.StatusOK},
	} {
		if got, err := ask(tc.header); err != nil || got != tc.want {
			t.Errorf("%s: %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
	if reviews != 3 || accesses != 2 {
		t.Errorf("%d TokenReviews and %d SubjectAccessReviews, want 3 and 2", reviews, accesses)
	}
	// Cached: the same tokens again cost the API server nothing.
	for _, h := range []string{"Bearer forged", "Bearer stranger-token", "Bearer reader-token"} {
		if _, err := ask(h); err != nil {
			t.Fatal(err)
		}
	}
	if reviews != 3 || accesses != 2 {
		t.Errorf("after repeats: %d TokenReviews and %d SubjectAccessReviews, want still 3 and 2", reviews, accesses)
	}
	// An API server that cannot answer is an error, never a verdict, and
	// is not remembered.
	broken = true
	if got, err := ask("Bearer new-token"); err == nil {
		t.Errorf("with the API server down: %d and no error", got)
	}
	broken = false
	users["new-token"] = users["reader-token"]
	if got, err := ask("Bearer new-token"); err != nil || got != http.StatusOK {
		t.Errorf("once the API server is back: %d, %v; want 200", got, err)
	}
}
