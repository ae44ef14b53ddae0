package test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/charttest"
	"github.com/eksguard/eksguard/webhook/netpol"
)

// kindsWithoutCRDs are charttest.Rendered kinds whose CRDs envtest does not have
// (cert-manager, prometheus-operator): the dry run skips exactly these.
var kindsWithoutCRDs = map[string]bool{
	"cert-manager.io/v1, Kind=Issuer":               true,
	"cert-manager.io/v1, Kind=Certificate":          true,
	"monitoring.coreos.com/v1, Kind=ServiceMonitor": true,
}

// TestChartObjectsServerDryRun creates every charttest.Rendered object in the API
// server with dryRun=All: schema, defaulting, validation (CEL
// matchConditions included) and admission all run, nothing is stored.
func TestChartObjectsServerDryRun(t *testing.T) {
	tests := []struct {
		name        string
		values      string
		wantSkipped []string
	}{
		{name: "defaults", values: "{}"},
		{
			name: "cert-manager, ServiceMonitor, enforcing rules",
			values: `
certManager: {enabled: true}
metrics: {serviceMonitor: {enabled: true}}
policy: {rules: {networkPolicy: {mode: enforce}, loadBalancerTLS: {mode: enforce}}}
`,
			wantSkipped: []string{
				"cert-manager.io/v1, Kind=Certificate eksguard-ca",
				"cert-manager.io/v1, Kind=Certificate eksguard-serving-cert",
				"cert-manager.io/v1, Kind=Issuer eksguard-ca",
				"cert-manager.io/v1, Kind=Issuer eksguard-selfsigned",
				"monitoring.coreos.com/v1, Kind=ServiceMonitor eksguard",
			},
		},
		{
			name: "one replica, dry run, exclusions, match conditions, minAvailable",
			values: `
replicaCount: 1
podDisruptionBudget: {minAvailable: 1}
webhook:
  excludedNamespaces: [team-legacy]
  matchConditions: [{name: not-ci, expression: "request.userInfo.username != 'ci'"}]
policy:
  dryRun: true
  exemptions: [{name: agents, rules: [seccomp], namespaces: [monitoring], reason: node exporter}]
`,
		},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := renderChart(t, chartRelease, eksguardNamespace, tc.values)
			var skipped []string
			for _, obj := range r.Objects {
				gvk := obj.GroupVersionKind().String()
				if kindsWithoutCRDs[gvk] {
					skipped = append(skipped, gvk+" "+obj.GetName())
					continue
				}
				if err := k8sClient.Create(ctx, obj.DeepCopy(), client.DryRunAll); err != nil {
					t.Errorf("%s %s rejected by the API server: %v", gvk, obj.GetName(), err)
				}
			}
			slices.Sort(skipped)
			charttest.DeepEqual(t, "objects skipped for lack of their CRD", skipped, tc.wantSkipped)
		})
	}
}

// TestChartRBAC creates the chart's RBAC objects and asks the API server's
// authorizer, for the chart's ServiceAccount, about every access the code
// makes (allowed) and about accesses it must not have (denied).
func TestChartRBAC(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	const release = "rbac"
	const fullname = "rbac-eksguard"
	r := renderChart(t, release, ns, "{}")
	for _, kind := range []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} {
		createForTest(t, r.Object(t, kind, fullname).DeepCopy())
	}
	other := newNamespace(t, nil)

	type access struct {
		verb, group, resource, namespace, name string
	}
	can := func(a access) (bool, error) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + ns + ":" + fullname,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: a.verb, Group: a.group, Resource: a.resource, Namespace: a.namespace, Name: a.name,
			},
		}}
		if err := k8sClient.Create(ctx, sar); err != nil {
			return false, err
		}
		return sar.Status.Allowed, nil
	}
	const (
		core       = ""
		networking = "networking.k8s.io"
		admission  = "admissionregistration.k8s.io"
		events     = "events.k8s.io"
	)
	policyCM, certSecret := fullname+"-policy", fullname+"-webhook-tls"

	// What the code does, by component.
	needed := []access{
		// Informers (internal/app/server cachedObjects): namespace metadata,
		// NetworkPolicies, the one policy ConfigMap (field selector on its name).
		{"list", core, "namespaces", "", ""},
		{"watch", core, "namespaces", "", ""},
		// webhook/decision: live read of a namespace the cache does not know yet.
		{"get", core, "namespaces", "", other},
		{"list", networking, "networkpolicies", "", ""},
		{"watch", networking, "networkpolicies", "", ""},
		{"list", core, "configmaps", ns, policyCM},
		{"watch", core, "configmaps", ns, policyCM},
		{"get", core, "configmaps", ns, policyCM},
		// Live reads of webhook/netpol: NetworkPolicies and pod metadata of one namespace.
		{"list", networking, "networkpolicies", other, ""},
		{"list", core, "pods", other, ""},
		// webhook/lbtls: the Ingresses of an ALB group.
		{"list", networking, "ingresses", "", ""},
		{"watch", networking, "ingresses", "", ""},
		// config watcher: Events on the policy ConfigMap (events.k8s.io/v1 recorder).
		{"create", events, "events", ns, ""},
		{"patch", events, "events", ns, ""},
		// internal/app/certs (cert-controller): the Secret informer, narrowed
		// to the certificate Secret by a field selector (the API server
		// authorizes it as a request for that name), Secret update, webhook
		// configuration informers and updates.
		{"list", core, "secrets", ns, certSecret},
		{"watch", core, "secrets", ns, certSecret},
		{"update", core, "secrets", ns, certSecret},
		{"list", admission, "validatingwebhookconfigurations", "", ""},
		{"watch", admission, "validatingwebhookconfigurations", "", ""},
		{"list", admission, "mutatingwebhookconfigurations", "", ""},
		{"watch", admission, "mutatingwebhookconfigurations", "", ""},
		{"update", admission, "validatingwebhookconfigurations", "", fullname},
		{"update", admission, "mutatingwebhookconfigurations", "", fullname},
		// internal/app/failurepolicy: read and patch the failure policies of eksguard's own two.
		{"get", admission, "validatingwebhookconfigurations", "", fullname},
		{"get", admission, "mutatingwebhookconfigurations", "", fullname},
		{"patch", admission, "validatingwebhookconfigurations", "", fullname},
		{"patch", admission, "mutatingwebhookconfigurations", "", fullname},
		// webhook/netpol discovery: CRD metadata; a cluster-scoped policy
		// change lists the pods of every namespace.
		{"list", "apiextensions.k8s.io", "customresourcedefinitions", "", ""},
		{"watch", "apiextensions.k8s.io", "customresourcedefinitions", "", ""},
		{"list", core, "pods", "", ""},
	}
	// Informers and live lists of every policy kind (webhook/netpol Kinds).
	for _, k := range netpol.Kinds {
		needed = append(needed, access{"list", k.GVK.Group, k.Resource, "", ""}, access{"watch", k.GVK.Group, k.Resource, "", ""})
	}
	forbidden := []access{
		// Secrets: nothing outside its namespace, nothing but its own inside
		// (no list of the namespace: Helm's release Secrets stay unreadable).
		{"list", core, "secrets", "", ""},
		{"list", core, "secrets", ns, ""},
		{"watch", core, "secrets", ns, ""},
		{"list", core, "secrets", ns, "sh.helm.release.v1.eksguard.v1"},
		{"get", core, "secrets", other, "anything"},
		{"list", core, "secrets", other, ""},
		{"get", core, "secrets", ns, certSecret},
		{"create", core, "secrets", ns, ""},
		{"update", core, "secrets", ns, "another-secret"},
		{"delete", core, "secrets", ns, certSecret},
		// No writes to workloads or pods, no pod reads beyond listing metadata.
		{"create", core, "pods", other, ""},
		{"get", core, "pods", other, "p"},
		{"watch", core, "pods", "", ""},
		{"delete", core, "pods", other, "p"},
		{"create", "apps", "deployments", other, ""},
		{"update", networking, "networkpolicies", other, "np"},
		{"patch", core, "namespaces", "", other},
		// ConfigMaps: only the policy one.
		{"list", core, "configmaps", ns, ""},
		{"get", core, "configmaps", ns, "another-configmap"},
		{"list", core, "configmaps", "", ""},
		{"update", core, "configmaps", ns, policyCM},
		// Events only in its own namespace.
		{"create", events, "events", other, ""},
		{"create", core, "events", other, ""},
		// Other webhook configurations are off limits.
		{"update", admission, "validatingwebhookconfigurations", "", "someone-elses"},
		{"patch", admission, "mutatingwebhookconfigurations", "", "someone-elses"},
		{"delete", admission, "validatingwebhookconfigurations", "", fullname},
		{"create", admission, "validatingwebhookconfigurations", "", ""},
		// No RBAC escalation.
		{"bind", "rbac.authorization.k8s.io", "clusterroles", "", ""},
		{"escalate", "rbac.authorization.k8s.io", "roles", ns, fullname},
	}

	// The RBAC authorizer reads roles from an informer: wait for the first grant.
	eventually(t, 10*time.Second, func() error {
		if ok, err := can(needed[0]); err != nil || !ok {
			return fmt.Errorf("%+v not allowed yet (err %v)", needed[0], err)
		}
		return nil
	})
	for _, a := range needed {
		if ok, err := can(a); err != nil || !ok {
			t.Errorf("the code needs %+v: allowed=%v err=%v", a, ok, err)
		}
	}
	for _, a := range forbidden {
		if ok, err := can(a); err != nil || ok {
			t.Errorf("must be denied: %+v: allowed=%v err=%v", a, ok, err)
		}
	}
}

// admissionProxy is a TLS endpoint between the API server and the
// in-process eksguard server: it records which namespace each admission
// request is about, then forwards it, or fails it while down is set.
type admissionProxy struct {
	server   *httptest.Server
	caBundle []byte
	down     atomic.Bool

	mu   sync.Mutex
	seen []admissionCall
}

type admissionCall struct{ path, namespace string }

func newAdmissionProxy(t *testing.T) *admissionProxy {
	t.Helper()
	wio := testEnv.WebhookInstallOptions
	target := &url.URL{Scheme: "https", Host: net.JoinHostPort(wio.LocalServingHost, strconv.Itoa(wio.LocalServingPort))}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(wio.LocalServingCAData) {
		t.Fatal("envtest's webhook CA is not PEM")
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	forward.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}

	p := &admissionProxy{}
	p.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.seen = append(p.seen, admissionCall{path: req.URL.Path, namespace: review.Request.Namespace})
		p.mu.Unlock()
		if p.down.Load() {
			http.Error(w, "eksguard is down", http.StatusServiceUnavailable)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		forward.ServeHTTP(w, req)
	}))
	p.server.StartTLS()
	t.Cleanup(p.server.Close)
	p.caBundle = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.server.Certificate().Raw})
	return p
}

// paths returns the paths of the recorded calls about namespace, sorted
// and deduplicated.
func (p *admissionProxy) paths(namespace string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var paths []string
	for _, c := range p.seen {
		if c.namespace == namespace && !slices.Contains(paths, c.path) {
			paths = append(paths, c.path)
		}
	}
	slices.Sort(paths)
	return paths
}

// chartTestLabel marks the objects the rewritten webhook configurations may
// see, so they never touch another test's objects.
const chartTestLabel = "eksguard.io/chart-test"

// installRenderedWebhooks creates the chart's webhook configurations, with
// each clientConfig pointed at the proxy and an objectSelector on
// chartTestLabel=id, and deletes them when the test ends.
func installRenderedWebhooks(t *testing.T, r charttest.Rendered, p *admissionProxy, id string) {
	t.Helper()
	ctx := context.Background()
	point := func(cc *admissionregistrationv1.WebhookClientConfig) *metav1.LabelSelector {
		cc.URL = ptr.To(p.server.URL + *cc.Service.Path)
		cc.Service = nil
		cc.CABundle = p.caBundle
		return &metav1.LabelSelector{MatchLabels: map[string]string{chartTestLabel: id}}
	}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	r.Get(t, "MutatingWebhookConfiguration", chartRelease, &m)
	for i := range m.Webhooks {
		m.Webhooks[i].ObjectSelector = point(&m.Webhooks[i].ClientConfig)
	}
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.Get(t, "ValidatingWebhookConfiguration", chartRelease, &v)
	for i := range v.Webhooks {
		v.Webhooks[i].ObjectSelector = point(&v.Webhooks[i].ClientConfig)
	}
	for _, obj := range []client.Object{&m, &v} {
		obj.SetName("chart-test-" + id)
		if err := k8sClient.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T: %v", obj, err)
		}
		t.Cleanup(func() {
			if err := k8sClient.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting %T %s: %v", obj, obj.GetName(), err)
			}
		})
	}
}

func labelledPod(namespace, id string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, GenerateName: "chart-", Labels: map[string]string{chartTestLabel: id}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}},
	}
}

// labelledService is a LoadBalancer Service, so the charttest.Rendered webhook's
// matchCondition sends it to eksguard, of another controller's class, so the
// suite's own enforcing load-balancer TLS webhook admits it.
func labelledService(namespace, id string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, GenerateName: "chart-", Labels: map[string]string{chartTestLabel: id}},
		Spec: corev1.ServiceSpec{
			Type:              corev1.ServiceTypeLoadBalancer,
			LoadBalancerClass: ptr.To("example.com/other-lb"),
			Ports:             []corev1.ServicePort{{Port: 80}},
		},
	}
}

// coverWithDefaultDeny creates a default-deny NetworkPolicy in namespace, so
// that the suite's own enforcing NetworkPolicy webhook admits its pods.
func coverWithDefaultDeny(t *testing.T, namespace string) {
	t.Helper()
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "default-deny"},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}
	if err := k8sClient.Create(context.Background(), np); err != nil {
		t.Fatalf("creating a default-deny NetworkPolicy in %s: %v", namespace, err)
	}
}

// waitForWebhooks dry-runs a labelled Pod and Service in namespace until
// the proxy has seen validating calls for both: the API server has picked
// up the new configurations. (The mutating entry is not called: the suite's
// seccomp admission policy gives every pod its profile first.)
func waitForWebhooks(t *testing.T, p *admissionProxy, namespace, id string) {
	t.Helper()
	ctx := context.Background()
	eventually(t, 20*time.Second, func() error {
		_ = k8sClient.Create(ctx, labelledPod(namespace, id), client.DryRunAll)
		_ = k8sClient.Create(ctx, labelledService(namespace, id), client.DryRunAll)
		seen := p.paths(namespace)
		if !slices.Contains(seen, "/validate-v1-pod-networkpolicy") || !slices.Contains(seen, "/validate-v1-service-lbtls") {
			return fmt.Errorf("the charttest.Rendered webhooks called for namespace %s so far: %v", namespace, seen)
		}
		return nil
	})
}

// TestChartWebhooksSkipExcludedNamespaces: with the charttest.Rendered
// namespaceSelector, objects in the release namespace, kube-system and
// webhook.excludedNamespaces never reach eksguard; others reach every
// webhook the chart registers for them.
func TestChartWebhooksSkipExcludedNamespaces(t *testing.T) {
	ctx := context.Background()
	id := rand.String(8)
	release, excluded, open := newNamespace(t, nil), newNamespace(t, nil), newNamespace(t, nil)
	for _, ns := range []string{release, excluded, open} {
		coverWithDefaultDeny(t, ns)
	}
	r := renderChart(t, chartRelease, release, "webhook: {excludedNamespaces: ["+excluded+"]}")
	proxy := newAdmissionProxy(t)
	installRenderedWebhooks(t, r, proxy, id)
	waitForWebhooks(t, proxy, open, id)

	for _, ns := range []string{open, release, excluded, "kube-system"} {
		if err := k8sClient.Create(ctx, labelledPod(ns, id), client.DryRunAll); err != nil {
			t.Errorf("dry-run pod in %s: %v", ns, err)
		}
		if err := k8sClient.Create(ctx, labelledService(ns, id), client.DryRunAll); err != nil {
			t.Errorf("dry-run Service in %s: %v", ns, err)
		}
	}
	// No seccomp calls: the suite's admission policy gave the pod its
	// profile in the API server, and both seccomp entries' matchConditions
	// leave such pods there.
	charttest.DeepEqual(t, "calls about the open namespace", proxy.paths(open), []string{
		"/validate-v1-pod-networkpolicy", "/validate-v1-service-lbtls",
	})
	for _, ns := range []string{release, excluded, "kube-system"} {
		charttest.DeepEqual(t, "calls about excluded namespace "+ns, proxy.paths(ns), []string(nil))
	}
}

// TestChartWebhooksFailurePolicy: while eksguard is unreachable, a
// warn-mode rule admits (its webhook fails open) and an enforcing rule
// rejects; under policy.dryRun both admit.
func TestChartWebhooksFailurePolicy(t *testing.T) {
	ctx := context.Background()
	id := rand.String(8)
	release, open := newNamespace(t, nil), newNamespace(t, nil)
	coverWithDefaultDeny(t, open)
	const values = "policy: {rules: {seccomp: {mode: warn}, networkPolicy: {mode: warn}, loadBalancerTLS: {mode: enforce}}}"
	r := renderChart(t, chartRelease, release, values)
	charttest.DeepEqual(t, "charttest.Rendered failure policies", r.FailurePolicies(t, chartRelease), map[string]admissionregistrationv1.FailurePolicyType{
		charttest.SeccompWebhook: admissionregistrationv1.Ignore, charttest.SeccompFinalWebhook: admissionregistrationv1.Ignore, charttest.PodNetpolWebhook: admissionregistrationv1.Ignore,
		charttest.WorkloadNetpolWebhook: admissionregistrationv1.Ignore, charttest.NetpolChangeWebhook: admissionregistrationv1.Ignore,
		charttest.EphemeralWebhook: admissionregistrationv1.Ignore, charttest.ServiceTLSWebhook: admissionregistrationv1.Fail, charttest.IngressTLSWebhook: admissionregistrationv1.Fail,
		charttest.ACKListenerTLSWebhook: admissionregistrationv1.Fail, charttest.ACKRuleTLSWebhook: admissionregistrationv1.Fail, charttest.GatewayTLSWebhook: admissionregistrationv1.Fail, charttest.ListenerSetTLSWebhook: admissionregistrationv1.Fail, charttest.RouteTLSWebhook: admissionregistrationv1.Fail, charttest.GatewayConfigWebhook: admissionregistrationv1.Ignore,
	})
	proxy := newAdmissionProxy(t)
	installRenderedWebhooks(t, r, proxy, id)
	waitForWebhooks(t, proxy, open, id)

	proxy.down.Store(true)
	if err := k8sClient.Create(ctx, labelledPod(open, id), client.DryRunAll); err != nil {
		t.Errorf("warn-mode NetworkPolicy rule, eksguard down: pod rejected: %v", err)
	}
	if !slices.Contains(proxy.paths(open), "/validate-v1-pod-networkpolicy") {
		t.Errorf("the pod NetworkPolicy webhook was not called: %v", proxy.paths(open))
	}
	err := k8sClient.Create(ctx, labelledService(open, id), client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), `failed calling webhook "loadbalancertls.services.eksguard.io"`) {
		t.Errorf("enforcing TLS rule, eksguard down: want the Service rejected by the failing webhook, got %v", err)
	}

	// policy.dryRun makes every webhook fail open.
	dryRun := renderChart(t, chartRelease, release,
		"policy: {dryRun: true, rules: {seccomp: {mode: warn}, networkPolicy: {mode: warn}, loadBalancerTLS: {mode: enforce}}}")
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := k8sClient.Get(ctx, client.ObjectKey{Name: "chart-test-" + id}, &v); err != nil {
		t.Fatal(err)
	}
	policies := dryRun.FailurePolicies(t, chartRelease)
	for i := range v.Webhooks {
		v.Webhooks[i].FailurePolicy = ptr.To(policies[v.Webhooks[i].Name])
	}
	if err := k8sClient.Update(ctx, &v); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		return k8sClient.Create(ctx, labelledService(open, id), client.DryRunAll)
	})
}

// TestChartSeccompSurvivesAnOutage: under seccomp enforce, the validating
// entry that judges the pod as admitted fails closed, so with eksguard
// unreachable an Unconfined pod (or one without a profile) is rejected
// rather than admitted without eksguard's guarantee; the mutating entry
// alone would have let it through. A pod with its profile is admitted.
func TestChartSeccompSurvivesAnOutage(t *testing.T) {
	ctx := context.Background()
	id := rand.String(8)
	release, open := newNamespace(t, nil), newNamespace(t, nil)
	coverWithDefaultDeny(t, open)
	r := renderChart(t, chartRelease, release, "policy: {rules: {seccomp: {mode: enforce, unconfined: enforce}}}")
	proxy := newAdmissionProxy(t)
	installRenderedWebhooks(t, r, proxy, id)
	waitForWebhooks(t, proxy, open, id)

	proxy.down.Store(true)
	pod := labelledPod(open, id)
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}
	err := k8sClient.Create(ctx, pod, client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), `failed calling webhook "seccomp.final-pods.eksguard.io"`) {
		t.Errorf("an Unconfined pod under enforce, eksguard down: want it rejected by the failing seccomp entry, got %v", err)
	}
	// A pod that has its profile (set by its author, or by an admission
	// policy in the API server) leaves nothing to judge: the entry's
	// matchCondition keeps it from eksguard, so the outage does not block it.
	confined := labelledPod(open, id)
	confined.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	if err := k8sClient.Create(ctx, confined, client.DryRunAll); err != nil {
		t.Errorf("a RuntimeDefault pod under enforce, eksguard down: want it admitted, got %v", err)
	}
	// A pod without a profile gets RuntimeDefault from the admission policy
	// in the API server, with no call to any eksguard webhook, and is then
	// admitted like the one above (issue 26: the injection survives an
	// eksguard outage).
	before := webhookCalls(t, "/mutate-v1-pod-seccomp")
	bare := labelledPod(open, id)
	if err := k8sClient.Create(ctx, bare, client.DryRunAll); err != nil {
		t.Fatalf("a pod without a profile, eksguard down: want it admitted with RuntimeDefault, got %v", err)
	}
	if sc := bare.Spec.SecurityContext; sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("a pod without a profile, eksguard down: stored with %+v, want RuntimeDefault", sc)
	}
	if after := webhookCalls(t, "/mutate-v1-pod-seccomp"); after != before {
		t.Errorf("eksguard's seccomp webhook was called %v times, want none", after-before)
	}
}

// TestChartNotes renders NOTES.txt (helm install --dry-run=client asks the
// API server for its version only).
func TestChartNotes(t *testing.T) {
	kubeconfig := writeKubeconfig(t, &clientcmdapi.AuthInfo{})
	tests := []struct {
		name   string
		values string
		want   []string
	}{
		{
			name:   "defaults",
			values: "{}",
			want: []string{
				"kubectl -n eksguard-system rollout status deployment/eksguard",
				"kubectl -n eksguard-system get secret eksguard-webhook-tls",
				"  seccomp          enforce (Unconfined profiles: warn)\n" +
					"  networkPolicy    warn (coverage: any)\n" +
					"  loadBalancerTLS  warn\n",
				"enforcing rules use failurePolicy Fail.",
				"    --set policy.rules.networkPolicy.mode=enforce \\\n    --set policy.rules.loadBalancerTLS.mode=enforce\n",
				`Namespaces never sent to eksguard: ["eksguard-system","kube-system","kube-public","kube-node-lease"]`,
			},
		},
		// (cert-manager mode cannot be installed, even with --dry-run=client,
		// without cert-manager's CRDs, which envtest does not have.)
		{
			name:   "dry run",
			values: "policy: {dryRun: true, rules: {networkPolicy: {mode: enforce}}}",
			want: []string{
				"policy.dryRun is ON: every rule only warns, and every webhook fails open.",
				"  networkPolicy    enforce (coverage: any)\n",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := chart.Run(t, "install", chartRelease, chart.Dir, "--namespace", eksguardNamespace,
				"--dry-run=client", "--kubeconfig", kubeconfig, "-f", charttest.ValuesFile(t, tc.values))
			if err != nil {
				t.Fatal(err)
			}
			_, notes, found := strings.Cut(out, "\nNOTES:\n")
			if !found {
				t.Fatalf("no NOTES in:\n%s", out)
			}
			for _, want := range tc.want {
				if !strings.Contains(notes, want) {
					t.Errorf("NOTES lack %q:\n%s", want, notes)
				}
			}
		})
	}
}

// TestChartUpgradeKeepsCertificates installs the chart for real with helm,
// fills the certificate Secret and the CA bundles as eksguard does, and
// upgrades the release with another policy: the upgrade must keep the
// certificates and CA bundles (Helm's three-way merge) and apply the policy.
// A matchCondition that is always false keeps the installed webhooks from
// being called.
func TestChartUpgradeKeepsCertificates(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	kubeconfig := writeKubeconfig(t, &clientcmdapi.AuthInfo{})
	const release, fullname = "upgrade", "upgrade-eksguard"
	const neverCalled = "webhook: {matchConditions: [{name: never, expression: 'false'}]}"
	helm := func(args ...string) {
		t.Helper()
		if _, err := chart.Run(t, append(args, "--namespace", ns, "--kubeconfig", kubeconfig)...); err != nil {
			t.Fatal(err)
		}
	}
	helm("install", release, chart.Dir, "-f", charttest.ValuesFile(t, neverCalled))
	t.Cleanup(func() { helm("uninstall", release, "--wait") })

	// What eksguard writes at runtime.
	caBundle := []byte("-----BEGIN CERTIFICATE-----\ntest CA\n-----END CERTIFICATE-----\n")
	secret := getSecret(t, ns, fullname+"-webhook-tls")
	secret.Data = map[string][]byte{"ca.crt": caBundle, "ca.key": []byte("k"), "tls.crt": []byte("c"), "tls.key": []byte("k")}
	if err := k8sClient.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	if err := k8sClient.Get(ctx, client.ObjectKey{Name: fullname}, &m); err != nil {
		t.Fatal(err)
	}
	for i := range m.Webhooks {
		m.Webhooks[i].ClientConfig.CABundle = caBundle
	}
	if err := k8sClient.Update(ctx, &m); err != nil {
		t.Fatal(err)
	}
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := k8sClient.Get(ctx, client.ObjectKey{Name: fullname}, &v); err != nil {
		t.Fatal(err)
	}
	for i := range v.Webhooks {
		v.Webhooks[i].ClientConfig.CABundle = caBundle
	}
	if err := k8sClient.Update(ctx, &v); err != nil {
		t.Fatal(err)
	}

	helm("upgrade", release, chart.Dir, "--reuse-values", "--set", "policy.rules.networkPolicy.mode=enforce")

	charttest.DeepEqual(t, "Secret data after the upgrade", getSecret(t, ns, fullname+"-webhook-tls").Data, secret.Data)
	if err := k8sClient.Get(ctx, client.ObjectKey{Name: fullname}, &m); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Get(ctx, client.ObjectKey{Name: fullname}, &v); err != nil {
		t.Fatal(err)
	}
	failurePolicies := map[string]admissionregistrationv1.FailurePolicyType{}
	for _, w := range m.Webhooks {
		charttest.DeepEqual(t, w.Name+" caBundle after the upgrade", w.ClientConfig.CABundle, caBundle)
		failurePolicies[w.Name] = *w.FailurePolicy
	}
	for _, w := range v.Webhooks {
		charttest.DeepEqual(t, w.Name+" caBundle after the upgrade", w.ClientConfig.CABundle, caBundle)
		failurePolicies[w.Name] = *w.FailurePolicy
	}
	const fail, ignore = admissionregistrationv1.Fail, admissionregistrationv1.Ignore
	charttest.DeepEqual(t, "failure policies after the upgrade", failurePolicies, map[string]admissionregistrationv1.FailurePolicyType{
		charttest.SeccompWebhook: ignore, charttest.SeccompFinalWebhook: fail, charttest.PodNetpolWebhook: fail, charttest.WorkloadNetpolWebhook: fail,
		charttest.NetpolChangeWebhook: ignore, charttest.EphemeralWebhook: ignore, charttest.ServiceTLSWebhook: ignore, charttest.IngressTLSWebhook: ignore, charttest.ACKListenerTLSWebhook: ignore, charttest.ACKRuleTLSWebhook: ignore, charttest.GatewayTLSWebhook: ignore, charttest.ListenerSetTLSWebhook: ignore, charttest.RouteTLSWebhook: ignore, charttest.GatewayConfigWebhook: ignore,
	})
	var cm corev1.ConfigMap
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: fullname + "-policy"}, &cm); err != nil {
		t.Fatal(err)
	}
	p, err := config.Load([]byte(cm.Data[config.ConfigMapKey]), ns)
	if err != nil {
		t.Fatal(err)
	}
	charttest.DeepEqual(t, "networkPolicy mode after the upgrade", p.Config.Rules.NetworkPolicy.Mode, config.ModeEnforce)
}
