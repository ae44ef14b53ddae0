package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// TestReviewHandlerAnswersAsControllerRuntime: for every kind of request,
// the single-pass transport answers exactly what admission.Webhook.ServeHTTP
// answers, the decoded request included (the handler echoes what it got).
func TestReviewHandlerAnswersAsControllerRuntime(t *testing.T) {
	hook := echoHook()
	const pod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}`
	request := func(apiVersion, extra string) string {
		return `{"apiVersion":"` + apiVersion + `","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},` +
			`"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"shop","operation":"CREATE",` +
			`"userInfo":{"username":"alice","groups":["dev"],"extra":{"k":["v"]}},"object":` + pod + `,"oldObject":null,"dryRun":true,` +
			`"options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}` + extra + `}}`
	}
	for _, tt := range []struct {
		name, contentType, body string
	}{
		{"v1 review", "application/json", request("admission.k8s.io/v1", "")},
		{"v1 review with unknown and differently cased fields", "application/json", request("admission.k8s.io/v1", `,"UID":"x","future":[1,{"a":null}]`)},
		{"v1beta1 review", "application/json", request("admission.k8s.io/v1beta1", "")},
		{"no request", "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`},
		{"not JSON", "application/json", `{"apiVersion":`},
		{"wrong kind", "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"u"}}`},
		{"wrong content type", "text/plain", request("admission.k8s.io/v1", "")},
		{"empty body", "application/json", ""},
		{"a field of the wrong type", "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":["u"]}}`},
		{"old object first, with space around the objects", "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",` +
			`"oldObject" : ` + pod + ` , "operation":"UPDATE","object":	{"metadata":{}}	}}`},
		{"no object, an old one", "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"DELETE","oldObject":` + pod + `}}`},
		{"an object twice", "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"a":1},"object":{"b":2}}}`},
		{"an object that is not one", "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":[1,2]}}`},
		{"a request that is not an object", "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":"u"}`},
		// The review's decoder refuses these; controller-runtime's reads them.
		{"a field given twice, then null", "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","operation":null,"object":{"a":1}}}`},
		{"invalid UTF-8 in the review and in the object", "application/json", "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\xff\",\"object\":{\"a\":\"\xf3\"}}}"},
		{"invalid UTF-8 in the object only", "application/json", "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"object\":{\"a\":\"\xf3\"}}}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			compareTransports(t, hook, tt.contentType, tt.body)
		})
	}
}

// echoHook answers with what it was asked, so that answers compare requests.
func echoHook() *admission.Webhook {
	return &admission.Webhook{Handler: admission.HandlerFunc(func(_ context.Context, req admission.Request) admission.Response {
		got, _ := json.Marshal(req.AdmissionRequest)
		return admission.Allowed("").WithWarnings(string(got))
	})}
}

func compareTransports(t *testing.T, hook *admission.Webhook, contentType, body string) {
	t.Helper()
	serve := func(h http.Handler) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
		}
		return rec.Code, out
	}
	wantCode, want := serve(hook)
	gotCode, got := serve(reviewHandler{hook: hook})
	if gotCode != wantCode || !reflect.DeepEqual(got, want) {
		t.Errorf("answer:\n got %d %s\nwant %d %s", gotCode, jsonText(got), wantCode, jsonText(want))
	}
}

// FuzzReviewHandler: on any body, the single-pass transport answers what
// controller-runtime's answers.
func FuzzReviewHandler(f *testing.F) {
	f.Add(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"a":[1,"x",null]},"userInfo":{"extra":{"k":["v"]}}}}`)
	f.Add(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"\u00e9","dryRun":false,"object":null}}`)
	f.Add(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}`)
	// Where jsonscan finds the objects: in either order, spaced, twice.
	f.Add(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"oldObject" : {"b":[{}]} ,"uid":"u","object":	{"a":"\u0022"}}}`)
	f.Add(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"object":{"a":1},"object":null,"options":{"kind":"x"}}}`)
	f.Add(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","dryRun":true,"dryRun":null,"userInfo":{"extra":{"k":["a"],"k":null}}}}`)
	hook := echoHook()
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 16<<10 {
			return // keeps each run short
		}
		compareTransports(t, hook, "application/json", body)
	})
}

func jsonText(v any) string {
	data, _ := json.Marshal(v)
	return fmt.Sprint(string(data))
}
