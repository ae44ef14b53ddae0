package ruletest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/webhook/decision"
)

// OwnNamespace is the namespace the tests' eksguard runs in.
const OwnNamespace = "eksguard-system"

// CompilePolicy compiles the built-in defaults changed by edit (nil: none).
func CompilePolicy(t testing.TB, edit func(*config.Config)) *config.Policy {
	t.Helper()
	cfg := config.Defaults()
	if edit != nil {
		edit(&cfg)
	}
	pol, err := config.Compile(cfg, OwnNamespace)
	if err != nil {
		t.Fatalf("compiling the test policy: %v", err)
	}
	return pol
}

// Decider decides under the fixed policy p, with no
// namespace reader (no namespace has labels).
func Decider(p *config.Policy) decision.Decider {
	return decision.Decider{Policy: config.NewStore(p)}
}

// Req is an admission request as the API server sends it, for tests: the
// objects as JSON (empty: none).
type Req struct {
	GVK             schema.GroupVersionKind
	Op              admissionv1.Operation
	Namespace, Name string
	SubResource     string
	// UserName is the requesting user.
	UserName          string
	Object, OldObject string
}

// Request is r as controller-runtime hands it to a handler.
func (r Req) Request() admission.Request {
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:         "test-request",
		Kind:        metav1.GroupVersionKind(r.GVK),
		Namespace:   r.Namespace,
		Name:        r.Name,
		SubResource: r.SubResource,
		Operation:   r.Op,
		UserInfo:    authenticationv1.UserInfo{Username: r.UserName},
	}}
	if r.Object != "" {
		req.Object.Raw = []byte(r.Object)
	}
	if r.OldObject != "" {
		req.OldObject.Raw = []byte(r.OldObject)
	}
	return req
}

// Answer renders an admission answer for exact comparison.
type Answer struct {
	Allowed  bool
	Code     int32
	Message  string
	Warnings []string
}

// AnswerOf renders resp.
func AnswerOf(resp admission.Response) Answer {
	v := Answer{Allowed: resp.Allowed, Warnings: resp.Warnings}
	if resp.Result != nil {
		v.Code, v.Message = resp.Result.Code, resp.Result.Message
	}
	return v
}

func (v Answer) String() string {
	return fmt.Sprintf("allowed=%t code=%d message=%q warnings=[%s]", v.Allowed, v.Code, v.Message, strings.Join(v.Warnings, " | "))
}

// Allowed is a silent admission.
func Allowed() Answer { return Answer{Allowed: true, Code: 200} }

// Denied is a 403 with exactly message.
func Denied(message string) Answer { return Answer{Code: 403, Message: message} }

// Errored is an error answer (not a denial) with code and message.
func Errored(code int32, message string) Answer { return Answer{Code: code, Message: message} }

// Warned is an admission with exactly these warnings.
func Warned(warnings ...string) Answer { return Answer{Allowed: true, Code: 200, Warnings: warnings} }

// CheckAnswer compares resp with want and checks every warning fits a
// kubectl line.
func CheckAnswer(t testing.TB, resp admission.Response, want Answer) {
	t.Helper()
	if got := AnswerOf(resp); got.String() != want.String() {
		t.Errorf("verdict:\n got %s\nwant %s", got, want)
	}
	for _, w := range resp.Warnings {
		if len(w) > decision.MaxWarningLength {
			t.Errorf("warning longer than %d characters: %q", decision.MaxWarningLength, w)
		}
	}
}

// AssertErrs compares errors in their full form (field, type, value, detail).
func AssertErrs(t testing.TB, what string, got field.ErrorList, want []string) {
	t.Helper()
	var text []string
	for _, e := range got {
		text = append(text, e.Error())
	}
	if !reflect.DeepEqual(text, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, Lines(text), Lines(want))
	}
}

// AssertDetails compares errors as a denial lists them: "field: detail".
func AssertDetails(t testing.TB, what string, got field.ErrorList, want []string) {
	t.Helper()
	var text []string
	for _, e := range got {
		text = append(text, e.Field+": "+e.Detail)
	}
	if !reflect.DeepEqual(text, want) {
		t.Errorf("%s errors:\n got: %s\nwant: %s", what, Lines(text), Lines(want))
	}
}

// Lines prints one element per line, so that a failing comparison is readable.
func Lines[T any](items []T) string {
	var b strings.Builder
	for _, item := range items {
		fmt.Fprintf(&b, "\n\t%+v", item)
	}
	if b.Len() == 0 {
		return "(none)"
	}
	return b.String()
}
