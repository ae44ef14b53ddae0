package lbtls

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	admissionv1 "k8s.io/api/admission/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"reflect"
	"testing"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/webhook/resource"
)

const (
	certARN      = "arn:aws:acm:region:account:certificate/cert-id"
	otherCertARN = "arn:aws:acm:region:account:certificate/other-id"
	strongPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"
	weakPolicy   = "ELBSecurityPolicy-2016-08"
	// classicPolicy is the one TLS 1.2-only Classic Load Balancer policy.
	classicPolicy = "ELBSecurityPolicy-TLS-1-2-2017-01"
)

func defaultSettings() config.LoadBalancerTLSSettings {
	return config.Defaults().Rules.LoadBalancerTLS
}

func assertListeners(t *testing.T, got, want []Listener) {
	t.Helper()
	if (len(got) != 0 || len(want) != 0) && !reflect.DeepEqual(got, want) {
		t.Errorf("listeners:\n got: %s\nwant: %s", ruletest.Lines(got), ruletest.Lines(want))
	}
}

// apiServer sends objects to a handler as the API server would and
// reads its answer back in the form the tests compare: the warnings, and a
// StatusError for a denial or an error.
type apiServer struct{ h admission.Handler }

func (v apiServer) Create(ctx context.Context, obj client.Object) (admission.Warnings, error) {
	return v.send(ctx, admissionv1.Create, obj, nil)
}

func (v apiServer) Update(ctx context.Context, old, obj client.Object) (admission.Warnings, error) {
	return v.send(ctx, admissionv1.Update, obj, old)
}

func (v apiServer) Delete(ctx context.Context, old client.Object) (admission.Warnings, error) {
	return v.send(ctx, admissionv1.Delete, nil, old)
}

func (v apiServer) send(ctx context.Context, op admissionv1.Operation, obj, old client.Object) (admission.Warnings, error) {
	subject := obj
	if subject == nil {
		subject = old
	}
	kind := resource.Service.GVK
	if _, ok := subject.(*networkingv1.Ingress); ok {
		kind = resource.Ingress.GVK
	}
	raw := func(o client.Object) string {
		if o == nil {
			return ""
		}
		data, err := json.Marshal(o)
		if err != nil {
			panic(err)
		}
		return string(data)
	}
	resp := v.h.Handle(ctx, ruletest.Req{GVK: kind, Namespace: subject.GetNamespace(), Name: subject.GetName(), Op: op,
		Object: raw(obj), OldObject: raw(old)}.Request())
	if resp.Allowed {
		return resp.Warnings, nil
	}
	return resp.Warnings, &apierrors.StatusError{ErrStatus: *resp.Result}
}

// staticClasses is a cluster's IngressClasses and IngressClassParams.
type staticClasses struct {
	classes IngressClasses
	params  map[string]*ClassParams
}

func (c staticClasses) IngressClasses(context.Context) (IngressClasses, error) { return c.classes, nil }

func (c staticClasses) ClassParams(_ context.Context, kind schema.GroupVersionKind, name string) (*ClassParams, error) {
	if p, ok := c.params[name]; ok && ClassParamsKinds[ownerOfParams(p)] == kind {
		return p, nil
	}
	return nil, fmt.Errorf("%w %q", ErrNoClassParams, name)
}

// ownerOfParams is p's owner; tables leave the LBC's unset.
func ownerOfParams(p *ClassParams) Owner {
	if p.Owner == OwnerNone {
		return OwnerLBC
	}
	return p.Owner
}

// ingressClass is an IngressClass of controller, with parameters naming
// an IngressClassParams when params is set.
func ingressClass(name, controller, params string) networkingv1.IngressClass {
	c := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
	if params != "" {
		kind := IngressClassParamsGVK
		if controller == IngressClassControllerAutoMode {
			kind = AutoModeIngressClassParamsGVK
		}
		c.Spec.Parameters = &networkingv1.IngressClassParametersReference{
			APIGroup: ptr.To(kind.Group), Kind: kind.Kind, Name: params}
	}
	return c
}

// albClasses is a cluster with the LBC chart's IngressClass alb and an
// ingress-nginx class.
func albClasses() staticClasses {
	return staticClasses{classes: NewIngressClasses([]networkingv1.IngressClass{
		ingressClass("alb", IngressClassControllerALB, ""), ingressClass("nginx", "k8s.io/ingress-nginx", "")})}
}

func mustMarshal(t *testing.T, obj any) []byte {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Members makes LBC group members without IngressClassParams.
func Members(ings ...*networkingv1.Ingress) []Member {
	out := make([]Member, len(ings))
	for i, ing := range ings {
		out[i] = Member{Ingress: ing, Owner: OwnerLBC}
	}
	return out
}
