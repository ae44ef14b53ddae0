package seccomp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

// The benchmarks below share one realistic request: a controller-created
// pod with an init container, three containers, env, probes and volumes,
// in enforce mode, so every step runs (decode, decide, patch, encode).

// BenchmarkServeHTTP is the whole webhook as the API server sees it: read
// the AdmissionReview, decode the pod, decide, patch, write the response.
func BenchmarkServeHTTP(b *testing.B) {
	review := reviewRequest{object: apiServerPod}.reviewJSON()
	hook := &webhook.Admission{Handler: withPolicy(b, nil)}
	if got := serve(b, withPolicy(b, nil), review); got.Patch != patchIntoSecurityCtx {
		b.Fatalf("unexpected response %+v", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/mutate", strings.NewReader(review))
		req.Header.Set("Content-Type", "application/json")
		hook.ServeHTTP(rec, req)
	}
}

// BenchmarkHandle is the handler alone: decode the pod, decide, patch.
func BenchmarkHandle(b *testing.B) {
	h := withPolicy(b, nil)
	req := ruletest.Req{GVK: podKind, Op: admissionv1.Create, Namespace: "shop", Object: apiServerPod}.Request()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp := h.Handle(ctx, req); len(resp.Patches) != 1 {
			b.Fatal("no patch")
		}
	}
}

// BenchmarkBaselineUnmarshalReview is the floor every webhook pays: one
// json.Unmarshal of the same AdmissionReview (the pod stays raw).
func BenchmarkBaselineUnmarshalReview(b *testing.B) {
	review := []byte(reviewRequest{object: apiServerPod}.reviewJSON())
	b.ReportAllocs()
	for b.Loop() {
		var r admissionv1.AdmissionReview
		if err := json.Unmarshal(review, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineUnmarshalReviewAndPod adds decoding the pod itself,
// which any handler that reads the spec must do.
func BenchmarkBaselineUnmarshalReviewAndPod(b *testing.B) {
	review := []byte(reviewRequest{object: apiServerPod}.reviewJSON())
	b.ReportAllocs()
	for b.Loop() {
		var r admissionv1.AdmissionReview
		if err := json.Unmarshal(review, &r); err != nil {
			b.Fatal(err)
		}
		var pod corev1.Pod
		if err := json.Unmarshal(r.Request.Object.Raw, &pod); err != nil {
			b.Fatal(err)
		}
	}
}
