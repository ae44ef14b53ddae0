package webhook

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/webhook/netpol"
)

// TestReadmePathTable: the README's table of webhook paths is the one the
// route table renders.
func TestReadmePathTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := PathTable(); !strings.Contains(string(readme), want) {
		t.Errorf("README.md lacks the path table of webhook.Routes; it should read:\n%s", want)
	}
}

// TestRoutes: names and paths are unique, and mutating routes come first
// (the offline engine relies on that order).
func TestRoutes(t *testing.T) {
	names, paths := map[string]bool{}, map[string]bool{}
	seenValidating := false
	for _, r := range Routes {
		if names[r.Name] || paths[r.Path] {
			t.Errorf("route %s %s repeats a name or path", r.Name, r.Path)
		}
		names[r.Name], paths[r.Path] = true, true
		if r.Mutating && seenValidating {
			t.Errorf("mutating route %s after a validating one", r.Name)
		}
		seenValidating = seenValidating || !r.Mutating
	}
}

// TestHandlersReadTheRouteSpec: each route's handler judges exactly the
// kinds and operations of the route's Spec: another kind is a bad request
// naming the served ones, another operation passes without being read, and
// a served operation reads the object (an unreadable one is a bad request).
func TestHandlersReadTheRouteSpec(t *testing.T) {
	pol := ruletest.CompilePolicy(t, nil)
	h := Handlers{Decider: ruletest.Decider(pol), Coverage: &netpol.Checker{Decider: ruletest.Decider(pol), Index: netpol.NewIndex()}}
	allOps := []admissionv1.Operation{admissionv1.Create, admissionv1.Update, admissionv1.Delete, admissionv1.Connect}
	for _, r := range Routes {
		handler := r.Handler(h)
		t.Run(r.Name, func(t *testing.T) {
			other := metav1.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Other"}
			resp := handler.Handle(context.Background(), request(other, "", admissionv1.Create))
			if want := "unsupported kind example.com/v1, Kind=Other: this webhook serves " + r.Serves(); resp.Allowed || resp.Result.Message != want {
				t.Errorf("another kind: allowed=%t %q, want %q", resp.Allowed, resp.Result.Message, want)
			}
			for _, k := range r.Kinds {
				gvk := metav1.GroupVersionKind(k.GVK)
				_, sub, _ := strings.Cut(k.Resource, "/")
				for _, op := range allOps {
					resp := handler.Handle(context.Background(), request(gvk, sub, op))
					judged := false
					for _, o := range r.Operations {
						judged = judged || string(o) == string(op)
					}
					switch {
					case judged && (resp.Allowed || resp.Result.Code != http.StatusBadRequest):
						t.Errorf("%s %s: allowed=%t code=%d, want the unreadable object refused", op, k.Resource, resp.Allowed, resp.Result.Code)
					case !judged && !resp.Allowed:
						t.Errorf("%s %s: refused (%s), want it admitted unread", op, k.Resource, resp.Result.Message)
					}
				}
			}
		})
	}
}

// request is an admission of an unreadable object of kind.
func request(kind metav1.GroupVersionKind, subresource string, op admissionv1.Operation) admission.Request {
	return ruletest.Req{GVK: schema.GroupVersionKind(kind), SubResource: subresource, Namespace: "shop", Name: "x", Op: op,
		Object: `{"metadata":7}`, OldObject: `{"metadata":7}`}.Request()
}

// TestFailurePolicy: a route fails closed only when one of the modes that
// can make it deny enforces, with no dry run; mutating and warn-only routes
// always fail open.
func TestFailurePolicy(t *testing.T) {
	const fail, ignore = admissionregistrationv1.Fail, admissionregistrationv1.Ignore
	all := func(p admissionregistrationv1.FailurePolicyType) map[*Route]admissionregistrationv1.FailurePolicyType {
		return map[*Route]admissionregistrationv1.FailurePolicyType{SeccompPods: ignore, SeccompFinalPods: p, NetworkPolicyPods: p, NetworkPolicyWorkloads: p,
			NetworkPolicyChanges: ignore, SeccompEphemeralContainers: p, LoadBalancerTLSServices: p, LoadBalancerTLSIngresses: p,
			LoadBalancerTLSACKListeners: p, LoadBalancerTLSACKRules: p, LoadBalancerTLSGateways: p, LoadBalancerTLSListenerSets: p, LoadBalancerTLSGatewayRoutes: p,
			LoadBalancerTLSGatewayConfigChanges: ignore}
	}
	for _, tt := range []struct {
		name string
		edit func(*config.Config)
		want map[*Route]admissionregistrationv1.FailurePolicyType
	}{
		{name: "every rule enforces", edit: func(c *config.Config) {
			c.Rules.Seccomp.Mode, c.Rules.Seccomp.Unconfined = config.ModeEnforce, config.ModeEnforce
			c.Rules.NetworkPolicy.Mode, c.Rules.LoadBalancerTLS.Mode = config.ModeEnforce, config.ModeEnforce
		}, want: all(fail)},
		{name: "dry run", edit: func(c *config.Config) {
			c.DryRun = true
			c.Rules.Seccomp.Unconfined, c.Rules.NetworkPolicy.Mode, c.Rules.LoadBalancerTLS.Mode = config.ModeEnforce, config.ModeEnforce, config.ModeEnforce
		}, want: all(ignore)},
		{name: "every rule warns", edit: func(c *config.Config) {
			c.Rules.Seccomp.Mode, c.Rules.Seccomp.Unconfined = config.ModeWarn, config.ModeWarn
			c.Rules.NetworkPolicy.Mode, c.Rules.NetworkPolicy.HostNetwork, c.Rules.LoadBalancerTLS.Mode = config.ModeWarn, config.ModeWarn, config.ModeWarn
		}, want: all(ignore)},
		// The hostNetwork setting denies on its own: the routes it decides fail closed.
		{name: "coverage warns, hostNetwork enforces", edit: func(c *config.Config) {
			c.Rules.Seccomp.Unconfined, c.Rules.LoadBalancerTLS.Mode = config.ModeWarn, config.ModeWarn
			c.Rules.NetworkPolicy.Mode, c.Rules.NetworkPolicy.HostNetwork = config.ModeWarn, config.ModeEnforce
		}, want: map[*Route]admissionregistrationv1.FailurePolicyType{SeccompPods: ignore, SeccompFinalPods: fail, NetworkPolicyPods: fail, NetworkPolicyWorkloads: fail,
			NetworkPolicyChanges: ignore, SeccompEphemeralContainers: ignore, LoadBalancerTLSServices: ignore, LoadBalancerTLSIngresses: ignore,
			LoadBalancerTLSACKListeners: ignore, LoadBalancerTLSACKRules: ignore, LoadBalancerTLSGateways: ignore, LoadBalancerTLSListenerSets: ignore, LoadBalancerTLSGatewayRoutes: ignore,
			LoadBalancerTLSGatewayConfigChanges: ignore}},
		// The Unconfined setting, not the seccomp mode, decides ephemeral
		// containers; the mode decides the pod's final profile.
		{name: "seccomp enforces, Unconfined warns", edit: func(c *config.Config) {
			c.Rules.Seccomp.Mode, c.Rules.Seccomp.Unconfined = config.ModeEnforce, config.ModeWarn
			c.Rules.NetworkPolicy.Mode, c.Rules.NetworkPolicy.HostNetwork, c.Rules.LoadBalancerTLS.Mode = config.ModeOff, config.ModeOff, config.ModeOff
		}, want: func() map[*Route]admissionregistrationv1.FailurePolicyType {
			m := all(ignore)
			m[SeccompFinalPods] = fail
			return m
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pol := ruletest.CompilePolicy(t, tt.edit)
			if len(tt.want) != len(Routes) {
				t.Fatalf("the case names %d routes, there are %d", len(tt.want), len(Routes))
			}
			for _, r := range Routes {
				if got := r.FailurePolicy(pol, fail); got != tt.want[r] {
					t.Errorf("%s: %s, want %s", r.Name, got, tt.want[r])
				}
			}
		})
	}
}

// TestAdmits: which routes see a CREATE of each kind, written out.
func TestAdmits(t *testing.T) {
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	deployment := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	policy := schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}
	service := schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	for _, tt := range []struct {
		gvk  schema.GroupVersionKind
		want []string
	}{
		{gvk: pod, want: []string{SeccompPods.Name, SeccompFinalPods.Name, NetworkPolicyPods.Name}},
		{gvk: deployment, want: []string{NetworkPolicyWorkloads.Name}},
		// Policies are judged on UPDATE and DELETE only.
		{gvk: policy},
		{gvk: service, want: []string{LoadBalancerTLSServices.Name}},
	} {
		var got []string
		for _, r := range Routes {
			if r.Admits(tt.gvk) {
				got = append(got, r.Name)
			}
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("routes admitting a CREATE of %s: %q, want %q", tt.gvk.Kind, got, tt.want)
		}
	}
}
