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

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/internal/lib/decode"
	"github.com/eksguard/eksguard/internal/lib/jsonscan"
)

// maxReviewSize is controller-runtime's own request limit.
const maxReviewSize = 7 * 1024 * 1024

// reviewHandler serves hook with the single-pass decode.
type reviewHandler struct{ hook *admission.Webhook }

func (h reviewHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.Header.Get("Content-Type") != "application/json" {
		h.hook.ServeHTTP(w, r)
		return
	}
	body, err := readBody(r)
	r.Body.Close()
	var review *admissionv1.AdmissionReview
	if err == nil && len(body) <= maxReviewSize {
		review = decodeReview(body)
	}
	if review == nil || review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview" || review.Request == nil {
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

// readBody reads up to maxReviewSize+1 bytes of r's body into one buffer
// of the announced length (io.ReadAll would grow it from 512 bytes, a
// fifth of the bytes a small review allocates).
func readBody(r *http.Request) ([]byte, error) {
	size := int64(0)
	if r.ContentLength > 0 && r.ContentLength <= maxReviewSize {
		size = r.ContentLength
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(r.Body, maxReviewSize+1))
	return buf.Bytes(), err
}

// decodeReview decodes an AdmissionReview in one pass over its body, or
// returns nil for the slow way. jsonscan validates the body and finds the
// request's objects, which the review's decode does not see (they are
// replaced by null) and the request refers to in place, where a decoder
// would copy them, as controller-runtime's does, bytes unchanged. What
// decode.Unmarshal refuses in the rest (a name given twice, invalid UTF-8)
// takes the slow way, to be read as controller-runtime reads it.
func decodeReview(body []byte) *admissionv1.AdmissionReview {
	objects, ok := jsonscan.Fields(body, []string{"request"}, "object", "oldObject")
	if !ok {
		return nil
	}
	rest := make([]byte, 0, len(body)-len(objects[0])-len(objects[1])+2*len("null"))
	from := 0
	for _, o := range sortedByOffset(body, objects) {
		at := offset(body, o)
		rest = append(append(rest, body[from:at]...), "null"...)
		from = at + len(o)
	}
	rest = append(rest, body[from:]...)
	var review admissionv1.AdmissionReview
	if decode.Unmarshal(rest, &review) != nil {
		return nil
	}
	if review.Request != nil {
		review.Request.Object.Raw, review.Request.OldObject.Raw = rawObject(objects[0]), rawObject(objects[1])
	}
	return &review
}

// offset is where sub, a slice of body, starts in it.
func offset(body, sub []byte) int { return cap(body) - cap(sub) }

// sortedByOffset is the present objects in body order.
func sortedByOffset(body []byte, objects [][]byte) [][]byte {
	var present [][]byte
	for _, o := range objects {
		if o != nil {
			present = append(present, o)
		}
	}
	if len(present) == 2 && offset(body, present[0]) > offset(body, present[1]) {
		present[0], present[1] = present[1], present[0]
	}
	return present
}

// rawObject is a RawExtension's Raw for value, as its UnmarshalJSON sets it.
func rawObject(value []byte) []byte {
	if value == nil || string(value) == "null" {
		return nil
	}
	return value
}

// errReader replays a body read error to controller-runtime.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
