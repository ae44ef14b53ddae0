package server

// The AdmissionReview transport of eksguard's webhooks. controller-runtime's
// admission.Webhook.ServeHTTP decodes a request twice (its universal
// deserializer reads the kind with encoding/json, then the review with
// sigs.k8s.io/json, each validating the whole body first); this validates
// an admission.k8s.io/v1 review once and decodes it once, case-sensitively,
// and hands it to the same Webhook.Handle, which answers through
// controller-runtime's response helpers. Anything else (another
// review version, a body it cannot read) goes to Webhook.ServeHTTP itself,
// so unusual requests get exactly controller-runtime's answers.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// maxReviewSize is controller-runtime's own request limit.
const maxReviewSize = 7 * 1024 * 1024

var reviewAPI = jsoniter.Config{CaseSensitive: true}.Froze()

// reviewHandler serves hook with the single-pass decode.
type reviewHandler struct{ hook *admission.Webhook }

func (h reviewHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.Header.Get("Content-Type") != "application/json" {
		h.hook.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReviewSize+1))
	r.Body.Close()
	var review admissionv1.AdmissionReview
	// json-iterator takes some invalid JSON (control characters in
	// strings) and keeps invalid UTF-8 as is: such bodies go the slow way.
	if err != nil || len(body) > maxReviewSize || !utf8.Valid(body) || !json.Valid(body) || reviewAPI.Unmarshal(body, &review) != nil ||
		review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview" || review.Request == nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		}
		h.hook.ServeHTTP(w, r)
		return
	}
	resp := h.hook.Handle(r.Context(), admission.Request{AdmissionRequest: *review.Request})
	out := admissionv1.AdmissionReview{Response: &resp.AdmissionResponse}
	out.SetGroupVersionKind(admissionv1.SchemeGroupVersion.WithKind("AdmissionReview"))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// errReader replays a body read error to controller-runtime.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
