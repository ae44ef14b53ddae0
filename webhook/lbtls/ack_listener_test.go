package lbtls

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

// ackListener decodes an ACK Listener spec given as JSON, as the handler does.
func ackListener(t *testing.T, spec string) *ACKListener {
	t.Helper()
	l, err := DecodeACKListener(ACKListenerGVK, []byte(`{"metadata":{"namespace":"edge","name":"l"},"spec":`+spec+`}`))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestCheckACKListener: an ACK Listener is the ELBv2 listener its spec
// names (the controller passes protocol, sslPolicy and defaultActions to
// CreateListener as they are), judged like the other owners' listeners.
func TestCheckACKListener(t *testing.T) {
	const ref = `"loadBalancerRef":{"from":{"name":"edge-alb"}}`
	tests := []struct {
		name        string
		spec        string
		lb          *ACKLoadBalancer
		rules       []string
		settings    func(*config.LoadBalancerTLSSettings)
		wantErrs    []string
		wantSkipped bool
	}{
		{name: "CreateListener: protocol HTTP forwarding is plaintext",
			spec:     `{"protocol":"HTTP","port":80,` + ref + `,"defaultActions":[{"type":"forward","targetGroupRef":{"from":{"name":"web"}}}]}`,
			wantErrs: []string{"spec.protocol: HTTP:80 is plaintext: make it HTTPS with a certificate, or make its default action a redirect to HTTPS"}},
		{name: "RedirectConfig protocol HTTPS (the controller's e2e listener): not plaintext",
			spec: `{"protocol":"HTTP","port":80,` + ref + `,"defaultActions":[{"type":"redirect","redirectConfig":{"protocol":"HTTPS","port":"443","statusCode":"HTTP_301"}}]}`},
		{name: "RedirectConfig protocol #{protocol} keeps HTTP",
			spec:     `{"protocol":"HTTP","port":80,` + ref + `,"defaultActions":[{"type":"redirect","redirectConfig":{"protocol":"#{protocol}","path":"/new"}}]}`,
			wantErrs: []string{"spec.protocol: HTTP:80 is plaintext: make it HTTPS with a certificate, or make its default action a redirect to HTTPS"}},
		{name: "a fixed response on HTTP serves none of the targets",
			spec: `{"protocol":"HTTP","port":8080,` + ref + `,"defaultActions":[{"type":"fixed-response","fixedResponseConfig":{"statusCode":"404"}}]}`},
		{name: "authenticate-oidc then forward forwards",
			spec:     `{"protocol":"HTTP","port":80,` + ref + `,"defaultActions":[{"type":"authenticate-oidc","order":1},{"type":"forward","order":2}]}`,
			wantErrs: []string{"spec.protocol: HTTP:80 is plaintext: make it HTTPS with a certificate, or make its default action a redirect to HTTPS"}},
		{name: "a redirecting listener with a Rule that forwards is plaintext",
			spec:  `{"protocol":"HTTP","port":80,` + ref + `,"defaultActions":[{"type":"redirect","redirectConfig":{"protocol":"HTTPS"}}]}`,
			rules: []string{`{"metadata":{"namespace":"edge","name":"api"},"spec":{"listenerRef":{"from":{"name":"l"}},"actions":[{"type":"forward"}]}}`},
			wantErrs: []string{"spec.protocol: HTTP:80 is plaintext: Rule edge/api forwards; make it HTTPS with a certificate, " +
				"or make its rules redirect to HTTPS"}},
		{name: "HTTPS without sslPolicy gets the ELBv2 API default (describe-ssl-policies.html)",
			spec:     `{"protocol":"HTTPS","port":443,` + ref + `,"certificates":[{"certificateARN":"` + certARN + `"}],"defaultActions":[{"type":"forward"}]}`,
			wantErrs: []string{"spec.sslPolicy: HTTPS:443: default policy ELBSecurityPolicy-2016-08 is not allowed: set one, e.g. " + strongPolicy}},
		{name: "HTTPS with an allowed policy",
			spec: `{"protocol":"HTTPS","port":443,"sslPolicy":"` + strongPolicy + `",` + ref + `,"certificates":[{"certificateARN":"` + certARN + `"}],"defaultActions":[{"type":"forward"}]}`},
		{name: "TLS (an NLB's) with a weak policy, judged by the NLB allow-list",
			spec:     `{"protocol":"TLS","port":443,"sslPolicy":"ELBSecurityPolicy-TLS-1-1-2017-01","loadBalancerARN":"arn:aws:elasticloadbalancing:region:account:loadbalancer/net/x/y","defaultActions":[{"type":"forward"}]}`,
			wantErrs: []string{`spec.sslPolicy: TLS:443: policy "ELBSecurityPolicy-TLS-1-1-2017-01" is not allowed: use e.g. ` + strongPolicy}},
		{name: "TCP is plaintext",
			spec:     `{"protocol":"TCP","port":5432,` + ref + `,"defaultActions":[{"type":"forward"}]}`,
			wantErrs: []string{"spec.protocol: TCP:5432 is plaintext: make it TLS with a certificate"}},
		{name: "UDP cannot be TLS",
			spec:     `{"protocol":"udp","port":53,` + ref + `,"defaultActions":[{"type":"forward"}]}`,
			wantErrs: []string{"spec.protocol: UDP:53 is plaintext: an NLB cannot terminate TLS on UDP"}},
		{name: "QUIC carries TLS 1.3",
			spec: `{"protocol":"QUIC","port":443,` + ref + `,"defaultActions":[{"type":"forward"}]}`},
		{name: "GENEVE (a Gateway Load Balancer's) carries no client TLS",
			spec: `{"protocol":"GENEVE","port":6081,` + ref + `,"defaultActions":[{"type":"forward"}]}`},
		{name: "no protocol: nothing AWS would create",
			spec: `{"port":80,` + ref + `,"defaultActions":[{"type":"forward"}]}`},
		{name: "skipInternal skips a LoadBalancer of scheme internal",
			spec:        `{"protocol":"HTTP","port":80,` + ref + `,"defaultActions":[{"type":"forward"}]}`,
			lb:          &ACKLoadBalancer{Scheme: "internal"},
			settings:    func(s *config.LoadBalancerTLSSettings) { s.SkipInternal = true },
			wantSkipped: true},
		{name: "skipInternal: a LoadBalancer without scheme is internet-facing (the ELBv2 default)",
			spec:     `{"protocol":"HTTP","port":80,` + ref + `,"defaultActions":[{"type":"forward"}]}`,
			lb:       &ACKLoadBalancer{},
			settings: func(s *config.LoadBalancerTLSSettings) { s.SkipInternal = true },
			wantErrs: []string{"spec.protocol: HTTP:80 is plaintext: make it HTTPS with a certificate, or make its default action a redirect to HTTPS"}},
		{name: "skipInternal: a load balancer named by ARN is not skipped on a guess",
			spec:     `{"protocol":"HTTP","port":80,"loadBalancerARN":"arn:aws:elasticloadbalancing:region:account:loadbalancer/app/x/y","defaultActions":[{"type":"forward"}]}`,
			settings: func(s *config.LoadBalancerTLSSettings) { s.SkipInternal = true },
			wantErrs: []string{"spec.protocol: HTTP:80 is plaintext: make it HTTPS with a certificate, or make its default action a redirect to HTTPS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := defaultSettings()
			if tt.settings != nil {
				tt.settings(&settings)
			}
			var rules []*ACKRule
			for _, doc := range tt.rules {
				r, err := DecodeACKRule(ACKRuleGVK, []byte(doc))
				if err != nil {
					t.Fatal(err)
				}
				rules = append(rules, r)
			}
			result := CheckACKListener(ackListener(t, tt.spec), tt.lb, rules, settings)
			ruletest.AssertDetails(t, "CheckACKListener", result.Errs, tt.wantErrs)
			if result.SkippedInternal != tt.wantSkipped {
				t.Errorf("skipped internal = %v, want %v", result.SkippedInternal, tt.wantSkipped)
			}
		})
	}
}

// TestACKListenerLoadBalancerKey: a reference without a namespace is to the
// listener's own (ResolveReferencesForListener); an ARN names no object.
func TestACKListenerLoadBalancerKey(t *testing.T) {
	for spec, want := range map[string]string{
		`{"loadBalancerRef":{"from":{"name":"alb"}}}`:                       "edge/alb",
		`{"loadBalancerRef":{"from":{"name":"alb","namespace":"shared"}}}`:  "shared/alb",
		`{"loadBalancerARN":"arn:aws:elasticloadbalancing:r:a:lb/app/x/y"}`: "",
		`{}`: "",
	} {
		if got := ackListener(t, spec).LoadBalancerKey(); got != want {
			t.Errorf("%s: key %q, want %q", spec, got, want)
		}
	}
}

// staticACK are ACK objects by key.
type staticACK struct {
	lbs       map[string]*ACKLoadBalancer
	listeners map[string]*ACKListener
	rules     []*ACKRule
}

func (s staticACK) ACKLoadBalancer(_ context.Context, key string) (*ACKLoadBalancer, error) {
	return s.lbs[key], nil
}

func (s staticACK) ACKListener(_ context.Context, key string) (*ACKListener, error) {
	return s.listeners[key], nil
}

func (s staticACK) ACKRulesOf(_ context.Context, key string) ([]*ACKRule, error) {
	var out []*ACKRule
	for _, r := range s.rules {
		if r.ListenerKey() == key {
			out = append(out, r)
		}
	}
	return out, nil
}

// TestACKListenerHandler: the handler reads the referenced LoadBalancer's
// scheme and answers as the rule judges.
func TestACKListenerHandler(t *testing.T) {
	decider := ruletest.Decider(ruletest.CompilePolicy(t, func(c *config.Config) { c.Rules.LoadBalancerTLS.SkipInternal = true }))
	h := NewACKListenerHandler(decider, staticACK{lbs: map[string]*ACKLoadBalancer{"edge/internal-alb": {Scheme: "internal"}}})
	send := func(spec string) verdict {
		var obj map[string]any
		if err := json.Unmarshal([]byte(`{"apiVersion":"elbv2.services.k8s.aws/v1alpha1","kind":"Listener",
			"metadata":{"namespace":"edge","name":"l"},"spec":`+spec+`}`), &obj); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(obj)
		resp := h.Handle(context.Background(), ruletest.Req{GVK: ACKListenerGVK, Op: admissionv1.Create,
			Namespace: "edge", Name: "l", Object: string(raw)}.Request())
		if resp.Allowed {
			return verdict{warnings: admission.Warnings(resp.Warnings)}
		}
		return verdict{denial: resp.Result.Message}
	}
	const plain = `{"protocol":"HTTP","port":80,"loadBalancerRef":{"from":{"name":"%s"}},"defaultActions":[{"type":"forward"}]}`
	if got := send(fmt.Sprintf(plain, "internal-alb")); !reflect.DeepEqual(got, verdict{}) {
		t.Errorf("internal load balancer under skipInternal: %+v, want admitted", got)
	}
	want := verdict{denial: "eksguard denied this Listener: [loadBalancerTLS] spec.protocol: HTTP:80 is plaintext: " +
		"make it HTTPS with a certificate, or make its default action a redirect to HTTPS"}
	if got := send(fmt.Sprintf(plain, "public-alb")); !reflect.DeepEqual(got, want) {
		t.Errorf("unknown load balancer:\n got %+v\nwant %+v", got, want)
	}
}

// TestACKRuleHandler: a Rule that forwards on an HTTP Listener is denied
// (its Listener may redirect by default, but the Rule's match forwards in
// plaintext); one that redirects to HTTPS, one on an HTTPS Listener and one
// whose Listener is not known (named by ARN) are admitted.
func TestACKRuleHandler(t *testing.T) {
	decider := ruletest.Decider(ruletest.CompilePolicy(t, nil))
	objs := staticACK{listeners: map[string]*ACKListener{
		"edge/http":  ackListener(t, `{"protocol":"HTTP","port":80,"defaultActions":[{"type":"redirect","redirectConfig":{"protocol":"HTTPS"}}]}`),
		"edge/https": ackListener(t, `{"protocol":"HTTPS","port":443,"sslPolicy":"`+strongPolicy+`","defaultActions":[{"type":"forward"}]}`),
	}}
	objs.listeners["edge/http"].Name, objs.listeners["edge/https"].Name = "http", "https"
	h := NewACKRuleHandler(decider, objs)
	send := func(spec string) verdict {
		raw := `{"apiVersion":"elbv2.services.k8s.aws/v1alpha1","kind":"Rule","metadata":{"namespace":"edge","name":"r"},"spec":` + spec + `}`
		resp := h.Handle(context.Background(), ruletest.Req{GVK: ACKRuleGVK, Op: admissionv1.Create, Namespace: "edge", Name: "r", Object: raw}.Request())
		if resp.Allowed {
			return verdict{warnings: admission.Warnings(resp.Warnings)}
		}
		return verdict{denial: resp.Result.Message}
	}
	for _, tt := range []struct {
		name, spec string
		want       verdict
	}{
		{"forward on HTTP", `{"listenerRef":{"from":{"name":"http"}},"priority":1,"actions":[{"type":"forward"}]}`,
			verdict{denial: "eksguard denied this Rule: [loadBalancerTLS] spec.actions: forwards over plaintext HTTP:80 of Listener edge/http: " +
				"redirect to HTTPS, or attach the rule to an HTTPS listener"}},
		{"redirect to HTTPS on HTTP", `{"listenerRef":{"from":{"name":"http"}},"actions":[{"type":"redirect","redirectConfig":{"protocol":"HTTPS"}}]}`, verdict{}},
		{"forward on HTTPS", `{"listenerRef":{"from":{"name":"https"}},"actions":[{"type":"forward"}]}`, verdict{}},
		{"a Listener named by ARN", `{"listenerARN":"arn:aws:elasticloadbalancing:r:a:listener/app/x/y/z","actions":[{"type":"forward"}]}`, verdict{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := send(tt.spec); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
