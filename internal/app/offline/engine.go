package offline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	jsonpatch "gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/manifest"
	"github.com/eksguard/eksguard/webhook"
	"github.com/eksguard/eksguard/webhook/admit"
	"github.com/eksguard/eksguard/webhook/decision"
	"github.com/eksguard/eksguard/webhook/netpol"
	"github.com/eksguard/eksguard/webhook/netpol/dataplane"
)

// Verdict is what the API server would do with an object eksguard sees.
type Verdict string

const (
	VerdictAdmitted Verdict = "admitted"
	VerdictMutated  Verdict = "mutated"
	VerdictWarned   Verdict = "warned"
	VerdictDenied   Verdict = "denied"
	// VerdictError: a webhook could not judge the object (e.g. a field of
	// the wrong type), as the API server would report it.
	VerdictError Verdict = "error"
	// VerdictSkipped: no eksguard webhook admits this kind.
	VerdictSkipped Verdict = "skipped"
)

// Result is eksguard's answer for one object, read from the admission
// responses of its webhooks.
type Result struct {
	Source     *manifest.Source `json:"source,omitempty"`
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Namespace  string           `json:"namespace,omitempty"`
	Name       string           `json:"name"`
	Verdict    Verdict          `json:"verdict"`
	// Denial is the 403 message, as kubectl shows it after "denied the request: ".
	Denial   string   `json:"denial,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Patches are the mutating webhook's JSON patch operations.
	Patches []jsonpatch.JsonPatchOperation `json:"patches,omitempty"`
	Error   string                         `json:"error,omitempty"`
	// Findings are every webhook's findings as data, in the order the API
	// server would call the webhooks; Denial, Warnings and Patches are
	// their renderings.
	Findings []decision.Finding `json:"findings,omitempty"`
}

// hook is one webhook endpoint as the server registers it.
type hook struct {
	path     string
	mutating bool
	handler  admit.Answerer
}

// Engine runs eksguard's admission handlers in-process, exactly as the
// webhook server registers them, on objects that are not (yet) in a
// cluster. The context the rules read (namespace labels, NetworkPolicies,
// ALB group members, what the data plane enforces) comes from a Store
// instead of the informer cache and the API server.
type Engine struct {
	policy *config.Policy
	hooks  map[schema.GroupVersionKind][]hook
}

// New wires the handlers of every route under policy, reading
// context from store. The store must hold every policy object before the
// call: the coverage index is built from it here.
func New(policy *config.Policy, store *Store) *Engine {
	decider := decision.Decider{Policy: config.NewStore(policy), Namespaces: store}
	index := netpol.NewIndex()
	store.indexPolicies(index)
	var dataPlane *dataplane.Holder
	if store.dataPlane != nil {
		dataPlane = &dataplane.Holder{}
		dataPlane.Store(store.dataPlane)
	}
	handlers := webhook.Handlers{
		Decider:        decider,
		Coverage:       &netpol.Checker{Decider: decider, Index: index, Live: store, DataPlane: dataPlane},
		Ingresses:      store,
		IngressClasses: store,
		ACK:            store,
		Gateways:       store,
	}
	hooks := map[schema.GroupVersionKind][]hook{}
	// Routes lists mutating webhooks first, as the API server calls them.
	for _, r := range webhook.Routes {
		h := r.Handler(handlers)
		for _, k := range r.Kinds {
			// A subresource kind shares its object's GVK: one hook per route.
			if r.Admits(k.GVK) && !k.Subresource() {
				hooks[k.GVK] = append(hooks[k.GVK], hook{path: r.Path, mutating: r.Mutating, handler: h})
			}
		}
	}
	return &Engine{policy: policy, hooks: hooks}
}

// Evaluate asks eksguard's webhooks about creating obj, in the API server's
// order: mutating webhooks first (their patches applied), then the
// validating ones on the mutated object. obj must carry its namespace.
func (e *Engine) Evaluate(ctx context.Context, gvk schema.GroupVersionKind, obj client.Object) Result {
	result := Result{
		APIVersion: gvk.GroupVersion().String(),
		Kind:       gvk.Kind,
		Namespace:  obj.GetNamespace(),
		Name:       admit.NameOf(obj),
		Verdict:    VerdictAdmitted,
	}
	hooks, ok := e.hooks[gvk]
	if !ok {
		result.Verdict = VerdictSkipped
		return result
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	raw, err := json.Marshal(obj)
	if err != nil {
		return result.failed(fmt.Errorf("encoding the %s: %w", gvk.Kind, err))
	}
	for _, h := range hooks {
		answer := h.handler.Answer(ctx, admissionRequest(gvk, obj, raw))
		if f := answer.Failure; f != nil {
			return result.failed(fmt.Errorf("webhook %s: %d %s", h.path, f.Code, f.Message))
		}
		result.Findings = append(result.Findings, answer.Findings...)
		result.Warnings = append(result.Warnings, answer.Warnings()...)
		if answer.Denied() {
			result.Verdict, result.Denial = VerdictDenied, answer.Denial()
			result.Patches = nil
			return result
		}
		if patches := answer.Patches(); h.mutating && len(patches) > 0 {
			result.Patches = append(result.Patches, patches...)
			if raw, err = applyPatches(raw, patches); err != nil {
				return result.failed(fmt.Errorf("applying the patch of webhook %s: %w", h.path, err))
			}
		}
	}
	switch {
	case len(result.Patches) > 0:
		result.Verdict = VerdictMutated
	case len(result.Warnings) > 0:
		result.Verdict = VerdictWarned
	}
	return result
}

// applyPatches applies JSON patch operations to doc, as the API server applies a webhook's patch.
func applyPatches(doc []byte, ops []jsonpatch.JsonPatchOperation) ([]byte, error) {
	data, err := json.Marshal(ops)
	if err != nil {
		return nil, err
	}
	patch, err := jsonpatchapply.DecodePatch(data)
	if err != nil {
		return nil, err
	}
	return patch.Apply(doc)
}

// failed is r for an object a webhook could not judge: the warnings of the
// webhooks before stay, nothing is denied or patched.
func (r Result) failed(err error) Result {
	r.Verdict, r.Error, r.Denial, r.Patches = VerdictError, err.Error(), "", nil
	r.Findings = slices.DeleteFunc(r.Findings, func(f decision.Finding) bool { return f.Outcome != decision.OutcomeWarned })
	return r
}

// createdResources name the resource of each kind a route admits on CREATE.
var createdResources = webhook.CreatedResources()

// admissionRequest is the request the API server sends for a CREATE of obj.
func admissionRequest(gvk schema.GroupVersionKind, obj client.Object, raw []byte) admission.Request {
	kind := metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind}
	resource := metav1.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: createdResources[gvk]}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:             types.UID("eksguard-offline"),
		Kind:            kind,
		Resource:        resource,
		RequestKind:     &kind,
		RequestResource: &resource,
		Name:            obj.GetName(),
		Namespace:       obj.GetNamespace(),
		Operation:       admissionv1.Create,
		Object:          runtime.RawExtension{Raw: raw},
	}}
}
