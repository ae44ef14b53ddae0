// Package fuzz fuzzes every route's webhook with raw AdmissionReview bytes,
// as the API server (or anyone who reaches the port) would send them: no
// input may panic the server or get an answer that is not an
// AdmissionReview response to the same request. .ci/run runs each target
// for a bounded time; crashers land in testdata/fuzz as regression tests.
package fuzz

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	sigsjson "sigs.k8s.io/json"

	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/webhook"
	"github.com/eksguard/eksguard/webhook/netpol"
)

func TestMain(m *testing.M) {
	logf.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

// seeds are real admission requests for every route.
var seeds = []string{
	review("", "v1", "Pod", "CREATE", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop","labels":{"app":"web"}},`+
		`"spec":{"containers":[{"name":"app","image":"nginx","securityContext":{"seccompProfile":{"type":"Unconfined"}}}]}}`, ""),
	review("", "v1", "Pod", "UPDATE", `{"metadata":{"name":"web","labels":{"app":"db"}},"spec":{"hostNetwork":true}}`,
		`{"metadata":{"name":"web","labels":{"app":"web"}}}`),
	review("apps", "v1", "Deployment", "CREATE", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},`+
		`"spec":{"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"a","image":"b"}]}}}}`, ""),
	review("batch", "v1", "CronJob", "UPDATE", `{"spec":{"jobTemplate":{"spec":{"template":{"metadata":{"labels":{"a":"b"}}}}}}}`, `{"spec":{}}`),
	review("networking.k8s.io", "v1", "NetworkPolicy", "DELETE", "", `{"metadata":{"name":"deny","namespace":"shop","uid":"u"},"spec":{"podSelector":{}}}`),
	review("cilium.io", "v2", "CiliumClusterwideNetworkPolicy", "UPDATE", `{"metadata":{"name":"c"},"spec":{"endpointSelector":{},"ingress":[{}]}}`,
		`{"metadata":{"name":"c"},"specs":[{"endpointSelector":{"matchLabels":{"k8s:app":"x"}},"egressDeny":[{}]}]}`),
	review("", "v1", "Service", "CREATE", `{"metadata":{"name":"lb","annotations":{"service.beta.kubernetes.io/aws-load-balancer-type":"external",`+
		`"service.beta.kubernetes.io/aws-load-balancer-ssl-ports":"*"}},"spec":{"type":"LoadBalancer","ports":[{"port":443}]}}`, ""),
	review("networking.k8s.io", "v1", "Ingress", "UPDATE", `{"metadata":{"name":"i","annotations":{"kubernetes.io/ingress.class":"alb",`+
		`"alb.ingress.kubernetes.io/listen-ports":"[{\"HTTP\":80},{\"HTTPS\":443}]"}},"spec":{}}`, `{"metadata":{"name":"i"}}`),
	`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`,
	`null`,
}

func review(group, version, kind, op, object, old string) string {
	req := map[string]any{
		"uid":       "fuzz-1",
		"kind":      map[string]string{"group": group, "version": version, "kind": kind},
		"resource":  map[string]string{"group": group, "version": version, "resource": "x"},
		"namespace": "shop",
		"operation": op,
		"userInfo":  map[string]any{"username": "alice"},
	}
	if object != "" {
		req["object"] = json.RawMessage(object)
	}
	if old != "" {
		req["oldObject"] = json.RawMessage(old)
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// FuzzRoutes sends the bytes to every route's webhook, with an empty
// cluster behind the rules (live reads fail, as when the API server is
// unreachable). Each answer must be an AdmissionReview response; when the
// request decoded, the response must echo its UID.
func FuzzRoutes(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	decider := ruletest.Decider(ruletest.CompilePolicy(f, nil))
	handlers := webhook.Handlers{
		Decider:        decider,
		Coverage:       &netpol.Checker{Decider: decider, Index: netpol.NewIndex(), Live: unreachable{}},
		Ingresses:      unreachable{},
		IngressClasses: unreachable{},
		ACK:            unreachable{},
		Gateways:       unreachable{},
	}
	var hooks []*admission.Webhook
	for _, r := range webhook.Routes {
		hooks = append(hooks, r.Webhook(handlers))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var sent admissionv1.AdmissionReview
		// Case-sensitive, as the webhook's own decoder reads field names.
		decoded := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &sent) == nil && sent.Request != nil
		for i, hook := range hooks {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, webhook.Routes[i].Path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			hook.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				continue // an unreadable review is refused at the HTTP level
			}
			var got admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Response == nil {
				t.Fatalf("route %s answered %q: not an AdmissionReview response", webhook.Routes[i].Path, rec.Body.String())
			}
			if decoded && got.Response.UID != sent.Request.UID {
				t.Fatalf("route %s answered UID %q to request %q", webhook.Routes[i].Path, got.Response.UID, sent.Request.UID)
			}
		}
	})
}
