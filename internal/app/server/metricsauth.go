package server

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// How long a scraper's answer is reused: an allowed token for a minute
// (controller-runtime's metrics/filters and kube-rbac-proxy cache as
// long), a refused one briefly, so that a new RoleBinding takes effect soon.
const (
	metricsAllowTTL  = time.Minute
	metricsRefuseTTL = 10 * time.Second
	// metricsCacheSize bounds the remembered tokens; beyond it the cache
	// starts over (a scraper or two is the normal population).
	metricsCacheSize = 256
)

// metricsAuth is the metrics server's filter: a bearer token the API
// server authenticates (TokenReview) and authorizes to get the requested
// non-resource URL (SubjectAccessReview), as controller-runtime's
// metrics/filters.WithAuthenticationAndAuthorization does. It is written on
// client-go's typed clients rather than imported: that package brings
// k8s.io/apiserver and CEL, which cost eksguard 14 MiB of RSS at rest.
func metricsAuth(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authenticationclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authorizationclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	a := &metricsAuthorizer{tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews(), cache: map[[32]byte]metricsVerdict{}}
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			status, err := a.verdict(r)
			switch {
			case err != nil:
				log.Error(err, "checking a metrics scraper's access", "path", r.URL.Path)
				http.Error(w, "could not check access", http.StatusInternalServerError)
			case status != http.StatusOK:
				http.Error(w, http.StatusText(status), status)
			default:
				next.ServeHTTP(w, r)
			}
		}), nil
	}, nil
}

type metricsAuthorizer struct {
	tokens authenticationclient.TokenReviewInterface
	access authorizationclient.SubjectAccessReviewInterface

	mu    sync.Mutex
	cache map[[32]byte]metricsVerdict
}

type metricsVerdict struct {
	status  int
	expires time.Time
}

// verdict is 200, 401 (no token, or one the API server does not
// authenticate) or 403 (not allowed); an error when the API server could
// not answer.
func (a *metricsAuthorizer) verdict(r *http.Request) (int, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return http.StatusUnauthorized, nil
	}
	verb := strings.ToLower(r.Method)
	if r.Method == http.MethodHead {
		verb = "get"
	}
	// The key covers what is asked, not only who asks.
	key := sha256.Sum256([]byte(verb + " " + r.URL.Path + " " + token))
	now := time.Now()
	a.mu.Lock()
	cached, ok := a.cache[key]
	a.mu.Unlock()
	if ok && now.Before(cached.expires) {
		return cached.status, nil
	}
	status, err := a.review(r.Context(), token, verb, r.URL.Path)
	if err != nil {
		return 0, err
	}
	ttl := metricsRefuseTTL
	if status == http.StatusOK {
		ttl = metricsAllowTTL
	}
	a.mu.Lock()
	if len(a.cache) >= metricsCacheSize {
		clear(a.cache)
	}
	a.cache[key] = metricsVerdict{status: status, expires: now.Add(ttl)}
	a.mu.Unlock()
	return status, nil
}

func (a *metricsAuthorizer) review(ctx context.Context, token, verb, path string) (int, error) {
	tr, err := a.tokens.Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	if !tr.Status.Authenticated {
		return http.StatusUnauthorized, nil
	}
	user := tr.Status.User
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := a.access.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	if !sar.Status.Allowed {
		return http.StatusForbidden, nil
	}
	return http.StatusOK, nil
}
