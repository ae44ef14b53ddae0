package seccomp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/webhook/decision"
)

const ownNamespace = ruletest.OwnNamespace

var podKind = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}

// apiServerPod is a pod as the API server sends it to a mutating webhook:
// defaulted (securityContext {} included), several containers, env, volumes.
const apiServerPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-7d9c8b6f4-","namespace":"shop",` +
	`"labels":{"app":"web","pod-template-hash":"7d9c8b6f4"},"annotations":{"prometheus.io/scrape":"true"},` +
	`"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d9c8b6f4","uid":"5f0c7a1e-2b1d-4c55-9d43-8e3f0a6b1c2d","controller":true,"blockOwnerDeletion":true}]},` +
	`"spec":{"volumes":[{"name":"config","configMap":{"name":"web-config","defaultMode":420}},{"name":"cache","emptyDir":{"sizeLimit":"1Gi"}},` +
	`{"name":"kube-api-access-x7k2p","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},` +
	`{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},` +
	`{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420}}],` +
	`"initContainers":[{"name":"migrate","image":"registry.example/web:1.4.2","command":["/app/migrate","--wait"],` +
	`"env":[{"name":"DATABASE_URL","valueFrom":{"secretKeyRef":{"name":"web-db","key":"url"}}}],"resources":{},` +
	`"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],` +
	`"containers":[{"name":"app","image":"registry.example/web:1.4.2","ports":[{"name":"http","containerPort":8080,"protocol":"TCP"}],` +
	`"env":[{"name":"LOG_LEVEL","value":"info"},{"name":"POD_NAME","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}},` +
	`{"name":"DATABASE_URL","valueFrom":{"secretKeyRef":{"name":"web-db","key":"url"}}}],` +
	`"resources":{"limits":{"memory":"512Mi"},"requests":{"cpu":"250m","memory":"256Mi"}},` +
	`"volumeMounts":[{"name":"config","mountPath":"/etc/web"},{"name":"cache","mountPath":"/var/cache/web"},` +
	`{"name":"kube-api-access-x7k2p","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],` +
	`"livenessProbe":{"httpGet":{"path":"/healthz","port":"http","scheme":"HTTP"},"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},` +
	`"readinessProbe":{"httpGet":{"path":"/readyz","port":"http","scheme":"HTTP"},"timeoutSeconds":1,"periodSeconds":5,"successThreshold":1,"failureThreshold":3},` +
	`"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent",` +
	`"securityContext":{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}}},` +
	`{"name":"envoy","image":"registry.example/envoy:1.31.0","args":["-c","/etc/envoy/envoy.yaml"],` +
	`"ports":[{"name":"admin","containerPort":9901,"protocol":"TCP"}],"resources":{"requests":{"cpu":"100m","memory":"64Mi"}},` +
	`"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"},` +
	`{"name":"log-shipper","image":"registry.example/fluent-bit:3.1","env":[{"name":"NODE_NAME","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"spec.nodeName"}}}],` +
	`"resources":{},"volumeMounts":[{"name":"cache","mountPath":"/var/cache/web","readOnly":true}],` +
	`"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],` +
	`"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"web",` +
	`"serviceAccount":"web","securityContext":{},"schedulerName":"default-scheduler",` +
	`"tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],` +
	`"priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},"status":{}}`

const (
	missingWarning = "eksguard [seccomp] pod has no seccomp profile; enforce would set spec.securityContext.seccompProfile.type=RuntimeDefault"
	initDBWarning  = `eksguard [seccomp] container "init-db" runs Unconfined; use RuntimeDefault or a Localhost profile`
	initDBDenial   = `eksguard denied this Pod: [seccomp] spec.initContainers[0].securityContext.seccompProfile.type: ` +
		`container "init-db" runs Unconfined; use RuntimeDefault or a Localhost profile`
	// minimalPod has no securityContext at all.
	minimalPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},` +
		`"spec":{"containers":[{"name":"app","image":"registry.example/web:1.0"}]}}`
	// unconfinedInitPod has an Unconfined init container and no pod-level profile.
	unconfinedInitPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"db","namespace":"shop"},"spec":{` +
		`"initContainers":[{"name":"init-db","image":"registry.example/db:1.0","securityContext":{"seccompProfile":{"type":"Unconfined"}}}],` +
		`"containers":[{"name":"db","image":"registry.example/db:1.0"}],"securityContext":{}}}`
)

// response is what the API server reads from an AdmissionReview response.
type response struct {
	Allowed  bool
	Code     int32
	Message  string
	Patch    string // the JSON patch; "" for none
	Warnings []string
}

var admitted = response{Allowed: true, Code: http.StatusOK}

func patched(patch string, warnings ...string) response {
	return response{Allowed: true, Code: http.StatusOK, Patch: patch, Warnings: warnings}
}

func warned(warnings ...string) response {
	return response{Allowed: true, Code: http.StatusOK, Warnings: warnings}
}

func badRequest(message string) response {
	return response{Code: http.StatusBadRequest, Message: message}
}

// withPolicy returns the rule's two handlers under the defaults changed by
// edit, as the API server calls them (admissionChain).
func withPolicy(t testing.TB, edit func(*config.Config)) admission.Handler {
	t.Helper()
	decider := ruletest.Decider(ruletest.CompilePolicy(t, edit))
	return admissionChain{mutating: NewHandler(decider), validating: NewFinalHandler(decider)}
}

// admissionChain answers as the API server does with the mutating and the
// validating entry: the mutation's patch is applied, the validating entry
// judges the patched pod, and its denial wins; warnings add up.
type admissionChain struct{ mutating, validating admission.Handler }

func (c admissionChain) Handle(ctx context.Context, req admission.Request) admission.Response {
	mutated := c.mutating.Handle(ctx, req)
	if !mutated.Allowed || mutated.Result.Code == http.StatusBadRequest {
		return mutated
	}
	if len(mutated.Patches) > 0 {
		ops, err := json.Marshal(mutated.Patches)
		if err != nil {
			panic(err)
		}
		patch, err := jsonpatchapply.DecodePatch(ops)
		if err != nil {
			panic(err)
		}
		if req.Object.Raw, err = patch.Apply(req.Object.Raw); err != nil {
			panic(err)
		}
	}
	final := c.validating.Handle(ctx, req)
	final.Warnings = append(mutated.Warnings, final.Warnings...)
	if final.Allowed {
		final.Patches = mutated.Patches
	}
	return final
}

type reviewRequest struct {
	kind      string // "Pod" unless set: v1 kind, or group/version/kind
	operation admissionv1.Operation
	namespace string
	dryRun    bool
	object    string
	// username is the requesting user; a controller's when empty.
	username string
	// subResource and oldObject, for UPDATEs.
	subResource, oldObject string
}

func (r reviewRequest) user() string {
	if r.username == "" {
		return "system:serviceaccount:kube-system:replicaset-controller"
	}
	return r.username
}

// reviewJSON is the AdmissionReview the API server would POST.
func (r reviewRequest) reviewJSON() string {
	group, version, kind := "", "v1", "Pod"
	if r.kind != "" {
		parts := strings.Split(r.kind, "/")
		group, version, kind = parts[0], parts[1], parts[2]
	}
	resource := strings.ToLower(kind) + "s"
	op, ns := r.operation, r.namespace
	if op == "" {
		op = admissionv1.Create
	}
	if ns == "" {
		ns = "shop"
	}
	req := map[string]any{
		"uid":       "0a1b2c3d-0000-4000-8000-000000000001",
		"kind":      map[string]string{"group": group, "version": version, "kind": kind},
		"resource":  map[string]string{"group": group, "version": version, "resource": resource},
		"namespace": ns,
		"operation": op,
		"userInfo":  map[string]any{"username": r.user()},
		"object":    json.RawMessage(r.object),
		"dryRun":    r.dryRun,
	}
	if r.subResource != "" {
		req["subResource"] = r.subResource
	}
	if r.oldObject != "" {
		req["oldObject"] = json.RawMessage(r.oldObject)
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// serve POSTs an AdmissionReview to the webhook as the API server does and
// returns the response it reads back.
func serve(t testing.TB, h admission.Handler, review string) response {
	t.Helper()
	rec := httptest.NewRecorder()
	httpReq := httptest.NewRequest(http.MethodPost, "/mutate", strings.NewReader(review))
	httpReq.Header.Set("Content-Type", "application/json")
	(&webhook.Admission{Handler: h}).ServeHTTP(rec, httpReq)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP status %d: %s", rec.Code, rec.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("decoding the AdmissionReview response: %v", err)
	}
	r := out.Response
	if r.UID != "0a1b2c3d-0000-4000-8000-000000000001" {
		t.Errorf("response UID %q does not echo the request", r.UID)
	}
	if (r.PatchType != nil) != (len(r.Patch) > 0) || (r.PatchType != nil && *r.PatchType != admissionv1.PatchTypeJSONPatch) {
		t.Errorf("patchType %v with patch %s", r.PatchType, r.Patch)
	}
	return response{Allowed: r.Allowed, Code: r.Result.Code, Message: r.Result.Message, Patch: string(r.Patch), Warnings: r.Warnings}
}

func TestHandler(t *testing.T) {
	seccompModes := func(mode, unconfined config.Mode) func(*config.Config) {
		return func(c *config.Config) { c.Rules.Seccomp = config.SeccompSettings{Mode: mode, Unconfined: unconfined} }
	}
	tests := []struct {
		name   string
		policy func(*config.Config)
		req    reviewRequest
		want   response
	}{
		{
			name: "enforce: pod as the API server sends it gets the profile added to its securityContext",
			req:  reviewRequest{object: apiServerPod},
			want: patched(patchIntoSecurityCtx),
		},
		{
			name: "enforce: pod without securityContext gets one",
			req:  reviewRequest{object: minimalPod},
			want: patched(patchNoSecurityContext),
		},
		{
			name: "enforce: a null securityContext is replaced",
			req: reviewRequest{object: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},` +
				`"spec":{"securityContext":null,"containers":[{"name":"app","image":"registry.example/web:1.0"}]}}`},
			want: patched(patchNoSecurityContext),
		},
		{
			name: "enforce: server-side dry run gets the same answer",
			req:  reviewRequest{object: apiServerPod, dryRun: true},
			want: patched(patchIntoSecurityCtx),
		},
		{
			name: "enforce: already mutated pod (reinvocation) is left alone",
			req: reviewRequest{object: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{` +
				`"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"app","image":"registry.example/web:1.0"}]}}`},
			want: admitted,
		},
		{
			name:   "warn: not mutated, the warning says what enforce would set",
			policy: seccompModes(config.ModeWarn, config.ModeWarn),
			req:    reviewRequest{object: apiServerPod},
			want:   warned(missingWarning),
		},
		{
			name:   "policy dryRun turns enforce into warn",
			policy: func(c *config.Config) { c.DryRun = true },
			req:    reviewRequest{object: apiServerPod},
			want:   warned(missingWarning),
		},
		{
			name:   "off: nothing",
			policy: seccompModes(config.ModeOff, config.ModeOff),
			req:    reviewRequest{object: unconfinedInitPod},
			want:   admitted,
		},
		{
			name: "Unconfined init container under the default (warn): patched and warned",
			req:  reviewRequest{object: unconfinedInitPod},
			want: patched(patchIntoSecurityCtx, initDBWarning),
		},
		{
			name:   "Unconfined enforced: denied, not patched",
			policy: seccompModes(config.ModeEnforce, config.ModeEnforce),
			req:    reviewRequest{object: unconfinedInitPod},
			want:   response{Code: http.StatusForbidden, Message: initDBDenial},
		},
		{
			name:   "Unconfined enforced while injection is off",
			policy: seccompModes(config.ModeOff, config.ModeEnforce),
			req:    reviewRequest{object: unconfinedInitPod},
			want:   response{Code: http.StatusForbidden, Message: initDBDenial},
		},
		{
			name:   "Unconfined off: only the patch",
			policy: seccompModes(config.ModeEnforce, config.ModeOff),
			req:    reviewRequest{object: unconfinedInitPod},
			want:   patched(patchIntoSecurityCtx),
		},
		{
			name:   "both findings warned",
			policy: seccompModes(config.ModeWarn, config.ModeWarn),
			req:    reviewRequest{object: unconfinedInitPod},
			want:   warned(missingWarning, initDBWarning),
		},
		{
			name:   "excluded namespace",
			policy: seccompModes(config.ModeEnforce, config.ModeEnforce),
			req: reviewRequest{namespace: "kube-system", object: strings.Replace(unconfinedInitPod,
				`"namespace":"shop"`, `"namespace":"kube-system"`, 1)},
			want: admitted,
		},
		{
			name: "the namespace comes from the request when the object has none",
			req: reviewRequest{namespace: ownNamespace, object: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},` +
				`"spec":{"containers":[{"name":"app","image":"registry.example/web:1.0"}]}}`},
			want: admitted,
		},
		{
			name: "exemption for the namespace",
			policy: func(c *config.Config) {
				c.Exemptions = []config.Exemption{{Name: "legacy-db", Rules: []config.RuleName{config.RuleSeccomp},
					Namespaces: []string{"shop"}, Reason: "vendor image needs ptrace"}}
			},
			req:  reviewRequest{object: unconfinedInitPod},
			want: admitted,
		},
		{
			name: "Windows pod",
			req: reviewRequest{object: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"iis"},` +
				`"spec":{"os":{"name":"windows"},"containers":[{"name":"iis","image":"mcr.microsoft.com/windows/servercore/iis"}]}}`},
			want: admitted,
		},
		{
			// noderestriction admitPodCreate: a node creates only mirror pods bound to itself.
			name: "mirror pod from its own node: left to the kubelet",
			req: reviewRequest{username: "system:node:node1", object: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"etcd-node1",` +
				`"annotations":{"kubernetes.io/config.mirror":"0f4e7c1b"}},"spec":{"nodeName":"node1","containers":[{"name":"etcd","image":"registry.k8s.io/etcd:3.6.4-0"}]}}`},
			want: admitted,
		},
		{
			name: "mirror annotation from anyone else: judged like any pod",
			req: reviewRequest{username: "alice", object: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"etcd-node1",` +
				`"annotations":{"kubernetes.io/config.mirror":"0f4e7c1b"}},"spec":{"nodeName":"node1","containers":[{"name":"etcd","image":"registry.k8s.io/etcd:3.6.4-0"}]}}`},
			want: patched(`[{"op":"add","path":"/spec/securityContext","value":{"seccompProfile":{"type":"RuntimeDefault"}}}]`),
		},
		{
			name: "mirror pod from another node: judged like any pod",
			req: reviewRequest{username: "system:node:node2", object: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"etcd-node1",` +
				`"annotations":{"kubernetes.io/config.mirror":"0f4e7c1b"}},"spec":{"nodeName":"node1","securityContext":{"seccompProfile":{"type":"Unconfined"}},` +
				`"containers":[{"name":"etcd","image":"registry.k8s.io/etcd:3.6.4-0"}]}}`},
			want: warned("eksguard [seccomp] pod runs Unconfined; use RuntimeDefault or a Localhost profile"),
		},
		{
			name: "enforce: a conflicting legacy annotation is denied instead of patched into an invalid pod",
			req: reviewRequest{object: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web",` +
				`"annotations":{"seccomp.security.alpha.kubernetes.io/pod":"unconfined"}},"spec":{"securityContext":{},` +
				`"containers":[{"name":"app","image":"registry.example/web:1.0"}]}}`},
			want: response{Code: http.StatusForbidden, Message: `eksguard denied this Pod: [seccomp] ` +
				`metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: ` +
				`remove legacy annotation seccomp.security.alpha.kubernetes.io/pod (it has no effect since Kubernetes 1.27) so RuntimeDefault can be set, or give every container its own profile`},
		},
		{
			name: "UPDATE is not this webhook's business",
			req:  reviewRequest{operation: admissionv1.Update, object: minimalPod},
			want: admitted,
		},
		{
			name: "another kind is refused",
			req:  reviewRequest{kind: "apps/v1/Deployment", object: `{"apiVersion":"apps/v1","kind":"Deployment"}`},
			want: badRequest("unsupported kind apps/v1, Kind=Deployment: this webhook serves v1 pods"),
		},
		{
			name: "no object",
			req:  reviewRequest{object: `null`},
			want: badRequest("decoding the Pod: the request has no object"),
		},
		{
			name: "object is not a Pod",
			req:  reviewRequest{object: `{"apiVersion":"v1","kind":"Pod","spec":{"containers":{"name":"app"}}}`},
			want: badRequest("decoding the Pod: json: cannot unmarshal object into Go struct field .spec.containers of type []seccomp.containerFields"),
		},
		{
			name: "object is not JSON object",
			req:  reviewRequest{object: `["app"]`},
			want: badRequest("decoding the Pod: json: cannot unmarshal array into Go value of type seccomp.podFields"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := serve(t, withPolicy(t, tc.policy), tc.req.reviewJSON())
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("response:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestHandlerMalformedObject covers bytes the AdmissionReview decoder would
// not let through but a direct caller might pass.
func TestHandlerMalformedObject(t *testing.T) {
	h := withPolicy(t, nil)
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"truncated", `{"apiVersion":"v1","kind":"Pod","spec":{`, "decoding the Pod: unexpected end of JSON input"},
		{"empty", ``, "decoding the Pod: the request has no object"},
		{"whitespace", " \n", "decoding the Pod: the request has no object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := ruletest.Req{GVK: podKind, Op: admissionv1.Create, Namespace: "shop", Object: tc.raw}.Request()
			resp := h.Handle(context.Background(), req)
			if resp.Allowed || resp.Result.Code != http.StatusBadRequest || resp.Result.Message != tc.want || len(resp.Patches) > 0 {
				t.Errorf("got allowed=%t code=%d message=%q patches=%v, want a 400 %q",
					resp.Allowed, resp.Result.Code, resp.Result.Message, resp.Patches, tc.want)
			}
		})
	}
}

// TestHandlerMetrics: a mutated pod is counted as such, so injection is
// visible in eksguard_admission_decisions_total.
func TestHandlerMetrics(t *testing.T) {
	counter := func(mode, outcome string) float64 {
		families, err := metrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"rule": "seccomp", "kind": "Pod", "mode": mode, "outcome": outcome}
		for _, f := range families {
			if f.GetName() != "eksguard_admission_decisions_total" {
				continue
			}
		metric:
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if want[l.GetName()] != l.GetValue() {
						continue metric
					}
				}
				return m.GetCounter().GetValue()
			}
		}
		return 0
	}
	for _, tc := range []struct {
		name          string
		policy        func(*config.Config)
		mode, outcome string
	}{
		{"enforce", nil, "enforce", decision.OutcomeMutated},
		{"warn", func(c *config.Config) { c.Rules.Seccomp.Mode = config.ModeWarn }, "warn", decision.OutcomeWarned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := counter(tc.mode, tc.outcome)
			serve(t, withPolicy(t, tc.policy), reviewRequest{object: minimalPod}.reviewJSON())
			if got := counter(tc.mode, tc.outcome) - before; got != 1 {
				t.Errorf("eksguard_admission_decisions_total{mode=%q,outcome=%q} rose by %v, want 1", tc.mode, tc.outcome, got)
			}
		})
	}
}

// TestHandlerPatchApplies applies the handler's patch to the very object it
// was sent, as the API server does, and sends the result again.
func TestHandlerPatchApplies(t *testing.T) {
	h := withPolicy(t, nil)
	for _, object := range []string{apiServerPod, minimalPod, unconfinedInitPod} {
		first := serve(t, h, reviewRequest{object: object}.reviewJSON())
		if first.Patch == "" {
			t.Fatalf("no patch for %s", object)
		}
		mutated := applyRaw(t, object, first.Patch)
		if again := serve(t, h, reviewRequest{object: mutated}.reviewJSON()); again.Patch != "" {
			t.Errorf("second pass patched again: %s", again.Patch)
		}
	}
}

func applyRaw(t testing.TB, object, patch string) string {
	t.Helper()
	p, err := jsonpatchapply.DecodePatch([]byte(patch))
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Apply([]byte(object))
	if err != nil {
		t.Fatalf("applying %s: %v", patch, err)
	}
	return string(bytes.TrimSpace(out))
}

// unreadableNamespaces fails every namespace read.
type unreadableNamespaces struct{ client.Reader }

func (unreadableNamespaces) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errors.New("connection refused")
}

// TestHandlerUndecided: when the decision cannot be made (namespace labels
// unreadable), enforce fails closed and a rule that only warns admits with
// a warning (decision.Undecided), whatever the webhook's failurePolicy.
func TestHandlerUndecided(t *testing.T) {
	review := reviewRequest{object: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},"spec":{"containers":[{"name":"app","image":"nginx"}]}}`}.reviewJSON()
	for _, tt := range []struct {
		name string
		edit func(*config.Config)
		want response
	}{
		{name: "enforce: fails closed", edit: func(c *config.Config) {},
			want: response{Code: http.StatusInternalServerError,
				Message: `eksguard could not decide on the seccomp profile: reading labels of namespace "shop": connection refused`}},
		{name: "warn: admitted with a warning", edit: func(c *config.Config) {
			c.Rules.Seccomp = config.SeccompSettings{Mode: config.ModeWarn, Unconfined: config.ModeWarn}
		},
			want: warned(`eksguard [seccomp] could not decide on the seccomp profile: reading labels of namespace "shop": connection refused`)},
		{name: "dry run: admitted with a warning", edit: func(c *config.Config) { c.DryRun = true },
			want: warned(`eksguard [seccomp] could not decide on the seccomp profile: reading labels of namespace "shop": connection refused`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			policies := ruletest.Decider(ruletest.CompilePolicy(t, func(c *config.Config) {
				tt.edit(c)
				// A namespace selector makes the decision read namespace labels.
				c.Scope.ExcludedNamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"skip": "yes"}}
			}))
			policies.Namespaces = unreadableNamespaces{}
			h := admissionChain{mutating: NewHandler(policies), validating: NewFinalHandler(policies)}
			if got := serve(t, h, review); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestEphemeralContainersHandler: kubectl debug adds an ephemeral container
// through the subresource; an Unconfined one is answered as the Unconfined
// setting says, and other pod UPDATEs are not this route's.
func TestEphemeralContainersHandler(t *testing.T) {
	const old = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},` +
		`"spec":{"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"app","image":"nginx"}]}}`
	const debugged = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},` +
		`"spec":{"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"app","image":"nginx"}],` +
		`"ephemeralContainers":[{"name":"debugger","image":"busybox","securityContext":{"seccompProfile":{"type":"Unconfined"}}}]}}`
	const detail = `ephemeral container "debugger" runs Unconfined; use RuntimeDefault or a Localhost profile`
	review := func(subResource string) string {
		return reviewRequest{operation: admissionv1.Update, subResource: subResource, object: debugged, oldObject: old}.reviewJSON()
	}
	for _, tt := range []struct {
		name        string
		unconfined  config.Mode
		subResource string
		want        response
	}{
		{name: "warn (default): admitted with a warning", unconfined: config.ModeWarn, subResource: "ephemeralcontainers",
			want: warned("eksguard [seccomp] " + detail)},
		{name: "enforce: denied", unconfined: config.ModeEnforce, subResource: "ephemeralcontainers",
			want: response{Code: http.StatusForbidden, Message: "eksguard denied this Pod: [seccomp] spec.ephemeralContainers[0].securityContext.seccompProfile.type: " + detail}},
		{name: "off: admitted", unconfined: config.ModeOff, subResource: "ephemeralcontainers", want: admitted},
		{name: "a pod UPDATE that is not the subresource", unconfined: config.ModeEnforce, want: admitted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := NewEphemeralContainersHandler(ruletest.Decider(ruletest.CompilePolicy(t, func(c *config.Config) { c.Rules.Seccomp.Unconfined = tt.unconfined })))
			if got := serve(t, h, review(tt.subResource)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestEntriesSplit: the mutating entry only patches (it never denies or
// warns, so that it can always fail open); the validating entry judges the
// pod as admitted, so a pod that reaches it without a profile under
// enforce (eksguard's mutation failed open, or a later webhook removed the
// profile) is denied.
func TestEntriesSplit(t *testing.T) {
	enforceAll := func(c *config.Config) {
		c.Rules.Seccomp = config.SeccompSettings{Mode: config.ModeEnforce, Unconfined: config.ModeEnforce}
	}
	decider := ruletest.Decider(ruletest.CompilePolicy(t, enforceAll))
	const patch = `[{"op":"add","path":"/spec/securityContext/seccompProfile","value":{"type":"RuntimeDefault"}}]`
	if got := serve(t, NewHandler(decider), reviewRequest{object: unconfinedInitPod}.reviewJSON()); !reflect.DeepEqual(got, patched(patch)) {
		t.Errorf("mutating entry on an Unconfined init container: %+v, want only the patch", got)
	}
	want := response{Code: http.StatusForbidden, Message: "eksguard denied this Pod: [seccomp] spec.securityContext.seccompProfile: " +
		"pod has no seccomp profile: eksguard's mutation did not apply (eksguard unreachable, or a later webhook removed it); " +
		"set spec.securityContext.seccompProfile.type: RuntimeDefault"}
	if got := serve(t, NewFinalHandler(decider), reviewRequest{object: minimalPod}.reviewJSON()); !reflect.DeepEqual(got, want) {
		t.Errorf("validating entry on a pod without a profile:\n got %+v\nwant %+v", got, want)
	}
}
