package lbtls

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

// TestClassParamsFrom reads the fields of IngressClassParamsSpec
// (apis/elbv2/v1beta1/ingressclassparams_types.go) by their JSON names.
func TestClassParamsFrom(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams", "spec": map[string]any{
		"sslPolicy": strongPolicy, "certificateArn": []any{certARN}, "sslRedirectPort": "443",
		"group": map[string]any{"name": "shared"}, "scheme": "internal",
		"namespaceSelector": map[string]any{"matchLabels": map[string]any{"team": "web"}},
		"subnets":           map[string]any{"ids": []any{"subnet-1"}},
	}}}
	u.SetName("strict")
	got, err := ClassParamsFrom(u)
	if err != nil {
		t.Fatal(err)
	}
	want := &ClassParams{Owner: OwnerLBC, Name: "strict", SSLPolicy: strongPolicy, CertificateARNs: []string{certARN}, SSLRedirectPort: "443",
		Group: "shared", Scheme: ptr.To("internal"), NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "web"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ClassParamsFrom = %+v, want %+v", got, want)
	}
	trimmed, err := trimClassParams(u)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := ClassParamsFrom(trimmed.(*unstructured.Unstructured)); !reflect.DeepEqual(again, want) {
		t.Errorf("after the cache transform: %+v, want %+v", again, want)
	}
	if _, kept := trimmed.(*unstructured.Unstructured).Object["spec"].(map[string]any)["subnets"]; kept {
		t.Error("the cache transform kept spec.subnets")
	}
	bad := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams", "spec": map[string]any{"certificateArn": "not-a-list"}}}
	if _, err := ClassParamsFrom(bad); err == nil {
		t.Error("ClassParamsFrom accepted certificateArn that is not a list")
	}
}

// TestAutoModeClassParamsFrom reads EKS Auto Mode's IngressClassParams by
// the names of its reference (auto-configure-alb.html, "IngressClassParams
// Reference"): certificateARNs, and no sslPolicy or sslRedirectPort even if
// an object carries the LBC's names.
func TestAutoModeClassParamsFrom(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "eks.amazonaws.com/v1", "kind": "IngressClassParams",
		"spec": map[string]any{
			"certificateARNs": []any{certARN}, "scheme": "internet-facing", "group": map[string]any{"name": "shop"},
			"sslPolicy": strongPolicy, "sslRedirectPort": "443",
		}}}
	u.SetName("auto")
	got, err := ClassParamsFrom(u)
	if err != nil {
		t.Fatal(err)
	}
	want := &ClassParams{Owner: OwnerAutoMode, Name: "auto", CertificateARNs: []string{certARN}, Group: "shop", Scheme: ptr.To("internet-facing")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ClassParamsFrom = %+v, want %+v", got, want)
	}
	if got.certificatesField() != "spec.certificateARNs" {
		t.Errorf("certificatesField = %q", got.certificatesField())
	}
	other := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "IngressClassParams"}}
	if _, err := ClassParamsFrom(other); err == nil {
		t.Error("ClassParamsFrom read a kind of another group")
	}
}
