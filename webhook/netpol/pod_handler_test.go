package netpol

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/webhook/decision"
)

var podKind = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}

func podJSON(t testing.TB, name string, labels map[string]string, annotations map[string]string) []byte {
	return mustJSON(t, &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels, Annotations: annotations, OwnerReferences: replicaSetOwner},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
	})
}

// replicaSetOwner makes a test pod a controller's, as most pods are.
var replicaSetOwner = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f", UID: "1", Controller: ptr.To(true)}}

func TestPodHandler(t *testing.T) {
	web := map[string]string{"app": "web"}
	denyAll := netpolObject("shop", "deny-all", metav1.LabelSelector{}, networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)
	dbOnly := netpolObject("shop", "db", metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, networkingv1.PolicyTypeIngress)
	webIngress := netpolObject("shop", "web-ingress", metav1.LabelSelector{MatchLabels: web}, networkingv1.PolicyTypeIngress)
	otherNamespace := netpolObject("other", "deny-all", metav1.LabelSelector{}, networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)

	const noPolicyDenial = "eksguard denied this Pod: [networkPolicy] metadata.labels: Namespace shop has no NetworkPolicy to select " +
		"Pod web-1 (labels app=web); add one that selects it, e.g. a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]"

	tests := []struct {
		name    string
		edit    func(*config.Config)
		indexed []*networkingv1.NetworkPolicy
		live    []*networkingv1.NetworkPolicy
		liveErr error
		// namespaceLabelsFail makes reading namespace labels fail.
		namespaceLabelsFail bool
		req                 func(t *testing.T) admission.Request
		want                ruletest.Answer
		// wantLiveReads is how many live NetworkPolicy lists the request makes.
		wantLiveReads int
	}{
		{
			name:          "no NetworkPolicy: denied after a live read",
			req:           createPod("web-1", web),
			want:          ruletest.Denied(noPolicyDenial),
			wantLiveReads: 1,
		},
		{
			name:    "a policy of another namespace does not count",
			indexed: []*networkingv1.NetworkPolicy{otherNamespace},
			live:    []*networkingv1.NetworkPolicy{otherNamespace},
			req:     createPod("web-1", web),
			want:    ruletest.Denied(noPolicyDenial), wantLiveReads: 1,
		},
		{
			name:    "default-deny in the index: admitted without a live read",
			indexed: []*networkingv1.NetworkPolicy{dbOnly, denyAll},
			req:     createPod("web-1", web),
			want:    ruletest.Allowed(),
		},
		{
			name: "policy not yet in the index but live: admitted",
			live: []*networkingv1.NetworkPolicy{denyAll},
			req:  createPod("web-1", web),
			want: ruletest.Allowed(), wantLiveReads: 1,
		},
		{
			name:    "the only policy selects other pods",
			indexed: []*networkingv1.NetworkPolicy{dbOnly},
			live:    []*networkingv1.NetworkPolicy{dbOnly},
			req:     createPod("web-1", web),
			want: ruletest.Denied("eksguard denied this Pod: [networkPolicy] metadata.labels: The only NetworkPolicy in namespace shop does not select " +
				"Pod web-1 (labels app=web); add one that selects it, e.g. a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]"),
			wantLiveReads: 1,
		},
		{
			name:    "coverage both: an Ingress-only policy leaves Egress",
			edit:    func(c *config.Config) { c.Rules.NetworkPolicy.Coverage = config.CoverageBoth },
			indexed: []*networkingv1.NetworkPolicy{dbOnly, webIngress},
			live:    []*networkingv1.NetworkPolicy{dbOnly, webIngress},
			req:     createPod("web-1", map[string]string{"app": "web", "tier": "fe"}),
			want: ruletest.Denied("eksguard denied this Pod: [networkPolicy] metadata.labels: None of the 2 NetworkPolicies in namespace shop isolates " +
				"Pod web-1 (labels app=web,tier=fe) for Egress; add one that isolates it, e.g. a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]"),
			wantLiveReads: 1,
		},
		{
			name:    "coverage ingress: an Ingress policy is enough",
			edit:    func(c *config.Config) { c.Rules.NetworkPolicy.Coverage = config.CoverageIngress },
			indexed: []*networkingv1.NetworkPolicy{webIngress},
			req:     createPod("web-1", web),
			want:    ruletest.Allowed(),
		},
		{
			name:          "warn mode: admitted with a short warning",
			edit:          func(c *config.Config) { c.Rules.NetworkPolicy.Mode = config.ModeWarn },
			req:           createPod("web-1", web),
			want:          ruletest.Warned("eksguard [networkPolicy] No NetworkPolicy selects Pod web-1; add a default-deny (podSelector: {})"),
			wantLiveReads: 1,
		},
		{
			name:          "dry run turns the denial into a warning",
			edit:          func(c *config.Config) { c.DryRun = true },
			req:           createPod("web-1", web),
			want:          ruletest.Warned("eksguard [networkPolicy] No NetworkPolicy selects Pod web-1; add a default-deny (podSelector: {})"),
			wantLiveReads: 1,
		},
		{
			name: "warn mode names missing directions",
			edit: func(c *config.Config) {
				c.Rules.NetworkPolicy.Mode = config.ModeWarn
				c.Rules.NetworkPolicy.Coverage = config.CoverageEgress
			},
			indexed:       []*networkingv1.NetworkPolicy{webIngress},
			live:          []*networkingv1.NetworkPolicy{webIngress},
			req:           createPod("web-1", web),
			want:          ruletest.Warned("eksguard [networkPolicy] No NetworkPolicy isolates Pod web-1 for Egress; add a default-deny (podSelector: {})"),
			wantLiveReads: 1,
		},
		{
			name: "rule off",
			edit: func(c *config.Config) { c.Rules.NetworkPolicy.Mode = config.ModeOff },
			req:  createPod("web-1", web),
			want: ruletest.Allowed(),
		},
		{
			name: "excluded namespace",
			edit: func(c *config.Config) { c.Scope.ExcludedNamespaces = append(c.Scope.ExcludedNamespaces, "shop") },
			req:  createPod("web-1", web),
			want: ruletest.Allowed(),
		},
		{
			name: "exempted by an objectSelector",
			edit: func(c *config.Config) {
				c.Exemptions = []config.Exemption{{
					Name: "legacy", Rules: []config.RuleName{config.RuleNetworkPolicy}, Namespaces: []string{"shop"},
					ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"legacy": "true"}}, Reason: "migration",
				}}
			},
			req:  createPod("web-1", map[string]string{"app": "web", "legacy": "true"}),
			want: ruletest.Allowed(),
		},
		{
			// The synced index answers when the API server cannot be asked
			// (its restart, measured by make soak); the denial says so.
			name:          "live read fails in enforce mode: denied from the cache, saying so",
			liveErr:       errors.New("connection refused"),
			req:           createPod("web-1", web),
			want:          ruletest.Denied(`eksguard denied this Pod: [networkPolicy] metadata.labels: Namespace shop has no NetworkPolicy to select Pod web-1 (labels app=web); add one that selects it, e.g. a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress] (from eksguard's cache: the API server could not be asked: listing the NetworkPolicies of namespace "shop": connection refused)`),
			wantLiveReads: 1,
		},
		{
			name:          "live read fails in dry run: warns from the cache, never blocks",
			edit:          func(c *config.Config) { c.DryRun = true },
			liveErr:       errors.New("connection refused"),
			req:           createPod("web-1", web),
			want:          ruletest.Warned("eksguard [networkPolicy] No NetworkPolicy selects Pod web-1; add a default-deny (podSelector: {})"),
			wantLiveReads: 1,
		},
		{
			name:          "live read fails in warn mode: warns from the cache",
			edit:          func(c *config.Config) { c.Rules.NetworkPolicy.Mode = config.ModeWarn },
			liveErr:       errors.New("connection refused"),
			req:           createPod("web-1", web),
			want:          ruletest.Warned("eksguard [networkPolicy] No NetworkPolicy selects Pod web-1; add a default-deny (podSelector: {})"),
			wantLiveReads: 1,
		},
		{
			name:                "namespace labels unreadable in enforce mode: error",
			edit:                excludeNamespacesLabelled,
			namespaceLabelsFail: true,
			req:                 createPod("web-1", web),
			want:                ruletest.Errored(500, `eksguard could not decide on NetworkPolicy coverage: reading labels of namespace "shop": unexpected Get`),
		},
		{
			name: "namespace labels unreadable in warn mode: admitted with a warning",
			edit: func(c *config.Config) {
				excludeNamespacesLabelled(c)
				c.Rules.NetworkPolicy.Mode = config.ModeWarn
			},
			namespaceLabelsFail: true,
			req:                 createPod("web-1", web),
			want:                ruletest.Warned(`eksguard [networkPolicy] could not decide on NetworkPolicy coverage: reading labels of namespace "shop": unexpected Get`),
		},
		{
			name: "namespace labels unreadable in dry run: admitted with a warning",
			edit: func(c *config.Config) {
				excludeNamespacesLabelled(c)
				c.DryRun = true
			},
			namespaceLabelsFail: true,
			req:                 createPod("web-1", web),
			want:                ruletest.Warned(`eksguard [networkPolicy] could not decide on NetworkPolicy coverage: reading labels of namespace "shop": unexpected Get`),
		},
		{
			name: "generated name",
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, podKind, "shop", "", mustJSON(t, &corev1.Pod{
					TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
					ObjectMeta: metav1.ObjectMeta{GenerateName: "web-", Namespace: "shop"},
				}), nil)
			},
			want: ruletest.Denied("eksguard denied this Pod: [networkPolicy] metadata.labels: Namespace shop has no NetworkPolicy to select " +
				"Pod web- (no labels); add one that selects it, e.g. a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]"),
			wantLiveReads: 1,
		},
		{
			name: "update without label change: not checked",
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Update, podKind, "shop", "web-1",
					podJSON(t, "web-1", web, map[string]string{"note": "new"}), podJSON(t, "web-1", web, nil))
			},
			want: ruletest.Allowed(),
		},
		{
			name:    "relabel out of coverage: denied",
			indexed: []*networkingv1.NetworkPolicy{webIngress},
			live:    []*networkingv1.NetworkPolicy{webIngress},
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Update, podKind, "shop", "web-1",
					podJSON(t, "web-1", map[string]string{"app": "debug"}, nil), podJSON(t, "web-1", web, nil))
			},
			want: ruletest.Denied("eksguard denied this Pod: [networkPolicy] metadata.labels: The only NetworkPolicy in namespace shop does not select " +
				"Pod web-1 (labels app=debug); add one that selects it, e.g. a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]"),
			wantLiveReads: 1,
		},
		{
			name:    "relabel within coverage: admitted",
			indexed: []*networkingv1.NetworkPolicy{webIngress},
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Update, podKind, "shop", "web-1",
					podJSON(t, "web-1", map[string]string{"app": "web", "v": "2"}, nil), podJSON(t, "web-1", web, nil))
			},
			want: ruletest.Allowed(),
		},
		{
			name: "delete is not checked",
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Delete, podKind, "shop", "web-1", nil, podJSON(t, "web-1", web, nil))
			},
			want: ruletest.Allowed(),
		},
		{
			name: "malformed object",
			req: func(*testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, podKind, "shop", "web-1", []byte(`{"metadata": {"labels": ["app"]}}`), nil)
			},
			want: ruletest.Errored(400, "decoding the Pod: json: cannot unmarshal array into Go struct field PodMetadata.metadata.Meta.labels of type map[string]string"),
		},
		{
			name: "no object",
			req: func(*testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, podKind, "shop", "web-1", nil, nil)
			},
			want: ruletest.Errored(400, "decoding the Pod: the request has no object"),
		},
		{
			name: "malformed old object",
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Update, podKind, "shop", "web-1", podJSON(t, "web-1", web, nil), []byte(`{`))
			},
			want: ruletest.Errored(400, "decoding the old Pod: unexpected end of JSON input"),
		},
		{
			name: "unknown kind",
			req: func(*testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, metav1.GroupVersionKind{Version: "v1", Kind: "Service"}, "shop", "web", []byte(`{}`), nil)
			},
			want: ruletest.Errored(400, "unsupported kind /v1, Kind=Service: this webhook serves v1 pods, v1 pods/status"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := &liveReader{err: tt.liveErr}
			for _, np := range tt.live {
				live.policies = append(live.policies, *np)
			}
			// These cases are about coverage: the DNS step has its own tests.
			checker := newTestChecker(ruletest.CompilePolicy(t, func(c *config.Config) {
				c.Rules.NetworkPolicy.DNS.Mode = config.ModeOff
				if tt.edit != nil {
					tt.edit(c)
				}
			}), tt.indexed, live)
			if tt.namespaceLabelsFail {
				checker.Decider.Namespaces = &liveReader{}
			}
			v := NewPodHandler(checker)
			ruletest.CheckAnswer(t, v.Handle(context.Background(), tt.req(t)), tt.want)
			if len(live.lists) != tt.wantLiveReads {
				t.Errorf("live reads = %d, want %d", len(live.lists), tt.wantLiveReads)
			}
			for _, o := range live.lists {
				if o.Namespace != "shop" {
					t.Errorf("live read in namespace %q, want shop", o.Namespace)
				}
			}
		})
	}
}

// excludeNamespacesLabelled makes the policy read namespace labels.
func excludeNamespacesLabelled(c *config.Config) {
	c.Scope.ExcludedNamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"eksguard.io/ignore": "true"}}
}

func createPod(name string, labels map[string]string) func(t *testing.T) admission.Request {
	return func(t *testing.T) admission.Request {
		return admissionRequest(admissionv1.Create, podKind, "shop", name, podJSON(t, name, labels, nil), nil)
	}
}

// TestPodHandlerAdmissionReview sends AdmissionReview documents as the API
// server does and reads the AdmissionReview answer.
func TestPodHandlerAdmissionReview(t *testing.T) {
	const review = `{
  "apiVersion": "admission.k8s.io/v1",
  "kind": "AdmissionReview",
  "request": {
    "uid": "0b6e3c4f-7f4c-4f3e-9c1e-2a1f0f7d9a10",
    "kind": {"group": "", "version": "v1", "kind": "Pod"},
    "resource": {"group": "", "version": "v1", "resource": "pods"},
    "namespace": "shop",
    "name": "web-1",
    "operation": "CREATE",
    "userInfo": {"username": "alice"},
    "object": %s,
    "dryRun": false
  }
}`
	tests := []struct {
		name   string
		object string
		want   string
	}{
		{
			name:   "uncovered pod",
			object: `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}}`,
			want: `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"0b6e3c4f-7f4c-4f3e-9c1e-2a1f0f7d9a10","allowed":false,` +
				`"status":{"metadata":{},"message":"eksguard denied this Pod: [networkPolicy] metadata.labels: Namespace shop has no NetworkPolicy to select Pod web-1 (labels app=web); ` +
				`add one that selects it, e.g. a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]","reason":"Forbidden","code":403}}}`,
		},
		{
			name:   "labels of the wrong type",
			object: `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "labels": "app=web"}}`,
			want: `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"0b6e3c4f-7f4c-4f3e-9c1e-2a1f0f7d9a10","allowed":false,` +
				`"status":{"metadata":{},"message":"decoding the Pod: json: cannot unmarshal string into Go struct field PodMetadata.metadata.Meta.labels of type map[string]string","code":400}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook := &webhook.Admission{Handler: NewPodHandler(newTestChecker(ruletest.CompilePolicy(t, nil), nil, &liveReader{}))}
			body := fmt.Sprintf(review, tt.object)
			req := httptest.NewRequest(http.MethodPost, "/validate", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			hook.ServeHTTP(rec, req)
			if got := strings.TrimSpace(rec.Body.String()); got != tt.want {
				t.Errorf("response:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestPodHandlerHugePod: a pod with 100,000 labels gets a bounded denial
// that lists the first labels and counts the rest.
func TestPodHandlerHugePod(t *testing.T) {
	labelSet := map[string]string{}
	for i := range 100000 {
		labelSet[fmt.Sprintf("k%06d", i)] = "v"
	}
	raw := mustJSON(t, &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "huge", Namespace: "shop", Labels: labelSet}})
	resp := NewPodHandler(newTestChecker(ruletest.CompilePolicy(t, nil), nil, &liveReader{})).Handle(context.Background(),
		admissionRequest(admissionv1.Create, podKind, "shop", "huge", raw, nil))
	got := resp.Result.Message
	wantPrefix := "eksguard denied this Pod: [networkPolicy] metadata.labels: Namespace shop has no NetworkPolicy to select Pod huge " +
		"(labels k000000=v,k000001=v,"
	if resp.Allowed || !strings.HasPrefix(got, wantPrefix) || !strings.Contains(got, "k000019=v and 99980 more)") {
		t.Errorf("denial %.300q, want it to start %q and count the labels left out", got, wantPrefix)
	}
	if len(got) > decision.MaxDenialLength {
		t.Errorf("denial of %d bytes, more than %d", len(got), decision.MaxDenialLength)
	}
}
