package charttest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/eksguard/eksguard/webhook"
)

// The release the tests render, and the cluster version helm renders for.
const (
	Release     = "eksguard"
	Namespace   = "eksguard-system"
	KubeVersion = "1.37.2"
)

// Chart is the chart's directory from a test package two levels below the
// repository root (test/chart) or one (test): set by each package.
type Chart struct {
	// Dir is the chart directory; RepoRoot is where bin/ is.
	Dir, RepoRoot string
}

// Helm is $HELM (set by make), else the helm that make builds into bin/.
// make test and make unit-test build it first, so a missing helm fails.
func (c Chart) Helm(t testing.TB) string {
	t.Helper()
	helm := os.Getenv("HELM")
	if helm == "" {
		built, _ := filepath.Glob(filepath.Join(c.RepoRoot, "bin", "helm-v*"))
		if len(built) == 0 {
			t.Fatal("helm not found: set $HELM or run make helm (make test and make unit-test do)")
		}
		helm = built[len(built)-1]
	}
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("helm %s: %v", helm, err)
	}
	return helm
}

// Run runs helm with args and returns stdout, or stderr as the error.
func (c Chart) Run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(c.Helm(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// ValuesFile writes a values document for helm -f, in a directory whose
// name has no comma (helm splits -f on commas; test names have them).
func ValuesFile(t testing.TB, values string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "eksguard-chart-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(path, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Rendered is the output of helm template.
type Rendered struct {
	Objects []*unstructured.Unstructured
}

// Render renders the chart as release into namespace with the given values
// (YAML), failing the test on a helm error.
func (c Chart) Render(t testing.TB, release, namespace, values string) Rendered {
	t.Helper()
	out, err := c.RenderErr(t, release, namespace, values)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RenderErr is Render that returns helm's error.
func (c Chart) RenderErr(t testing.TB, release, namespace, values string) (Rendered, error) {
	t.Helper()
	out, err := c.Run(t, "template", release, c.Dir, "--namespace", namespace,
		"--kube-version", KubeVersion, "-f", ValuesFile(t, values))
	if err != nil {
		return Rendered{}, err
	}
	var r Rendered
	docs := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out)))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return r, nil
		}
		if err != nil {
			t.Fatalf("splitting the rendered chart: %v", err)
		}
		data, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if string(data) == "null" {
			continue
		}
		// The unstructured JSON scheme keeps integers as int64.
		obj, err := runtime.Decode(unstructured.UnstructuredJSONScheme, data)
		if err != nil {
			t.Fatalf("rendered object: %v\n%s", err, doc)
		}
		r.Objects = append(r.Objects, obj.(*unstructured.Unstructured))
	}
}

// IDs lists the rendered objects as Kind/name, sorted.
func (r Rendered) IDs() []string {
	var ids []string
	for _, o := range r.Objects {
		ids = append(ids, o.GetKind()+"/"+o.GetName())
	}
	sort.Strings(ids)
	return ids
}

// Get decodes the rendered object of kind and name into out, rejecting
// fields the typed API does not know (a typo in a template).
func (r Rendered) Get(t testing.TB, kind, name string, out runtime.Object) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(r.Object(t, kind, name).Object, out, true); err != nil {
		t.Fatalf("%s/%s does not decode strictly: %v", kind, name, err)
	}
}

// Has reports whether an object of kind and name was rendered.
func (r Rendered) Has(kind, name string) bool {
	return slices.Contains(r.IDs(), kind+"/"+name)
}

// Find returns the rendered object of kind and name as a map.
func (r Rendered) Find(t testing.TB, kind, name string) map[string]any {
	t.Helper()
	return r.Object(t, kind, name).Object
}

// Object returns the rendered object of kind and name.
func (r Rendered) Object(t testing.TB, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range r.Objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("%s/%s not rendered; rendered: %v", kind, name, r.IDs())
	return nil
}

// FailurePolicies maps every webhook entry of release's configurations to
// its failurePolicy.
func (r Rendered) FailurePolicies(t testing.TB, release string) map[string]admissionregistrationv1.FailurePolicyType {
	t.Helper()
	got := map[string]admissionregistrationv1.FailurePolicyType{}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	r.Get(t, "MutatingWebhookConfiguration", release, &m)
	for _, w := range m.Webhooks {
		got[w.Name] = *w.FailurePolicy
	}
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.Get(t, "ValidatingWebhookConfiguration", release, &v)
	for _, w := range v.Webhooks {
		got[w.Name] = *w.FailurePolicy
	}
	return got
}

// DeepEqual reports a difference of got from want as a test error.
func DeepEqual[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got: %#v\nwant: %#v", what, got, want)
	}
}

// The webhook entry names of the chart: those of the routes.
var (
	SeccompWebhook        = webhook.SeccompPods.Name
	SeccompFinalWebhook   = webhook.SeccompFinalPods.Name
	PodNetpolWebhook      = webhook.NetworkPolicyPods.Name
	WorkloadNetpolWebhook = webhook.NetworkPolicyWorkloads.Name
	NetpolChangeWebhook   = webhook.NetworkPolicyChanges.Name
	EphemeralWebhook      = webhook.SeccompEphemeralContainers.Name
	ServiceTLSWebhook     = webhook.LoadBalancerTLSServices.Name
	IngressTLSWebhook     = webhook.LoadBalancerTLSIngresses.Name
	ACKListenerTLSWebhook = webhook.LoadBalancerTLSACKListeners.Name
	ACKRuleTLSWebhook     = webhook.LoadBalancerTLSACKRules.Name
	GatewayTLSWebhook     = webhook.LoadBalancerTLSGateways.Name
	ListenerSetTLSWebhook = webhook.LoadBalancerTLSListenerSets.Name
	RouteTLSWebhook       = webhook.LoadBalancerTLSGatewayRoutes.Name
	GatewayConfigWebhook  = webhook.LoadBalancerTLSGatewayConfigChanges.Name
)
