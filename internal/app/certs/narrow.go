package certs

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// narrowedManager hands the certificate rotator a client configuration
// whose Secret lists and watches in the namespace name the one certificate
// Secret. cert-controller builds its own namespace-wide cache from
// GetConfig, with no field selector (rotator.addNamespacedCache), so without
// this every Secret of the namespace, Helm's release Secrets included, would
// be listed, held in memory and need a namespace-wide list/watch grant. With
// it, the chart's Role grants list and watch on that one name: the API
// server authorizes a list or watch whose field selector requires
// metadata.name as a request for that name (RequestInfoFactory.NewRequestInfo).
type narrowedManager struct {
	manager.Manager
	config *rest.Config
}

// GetConfig is the manager's configuration with the Secret requests narrowed.
func (m narrowedManager) GetConfig() *rest.Config { return m.config }

// narrowSecrets returns mgr with its configuration's Secret collection
// requests in namespace narrowed to the Secret name.
func narrowSecrets(mgr manager.Manager, namespace, name string) manager.Manager {
	config := rest.CopyConfig(mgr.GetConfig())
	collection := "/api/v1/namespaces/" + namespace + "/secrets"
	config.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return secretNarrower{next: next, collection: collection, name: name}
	})
	return narrowedManager{Manager: mgr, config: config}
}

// secretNarrower adds metadata.name=<name> to the field selector of GETs
// of one Secret collection (lists and watches).
type secretNarrower struct {
	next       http.RoundTripper
	collection string
	name       string
}

func (s secretNarrower) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || strings.TrimSuffix(req.URL.Path, "/") != s.collection {
		return s.next.RoundTrip(req)
	}
	query := req.URL.Query()
	selector := fields.OneTermEqualSelector("metadata.name", s.name)
	if given := query.Get("fieldSelector"); given != "" {
		parsed, err := fields.ParseSelector(given)
		if err != nil {
			// Let the API server answer what it cannot parse either.
			return s.next.RoundTrip(req)
		}
		selector = fields.AndSelectors(parsed, selector)
	}
	query.Set("fieldSelector", selector.String())
	narrowed := req.Clone(req.Context()) // a deep copy: the caller's URL stays
	narrowed.URL.RawQuery = query.Encode()
	return s.next.RoundTrip(narrowed)
}
