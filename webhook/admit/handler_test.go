package admit

import (
	"context"
	"errors"
	"reflect"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/lib/decode"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/resource"
)

// thing is a decode target with metadata.
type thing struct {
	Meta `json:"metadata"`
	Spec struct {
		Port int32 `json:"port"`
	} `json:"spec"`
}

// seen is what the test Judge saw.
type seen struct {
	calls           int
	namespace, name string
	old             *thing
	policy          *config.Policy
}

func testHandler(t *testing.T, modes func(config.RuleSettings) []config.Mode, judgeErr error, s *seen) *Handler[thing] {
	spec := &Spec{Rule: config.RuleLoadBalancerTLS, Kinds: []resource.Kind{resource.Service, resource.PodEphemeralContainers},
		Operations: resource.CreateUpdate, Modes: modes}
	return &Handler[thing]{
		Spec: spec,
		What: "the thing",
		Decode: func(_ schema.GroupVersionKind, raw []byte) (*thing, error) {
			return decode.Fields[thing](raw)
		},
		Unchanged: func(old, obj *thing) bool { return old.Spec.Port == obj.Spec.Port },
		Decider:   ruletest.Decider(ruletest.CompilePolicy(t, nil)),
		Judge: func(ctx context.Context, r *Review[thing]) decision.Answer {
			s.calls++
			s.namespace, s.name, s.old, s.policy = r.Object.Namespace, r.ObjectName, r.Old, r.Policy
			if judgeErr != nil {
				return r.Undecided(ctx, judgeErr)
			}
			return r.Respond(ctx, decision.Ruling{Rule: config.RuleLoadBalancerTLS, Decision: config.Decision{Mode: config.ModeEnforce},
				Errs: field.ErrorList{field.Invalid(field.NewPath("spec", "port"), r.Object.Spec.Port, "plaintext")}})
		},
	}
}

func enforcing(config.RuleSettings) []config.Mode { return []config.Mode{config.ModeEnforce} }

// TestHandler: the one handler shape, case by case, from the route's Spec.
func TestHandler(t *testing.T) {
	service := schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	for _, tt := range []struct {
		name        string
		req         ruletest.Req
		modes       func(config.RuleSettings) []config.Mode
		judgeErr    error
		want        ruletest.Answer
		wantCalls   int
		wantNS      string
		wantName    string
		wantOldPort int32
	}{
		{name: "a kind the spec does not list is a bad request naming the served ones",
			req:  ruletest.Req{GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Op: admissionv1.Create, Object: `{}`},
			want: ruletest.Errored(400, "unsupported kind apps/v1, Kind=Deployment: this webhook serves v1 services, v1 pods/ephemeralcontainers")},
		{name: "an operation the spec does not list passes unread",
			req:  ruletest.Req{GVK: service, Op: admissionv1.Delete, OldObject: `not json`},
			want: ruletest.Allowed()},
		{name: "a subresource the spec does not list passes unread",
			req:  ruletest.Req{GVK: pod, Op: admissionv1.Update, SubResource: "status", Object: `not json`},
			want: ruletest.Allowed()},
		{name: "the listed subresource is judged",
			req:  ruletest.Req{GVK: pod, Op: admissionv1.Update, SubResource: "ephemeralcontainers", Object: `{"spec":{"port":1}}`, OldObject: `{"spec":{"port":2}}`},
			want: ruletest.Denied("eksguard denied this Pod: [loadBalancerTLS] spec.port: plaintext"), wantCalls: 1, wantOldPort: 2},
		{name: "an empty object is a bad request",
			req:  ruletest.Req{GVK: service, Op: admissionv1.Create, Object: ` null `},
			want: ruletest.Errored(400, "decoding the Service: the request has no object")},
		{name: "an unreadable old object is a bad request",
			req:  ruletest.Req{GVK: service, Op: admissionv1.Update, Object: `{}`, OldObject: `{"spec":{"port":"80"}}`},
			want: ruletest.Errored(400, "decoding the old Service: json: cannot unmarshal string into Go struct field .spec.port of type int32")},
		{name: "an update that changes nothing the rule reads passes",
			req:  ruletest.Req{GVK: service, Op: admissionv1.Update, Object: `{"spec":{"port":80}}`, OldObject: `{"metadata":{"labels":{"a":"b"}},"spec":{"port":80}}`},
			want: ruletest.Allowed()},
		{name: "the request's namespace and the generateName fill in",
			req:       ruletest.Req{GVK: service, Op: admissionv1.Create, Namespace: "shop", Object: `{"metadata":{"generateName":"web-"},"spec":{"port":80}}`},
			want:      ruletest.Denied("eksguard denied this Service: [loadBalancerTLS] spec.port: plaintext"),
			wantCalls: 1, wantNS: "shop", wantName: "web-"},
		{name: "undecided fails closed when the spec's modes enforce",
			req:   ruletest.Req{GVK: service, Op: admissionv1.Create, Object: `{}`},
			modes: enforcing, judgeErr: errors.New("no labels"),
			want: ruletest.Errored(500, "eksguard could not decide on the thing: no labels"), wantCalls: 1},
		{name: "undecided warns when the spec has no modes (warn-only)",
			req:      ruletest.Req{GVK: service, Op: admissionv1.Create, Object: `{}`},
			judgeErr: errors.New("no labels"),
			want:     ruletest.Warned("eksguard [loadBalancerTLS] could not decide on the thing: no labels"), wantCalls: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s seen
			h := testHandler(t, tt.modes, tt.judgeErr, &s)
			ruletest.CheckAnswer(t, h.Handle(context.Background(), tt.req.Request()), tt.want)
			if s.calls != tt.wantCalls {
				t.Fatalf("Judge called %d times, want %d", s.calls, tt.wantCalls)
			}
			if s.calls == 0 {
				return
			}
			if s.namespace != tt.wantNS || s.name != tt.wantName || s.policy == nil {
				t.Errorf("Judge saw namespace %q name %q policy %v, want %q %q and the policy in force", s.namespace, s.name, s.policy, tt.wantNS, tt.wantName)
			}
			if (s.old != nil && s.old.Spec.Port != tt.wantOldPort) || (s.old == nil) != (tt.wantOldPort == 0) {
				t.Errorf("Judge saw old %+v, want port %d", s.old, tt.wantOldPort)
			}
		})
	}
}

// TestAnswerIsData: Answer gives the findings the response renders.
func TestAnswerIsData(t *testing.T) {
	h := testHandler(t, nil, nil, &seen{})
	a := h.Answer(context.Background(), ruletest.Req{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Service"}, Op: admissionv1.Create,
		Object: `{"spec":{"port":80}}`}.Request())
	want := decision.Finding{Rule: config.RuleLoadBalancerTLS, Outcome: decision.OutcomeDenied, Field: "spec.port", Detail: "plaintext"}
	if len(a.Findings) != 1 || !reflect.DeepEqual(a.Findings[0], want) || a.Kind != "Service" || a.Failure != nil {
		t.Errorf("findings %+v, want %+v", a.Findings, want)
	}
}
