package lbtls

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

// gwObject decodes a Gateway API object given as JSON (without apiVersion).
func gwObject[T any](t testing.TB, kind schema.GroupVersionKind, doc string) *T {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(doc), &obj); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(kind)
	o, err := GatewayObjectFrom(u)
	if err != nil {
		t.Fatal(err)
	}
	return any(o).(*T)
}

func gw(t testing.TB, doc string) *Gateway { return gwObject[Gateway](t, GatewayKind.GVK, doc) }
func route(t testing.TB, kind schema.GroupVersionKind, doc string) *Route {
	return gwObject[Route](t, kind, doc)
}

const (
	// albGateway listens on HTTP:80 and HTTPS:443.
	albGateway = `{"metadata":{"namespace":"edge","name":"web"},"spec":{"gatewayClassName":"alb","listeners":[
		{"name":"http","port":80,"protocol":"HTTP","allowedRoutes":{"namespaces":{"from":"All"}}},
		{"name":"https","port":443,"protocol":"HTTPS","hostname":"shop.example.com","allowedRoutes":{"namespaces":{"from":"All"}}}]}}`
	forwardRoute = `{"metadata":{"namespace":"shop","name":"store"},"spec":{
		"parentRefs":[{"name":"web","namespace":"edge"}],"rules":[{"backendRefs":[{"name":"store","port":80}]}]}}`
	redirectRoute = `{"metadata":{"namespace":"shop","name":"redirect"},"spec":{
		"parentRefs":[{"name":"web","namespace":"edge","sectionName":"http"}],
		"rules":[{"filters":[{"type":"RequestRedirect","requestRedirect":{"scheme":"https","statusCode":301}}]}]}}`
)

func noLabels(string) (labels.Set, error) { return labels.Set{}, nil }

// TestGatewayBuild follows the LBC's model of a Gateway: which ports get
// an ELB listener, with which protocol, policy and certificates.
func TestGatewayBuild(t *testing.T) {
	strongConfig := &LoadBalancerConfiguration{}
	strongConfig.Spec.ListenerConfigurations = []ListenerConfiguration{{ProtocolPort: "HTTPS:443", SSLPolicy: ptrTo(strongPolicy)}}
	tests := []struct {
		name     string
		owner    Owner
		gateway  string
		routes   []*Route
		config   *LoadBalancerConfiguration
		want     map[int32]string // port: "PROTOCOL built|unbuilt [redirect] [policy] [default]"
		notBuilt string
	}{
		{name: "buildListeners: only ports with an attached route get a listener", owner: OwnerGatewayALB, gateway: albGateway,
			routes: []*Route{route(t, HTTPRouteKind.GVK, forwardRoute)},
			want:   map[int32]string{80: "HTTP built", 443: "HTTPS built ELBSecurityPolicy-2016-08 default"}},
		{name: "no route: nothing is built", owner: OwnerGatewayALB, gateway: albGateway,
			want: map[int32]string{80: "HTTP unbuilt", 443: "HTTPS unbuilt ELBSecurityPolicy-2016-08 default"}},
		{name: "sectionName: the route attaches to that listener only; a redirect to https", owner: OwnerGatewayALB, gateway: albGateway,
			routes: []*Route{route(t, HTTPRouteKind.GVK, redirectRoute)},
			want:   map[int32]string{80: "HTTP built redirect", 443: "HTTPS unbuilt ELBSecurityPolicy-2016-08 default"}},
		{name: "buildSSLPolicy: the configuration entry of HTTPS:443 names the policy", owner: OwnerGatewayALB, gateway: albGateway,
			routes: []*Route{route(t, HTTPRouteKind.GVK, forwardRoute)}, config: strongConfig,
			want: map[int32]string{80: "HTTP built", 443: "HTTPS built " + strongPolicy}},
		{name: "namespaceCheck: allowedRoutes Same (the default) refuses another namespace", owner: OwnerGatewayALB,
			gateway: `{"metadata":{"namespace":"edge","name":"web"},"spec":{"gatewayClassName":"alb","listeners":[{"name":"http","port":80,"protocol":"HTTP"}]}}`,
			routes:  []*Route{route(t, HTTPRouteKind.GVK, forwardRoute)},
			want:    map[int32]string{80: "HTTP unbuilt"}},
		{name: "hostnameCheck: a route whose hostnames miss the listener's does not attach", owner: OwnerGatewayALB, gateway: albGateway,
			routes: []*Route{route(t, HTTPRouteKind.GVK, `{"metadata":{"namespace":"shop","name":"other"},"spec":{
				"parentRefs":[{"name":"web","namespace":"edge","sectionName":"https"}],"hostnames":["blog.example.org"],
				"rules":[{"backendRefs":[{"name":"blog","port":80}]}]}}`)},
			want: map[int32]string{80: "HTTP unbuilt", 443: "HTTPS unbuilt ELBSecurityPolicy-2016-08 default"}},
		{name: "DefaultProtocolToRouteKindMap: an HTTP listener takes no GRPCRoute", owner: OwnerGatewayALB, gateway: albGateway,
			routes: []*Route{route(t, GRPCRouteKind.GVK, `{"metadata":{"namespace":"shop","name":"grpc"},"spec":{
				"parentRefs":[{"name":"web","namespace":"edge","sectionName":"http"}],"rules":[{"backendRefs":[{"name":"g","port":9000}]}]}}`)},
			want: map[int32]string{80: "HTTP unbuilt", 443: "HTTPS unbuilt ELBSecurityPolicy-2016-08 default"}},
		{name: "mapGatewayListenerConfigsByPort: TLS Passthrough is TCP on the NLB", owner: OwnerGatewayNLB,
			gateway: `{"metadata":{"namespace":"edge","name":"nlb"},"spec":{"gatewayClassName":"nlb","listeners":[
				{"name":"pass","port":443,"protocol":"TLS","tls":{"mode":"Passthrough"}}]}}`,
			routes: []*Route{route(t, TLSRouteKind.GVK, `{"metadata":{"namespace":"edge","name":"pass"},"spec":{
				"parentRefs":[{"name":"nlb"}],"rules":[{"backendRefs":[{"name":"app","port":443}]}]}}`)},
			want: map[int32]string{443: "TCP built"}},
		{name: "mergeProtocols: TCP and UDP on one port make TCP_UDP", owner: OwnerGatewayNLB,
			gateway: `{"metadata":{"namespace":"edge","name":"dns"},"spec":{"gatewayClassName":"nlb","listeners":[
				{"name":"tcp","port":53,"protocol":"TCP"},{"name":"udp","port":53,"protocol":"UDP"}]}}`,
			routes: []*Route{route(t, UDPRouteKind.GVK, `{"metadata":{"namespace":"edge","name":"dns"},"spec":{
				"parentRefs":[{"name":"dns","sectionName":"udp"}],"rules":[{"backendRefs":[{"name":"dns","port":53}]}]}}`)},
			want: map[int32]string{53: "TCP_UDP built"}},
		{name: "buildL4TargetGroupTuples: no weighted backend, no listener", owner: OwnerGatewayNLB,
			gateway: `{"metadata":{"namespace":"edge","name":"db"},"spec":{"gatewayClassName":"nlb","listeners":[{"name":"pg","port":5432,"protocol":"TCP"}]}}`,
			routes: []*Route{route(t, TCPRouteKind.GVK, `{"metadata":{"namespace":"edge","name":"pg"},"spec":{
				"parentRefs":[{"name":"db"}],"rules":[{"backendRefs":[{"name":"pg","port":5432,"weight":0}]}]}}`)},
			want: map[int32]string{5432: "TCP unbuilt"}},
		{name: "validateListenerList: HTTP on the NLB controller is unsupported", owner: OwnerGatewayNLB, gateway: albGateway,
			routes: []*Route{route(t, HTTPRouteKind.GVK, forwardRoute)}, want: map[int32]string{}},
		{name: "mergeProtocols: Passthrough and Terminate TLS on one port fail the build", owner: OwnerGatewayNLB,
			gateway: `{"metadata":{"namespace":"edge","name":"nlb"},"spec":{"gatewayClassName":"nlb","listeners":[
				{"name":"pass","port":443,"protocol":"TLS","hostname":"a.example.com","tls":{"mode":"Passthrough"}},
				{"name":"term","port":443,"protocol":"TLS","hostname":"b.example.com","tls":{"mode":"Terminate"}}]}}`,
			routes: []*Route{route(t, TLSRouteKind.GVK, `{"metadata":{"namespace":"edge","name":"pass"},"spec":{
				"parentRefs":[{"name":"nlb","sectionName":"pass"}],"rules":[{"backendRefs":[{"name":"app","port":443}]}]}}`)},
			want:     map[int32]string{443: "TCP built"},
			notBuilt: "port 443 has listeners of protocols TCP and TLS: the LBC fails to build the Gateway (mergeProtocols)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := GatewayModel{Gateway: gw(t, tt.gateway), Owner: tt.owner, Config: tt.config, Routes: tt.routes, NamespaceLabels: noLabels}
			b, err := m.Build(defaultSettings())
			if err != nil {
				t.Fatal(err)
			}
			got := map[int32]string{}
			for _, p := range b.Ports {
				s := p.Protocol + " unbuilt"
				if p.Built {
					s = p.Protocol + " built"
				}
				if p.Redirect {
					s += " redirect"
				}
				if p.TLS {
					s += " " + p.SSLPolicy
					if p.DefaultSSLPolicy {
						s += " default"
					}
				}
				got[p.Port] = s
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ports %v, want %v", got, tt.want)
			}
			if b.NotBuilt != tt.notBuilt {
				t.Errorf("not built %q, want %q", b.NotBuilt, tt.notBuilt)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestMergeConfigs follows lb_config_merger.go Merge: the class's
// configuration has priority unless its mergingMode is prefer-gateway;
// entries are taken whole per protocolPort.
func TestMergeConfigs(t *testing.T) {
	class := &LoadBalancerConfiguration{}
	class.Spec.Scheme = ptrTo("internal")
	class.Spec.ListenerConfigurations = []ListenerConfiguration{{ProtocolPort: "HTTPS:443", DefaultCertificate: ptrTo(certARN)}}
	gateway := &LoadBalancerConfiguration{}
	gateway.Spec.Scheme = ptrTo("internet-facing")
	gateway.Spec.ListenerConfigurations = []ListenerConfiguration{
		{ProtocolPort: "HTTPS:443", SSLPolicy: ptrTo(strongPolicy)}, {ProtocolPort: "HTTPS:8443", SSLPolicy: ptrTo(strongPolicy)}}
	merged := MergeConfigs(class, gateway)
	if *merged.Spec.Scheme != "internal" {
		t.Errorf("scheme %s, want the class's", *merged.Spec.Scheme)
	}
	want := []ListenerConfiguration{class.Spec.ListenerConfigurations[0], gateway.Spec.ListenerConfigurations[1]}
	if !reflect.DeepEqual(merged.Spec.ListenerConfigurations, want) {
		t.Errorf("entries %+v, want the class's HTTPS:443 whole (no policy) and the Gateway's HTTPS:8443", merged.Spec.ListenerConfigurations)
	}
	class.Spec.MergingMode = ptrTo("prefer-gateway")
	merged = MergeConfigs(class, gateway)
	if *merged.Spec.Scheme != "internet-facing" || *merged.Spec.ListenerConfigurations[0].SSLPolicy != strongPolicy {
		t.Errorf("prefer-gateway: %+v", merged.Spec)
	}
	if MergeConfigs(nil, gateway) != gateway || MergeConfigs(class, nil) != class {
		t.Error("one side alone is used as is")
	}
}

// staticGatewayAPI is a cluster's Gateway API objects.
type staticGatewayAPI struct {
	classes      map[string]*GatewayClass
	gateways     map[string]*Gateway
	listenerSets []*ListenerSet
	routes       []*Route
	configs      map[string]*LoadBalancerConfiguration
}

func (s staticGatewayAPI) GatewayClass(_ context.Context, name string) (*GatewayClass, error) {
	return s.classes[name], nil
}
func (s staticGatewayAPI) Gateway(_ context.Context, key string) (*Gateway, error) {
	return s.gateways[key], nil
}
func (s staticGatewayAPI) ListenerSet(_ context.Context, key string) (*ListenerSet, error) {
	for _, ls := range s.listenerSets {
		if ls.Namespace+"/"+ls.Name == key {
			return ls, nil
		}
	}
	return nil, nil
}
func (s staticGatewayAPI) ListenerSetsOf(_ context.Context, gatewayKey string) ([]*ListenerSet, error) {
	var out []*ListenerSet
	for _, ls := range s.listenerSets {
		if ls.GatewayKey() == gatewayKey {
			out = append(out, ls)
		}
	}
	return out, nil
}
func (s staticGatewayAPI) RoutesOf(_ context.Context, parent string) ([]*Route, error) {
	var out []*Route
	for _, r := range s.routes {
		for _, p := range r.ParentKeys() {
			if p == parent {
				out = append(out, r)
			}
		}
	}
	return out, nil
}
func (s staticGatewayAPI) Gateways(context.Context) ([]*Gateway, error) {
	var out []*Gateway
	for _, g := range s.gateways {
		out = append(out, g)
	}
	return out, nil
}
func (s staticGatewayAPI) LoadBalancerConfiguration(_ context.Context, key string) (*LoadBalancerConfiguration, error) {
	return s.configs[key], nil
}

// TestGatewayHandlers: a Gateway, and the routes that attach to it, are
// answered from what the LBC builds.
func TestGatewayHandlers(t *testing.T) {
	albClass := &GatewayClass{}
	albClass.Name, albClass.Spec.ControllerName = "alb", GatewayControllerALB
	istio := &GatewayClass{}
	istio.Name, istio.Spec.ControllerName = "istio", "istio.io/gateway-controller"
	stored := route(t, HTTPRouteKind.GVK, forwardRoute)
	stored.CreationTimestamp = metav1.NewTime(time.Unix(1000, 0))
	api := staticGatewayAPI{
		classes:  map[string]*GatewayClass{"alb": albClass, "istio": istio},
		gateways: map[string]*Gateway{"edge/web": gw(t, albGateway)},
		routes:   []*Route{stored},
	}
	decider := ruletest.Decider(ruletest.CompilePolicy(t, nil))
	send := func(h admission.Handler, kind schema.GroupVersionKind, doc string) verdict {
		t.Helper()
		var obj map[string]any
		if err := json.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		obj["apiVersion"], obj["kind"] = kind.GroupVersion().String(), kind.Kind
		raw, _ := json.Marshal(obj)
		meta := obj["metadata"].(map[string]any)
		resp := h.Handle(context.Background(), ruletest.Req{GVK: kind, Op: admissionv1.Create,
			Namespace: meta["namespace"].(string), Name: meta["name"].(string), Object: string(raw)}.Request())
		if resp.Allowed {
			return verdict{warnings: admission.Warnings(resp.Warnings)}
		}
		return verdict{denial: resp.Result.Message, warnings: admission.Warnings(resp.Warnings)}
	}
	gateways, routes := NewGatewayHandler(decider, api), NewGatewayRouteHandler(decider, api)
	const policyDetail = "HTTPS:443: default policy ELBSecurityPolicy-2016-08 is not allowed: set sslPolicy, e.g. " + strongPolicy +
		", in a LoadBalancerConfiguration listenerConfigurations entry for it"
	tests := []struct {
		name    string
		handler admission.Handler
		kind    schema.GroupVersionKind
		doc     string
		want    verdict
	}{
		{"a Gateway whose HTTP listener a route forwards on", gateways, GatewayKind.GVK, albGateway,
			verdict{denial: "eksguard denied this Gateway: [loadBalancerTLS] spec.listeners[0]: HTTP:80 is plaintext: HTTPRoute shop/store rule 1 forwards; " +
				"make every rule redirect to https (RequestRedirect scheme: https), or serve them on HTTPS; [loadBalancerTLS] spec.listeners[1]: " + policyDetail}},
		{"a Gateway of another controller is not judged", gateways, GatewayKind.GVK,
			`{"metadata":{"namespace":"edge","name":"mesh"},"spec":{"gatewayClassName":"istio","listeners":[{"name":"http","port":80,"protocol":"HTTP"}]}}`,
			verdict{}},
		{"a Gateway without routes is warned about", gateways, GatewayKind.GVK,
			`{"metadata":{"namespace":"edge","name":"new"},"spec":{"gatewayClassName":"alb","listeners":[{"name":"http","port":80,"protocol":"HTTP"}]}}`,
			verdict{warnings: admission.Warnings{"eksguard [loadBalancerTLS] HTTP:80 has no route yet: plaintext unless its routes only redirect to https"}}},
		{"a route that forwards over plaintext HTTP", routes, HTTPRouteKind.GVK,
			`{"metadata":{"namespace":"shop","name":"new"},"spec":{"parentRefs":[{"name":"web","namespace":"edge","sectionName":"http"}],
				"rules":[{"filters":[{"type":"RequestRedirect","requestRedirect":{"scheme":"https"}}]},{"backendRefs":[{"name":"new","port":80}]}]}}`,
			verdict{denial: "eksguard denied this HTTPRoute: [loadBalancerTLS] spec.rules[1]: forwards over plaintext HTTP:80 of Gateway edge/web: " +
				"redirect to https (RequestRedirect scheme: https), or attach to an HTTPS listener"}},
		{"a route that redirects to https is admitted", routes, HTTPRouteKind.GVK, redirectRoute, verdict{}},
		{"a route on the HTTPS listener under the default policy", routes, HTTPRouteKind.GVK,
			`{"metadata":{"namespace":"shop","name":"secure"},"spec":{"parentRefs":[{"name":"web","namespace":"edge","sectionName":"https"}],
				"rules":[{"backendRefs":[{"name":"new","port":80}]}]}}`,
			verdict{denial: "eksguard denied this HTTPRoute: [loadBalancerTLS] spec.parentRefs[0]: HTTPS:443 of Gateway edge/web: " +
				"default policy ELBSecurityPolicy-2016-08 is not allowed: set sslPolicy, e.g. " + strongPolicy +
				", in a LoadBalancerConfiguration listenerConfigurations entry for it"}},
		{"a route to no Gateway of the LBC is admitted", routes, HTTPRouteKind.GVK,
			`{"metadata":{"namespace":"shop","name":"lost"},"spec":{"parentRefs":[{"name":"absent"}],"rules":[{"backendRefs":[{"name":"x","port":80}]}]}}`,
			verdict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := send(tt.handler, tt.kind, tt.doc); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestGatewayDefaultPolicySetting: the controller default is the eksguard
// controllerDefaultSSLPolicy setting (the LBC's --default-ssl-policy, which
// buildSSLPolicy falls back to), as for Ingresses.
func TestGatewayDefaultPolicySetting(t *testing.T) {
	m := GatewayModel{Gateway: gw(t, albGateway), Owner: OwnerGatewayALB, Routes: []*Route{route(t, HTTPRouteKind.GVK, forwardRoute)}, NamespaceLabels: noLabels}
	settings := defaultSettings()
	settings.ControllerDefaultSSLPolicy = strongPolicy
	b, err := m.Build(settings)
	if err != nil {
		t.Fatal(err)
	}
	v := CheckGateway("edge/web", OwnerGatewayALB, b, GatewaySubject{Kind: "Gateway", Key: "edge/web"}, settings)
	ruletest.AssertDetails(t, "CheckGateway", v.Errs, []string{"spec.listeners[0]: HTTP:80 is plaintext: HTTPRoute shop/store rule 1 forwards; " +
		"make every rule redirect to https (RequestRedirect scheme: https), or serve them on HTTPS"})
}

// TestGatewayConfigChange: a LoadBalancerConfiguration update that drops
// the policy of a running Gateway's HTTPS listener is warned about, naming
// it; one that keeps it, and a GatewayClass update of another class, are not.
func TestGatewayConfigChange(t *testing.T) {
	albClass := &GatewayClass{}
	albClass.Name, albClass.Spec.ControllerName = "alb", GatewayControllerALB
	web := gw(t, `{"metadata":{"namespace":"edge","name":"web"},"spec":{"gatewayClassName":"alb",
		"infrastructure":{"parametersRef":{"group":"gateway.k8s.aws","kind":"LoadBalancerConfiguration","name":"tls"}},
		"listeners":[{"name":"https","port":443,"protocol":"HTTPS","allowedRoutes":{"namespaces":{"from":"All"}}}]}}`)
	strong := gwObject[LoadBalancerConfiguration](t, LoadBalancerConfigurationKinds[0].GVK, `{"metadata":{"namespace":"edge","name":"tls"},
		"spec":{"listenerConfigurations":[{"protocolPort":"HTTPS:443","sslPolicy":"`+strongPolicy+`","defaultCertificate":"`+certARN+`"}]}}`)
	api := staticGatewayAPI{
		classes:  map[string]*GatewayClass{"alb": albClass},
		gateways: map[string]*Gateway{"edge/web": web},
		routes:   []*Route{route(t, HTTPRouteKind.GVK, forwardRoute)},
		configs:  map[string]*LoadBalancerConfiguration{"edge/tls": strong},
	}
	h := NewGatewayConfigChangeHandler(ruletest.Decider(ruletest.CompilePolicy(t, nil)), api)
	update := func(kind schema.GroupVersionKind, old, doc string) verdict {
		t.Helper()
		wrap := func(d string) string {
			var obj map[string]any
			if err := json.Unmarshal([]byte(d), &obj); err != nil {
				t.Fatal(err)
			}
			obj["apiVersion"], obj["kind"] = kind.GroupVersion().String(), kind.Kind
			raw, _ := json.Marshal(obj)
			return string(raw)
		}
		resp := h.Handle(context.Background(), ruletest.Req{GVK: kind, Op: admissionv1.Update, Namespace: "edge", Name: "tls",
			Object: wrap(doc), OldObject: wrap(old)}.Request())
		if !resp.Allowed {
			t.Fatalf("a configuration change was denied: %s", resp.Result.Message)
		}
		return verdict{warnings: admission.Warnings(resp.Warnings)}
	}
	const strongDoc = `{"metadata":{"namespace":"edge","name":"tls"},"spec":{"listenerConfigurations":[{"protocolPort":"HTTPS:443","sslPolicy":"` +
		strongPolicy + `","defaultCertificate":"` + certARN + `"}]}}`
	weakDoc := `{"metadata":{"namespace":"edge","name":"tls"},"spec":{"listenerConfigurations":[{"protocolPort":"HTTPS:443","defaultCertificate":"` + certARN + `"}]}}`
	got := update(LoadBalancerConfigurationKinds[0].GVK, strongDoc, weakDoc)
	want := verdict{warnings: admission.Warnings{"eksguard [loadBalancerTLS] leaves 1 Gateway(s) plaintext or weak: edge/web (HTTPS:443: default policy ELBSecurityPoli..."}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("dropping the policy:\n got %+v\nwant %+v", got, want)
	}
	if got := update(LoadBalancerConfigurationKinds[0].GVK, strongDoc, strongDoc); !reflect.DeepEqual(got, verdict{}) {
		t.Errorf("an unchanged configuration: %+v", got)
	}
	other := `{"metadata":{"name":"other"},"spec":{"controllerName":"example.com/gw"}}`
	if got := update(GatewayClassKind.GVK, other, other); !reflect.DeepEqual(got, verdict{}) {
		t.Errorf("another class: %+v", got)
	}
}

// TestListenerSets follows listenerSetGatewayHandshake and resolveParentRef:
// a ListenerSet's listeners join a Gateway whose allowedListeners admits
// its namespace (None by default), and routes attach to them through a
// parentRef of kind ListenerSet.
func TestListenerSets(t *testing.T) {
	albClass := &GatewayClass{}
	albClass.Name, albClass.Spec.ControllerName = "alb", GatewayControllerALB
	open := gw(t, `{"metadata":{"namespace":"edge","name":"open"},"spec":{"gatewayClassName":"alb",
		"allowedListeners":{"namespaces":{"from":"Same"}},"listeners":[{"name":"https","port":443,"protocol":"HTTPS"}]}}`)
	closed := gw(t, `{"metadata":{"namespace":"edge","name":"closed"},"spec":{"gatewayClassName":"alb",
		"listeners":[{"name":"https","port":443,"protocol":"HTTPS"}]}}`)
	const lsDoc = `{"metadata":{"namespace":"edge","name":"%s"},"spec":{"parentRef":{"name":"%s"},
		"listeners":[{"name":"plain","port":8080,"protocol":"HTTP"}]}}`
	routeDoc := `{"metadata":{"namespace":"edge","name":"team"},"spec":{"parentRefs":[{"kind":"ListenerSet","name":"%s"}],
		"rules":[{"backendRefs":[{"name":"team","port":80}]}]}}`
	api := staticGatewayAPI{
		classes:  map[string]*GatewayClass{"alb": albClass},
		gateways: map[string]*Gateway{"edge/open": open, "edge/closed": closed},
		routes: []*Route{route(t, HTTPRouteKind.GVK, fmt.Sprintf(routeDoc, "team-open")),
			route(t, HTTPRouteKind.GVK, `{"metadata":{"namespace":"edge","name":"team2"},"spec":{"parentRefs":[{"kind":"ListenerSet","name":"team-closed"}],
				"rules":[{"backendRefs":[{"name":"team","port":80}]}]}}`)},
	}
	h := NewListenerSetHandler(ruletest.Decider(ruletest.CompilePolicy(t, nil)), api)
	send := func(doc string) verdict {
		t.Helper()
		var obj map[string]any
		if err := json.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		obj["apiVersion"], obj["kind"] = ListenerSetKind.GVK.GroupVersion().String(), ListenerSetKind.GVK.Kind
		raw, _ := json.Marshal(obj)
		resp := h.Handle(context.Background(), ruletest.Req{GVK: ListenerSetKind.GVK, Op: admissionv1.Create, Namespace: "edge",
			Name: obj["metadata"].(map[string]any)["name"].(string), Object: string(raw)}.Request())
		if resp.Allowed {
			return verdict{warnings: admission.Warnings(resp.Warnings)}
		}
		return verdict{denial: resp.Result.Message}
	}
	want := verdict{denial: "eksguard denied this ListenerSet: [loadBalancerTLS] spec.listeners[0]: HTTP:8080 is plaintext: " +
		"HTTPRoute edge/team rule 1 forwards; make every rule redirect to https (RequestRedirect scheme: https), or serve them on HTTPS"}
	if got := send(fmt.Sprintf(lsDoc, "team-open", "open")); !reflect.DeepEqual(got, want) {
		t.Errorf("a ListenerSet the Gateway accepts:\n got %+v\nwant %+v", got, want)
	}
	if got := send(fmt.Sprintf(lsDoc, "team-closed", "closed")); !reflect.DeepEqual(got, verdict{}) {
		t.Errorf("a ListenerSet the Gateway does not accept (allowedListeners None): %+v", got)
	}
}

// BenchmarkGatewayHandler measures a Gateway admission on an ALB Gateway
// with a configuration and four attached routes, as make bench drives it.
func BenchmarkGatewayHandler(b *testing.B) {
	t := b
	albClass := &GatewayClass{}
	albClass.Name, albClass.Spec.ControllerName = "alb", GatewayControllerALB
	strong := &LoadBalancerConfiguration{}
	strong.Spec.ListenerConfigurations = []ListenerConfiguration{{ProtocolPort: "HTTPS:443", SSLPolicy: ptrTo(strongPolicy), DefaultCertificate: ptrTo(certARN)}}
	doc := `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"namespace":"edge","name":"web"},"spec":{"gatewayClassName":"alb",
		"infrastructure":{"parametersRef":{"group":"gateway.k8s.aws","kind":"LoadBalancerConfiguration","name":"tls"}},
		"listeners":[{"name":"http","port":80,"protocol":"HTTP"},{"name":"https","port":443,"protocol":"HTTPS","hostname":"shop.example.com"}]}}`
	routes := []*Route{route(t, HTTPRouteKind.GVK, `{"metadata":{"namespace":"edge","name":"redirect"},"spec":{"parentRefs":[{"name":"web","sectionName":"http"}],
		"rules":[{"filters":[{"type":"RequestRedirect","requestRedirect":{"scheme":"https"}}]}]}}`)}
	for _, name := range []string{"storefront", "api", "admin"} {
		routes = append(routes, route(t, HTTPRouteKind.GVK, `{"metadata":{"namespace":"edge","name":"`+name+`"},"spec":{
			"parentRefs":[{"name":"web","sectionName":"https"}],"hostnames":["shop.example.com"],"rules":[{"backendRefs":[{"name":"`+name+`","port":80}]}]}}`))
	}
	api := staticGatewayAPI{classes: map[string]*GatewayClass{"alb": albClass}, gateways: map[string]*Gateway{},
		routes: routes, configs: map[string]*LoadBalancerConfiguration{"edge/tls": strong}}
	h := NewGatewayHandler(ruletest.Decider(ruletest.CompilePolicy(b, nil)), api)
	req := ruletest.Req{GVK: GatewayKind.GVK, Op: admissionv1.Create, Namespace: "edge", Name: "web", Object: doc}.Request()
	ctx := context.Background()
	for b.Loop() {
		if resp := h.Handle(ctx, req); !resp.Allowed || len(resp.Warnings) != 0 {
			b.Fatalf("want admitted without warnings: %+v", resp)
		}
	}
}
