package seccomp

// The seccomp mutation as a MutatingAdmissionPolicy (admissionregistration
// v1, Kubernetes 1.36+, KEP-3962): the API server applies it in-process, so
// pods get RuntimeDefault without a call to eksguard, also while eksguard is
// down. It renders exactly what the webhook does (Check and the handler's
// skips) and the policy in force (scope, exemptions, mode, dry run) into
// CEL; the webhook's own entry is called only for pods without a pod-level
// profile, so a pod the admission policy handled never reaches it.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/eksguard/eksguard/config"
)

// AdmissionPolicyMutation is the one mutation eksguard's admission policy
// makes: the webhook's own patch, the pod-level RuntimeDefault profile. A
// JSON patch, not an apply configuration: the API server applies it
// without a structured merge, and always has spec.securityContext to add
// it to (SetDefaults_PodSpec makes one before admission). The chart's
// ValidatingAdmissionPolicy holds eksguard's token to exactly this
// expression.
const AdmissionPolicyMutation = `[JSONPatch{op: "add", path: "/spec/securityContext/seccompProfile", value: Object.spec.securityContext.seccompProfile{type: "RuntimeDefault"}}]`

// PatchableConditions hold for every pod Check can patch: without a
// pod-level profile, not Windows (the API rejects seccomp fields there),
// and without a legacy annotation other than RuntimeDefault (the field
// would contradict it). The mutating webhook entry is called only for
// such pods, and the admission policy applies only to them, so a pod the
// policy has given its profile never reaches the webhook.
var PatchableConditions = []admissionregistrationv1.MatchCondition{
	{Name: "no-pod-seccomp-profile", Expression: "!has(object.spec.securityContext) || !has(object.spec.securityContext.seccompProfile)"},
	{Name: "linux-pod", Expression: "object.spec.?os.?name.orValue('') != 'windows'"},
	{Name: "no-conflicting-legacy-annotation", Expression: fmt.Sprintf("!(%s in object.metadata.?annotations.orValue({})) || object.metadata.annotations[%s] in [%s, %s]",
		quote(corev1.SeccompPodAnnotationKey), quote(corev1.SeccompPodAnnotationKey), quote(corev1.SeccompProfileRuntimeDefault), quote(corev1.DeprecatedSeccompProfileDockerDefault))},
}

// AdmissionPolicy is the rendering of the policy in force.
type AdmissionPolicy struct {
	Policy *admissionregistrationv1.MutatingAdmissionPolicy
	// Binding is nil when nothing is to be injected (seccomp not enforced,
	// or the policy's dry run): the webhook then warns as before.
	Binding *admissionregistrationv1.MutatingAdmissionPolicyBinding
	// Until is when an exemption expires and the rendering changes; zero:
	// never.
	Until time.Time
}

// RenderAdmissionPolicy renders p, at now, as the admission policy and
// binding named name.
func RenderAdmissionPolicy(p *config.Policy, name string, now time.Time) AdmissionPolicy {
	conditions := append(append([]admissionregistrationv1.MatchCondition{}, PatchableConditions...),
		admissionregistrationv1.MatchCondition{Name: "has-containers", Expression: "size(object.spec.?containers.orValue([])) > 0"},
		// The handler: a node's mirror of its static pod is the kubelet's.
		admissionregistrationv1.MatchCondition{Name: "not-a-mirror-pod-from-its-node", Expression: fmt.Sprintf(
			"!(%s in object.metadata.?annotations.orValue({}) && object.spec.?nodeName.orValue('') != '' && request.userInfo.username == %s + object.spec.nodeName)",
			quote(corev1.MirrorPodAnnotationKey), quote(nodeUserPrefix))},
	)
	// The policy's scope and exemptions (config.Policy.Decide).
	namespaceLabels := "namespaceObject.metadata.?labels.orValue({})"
	if sel := p.Config.Scope.ExcludedNamespaceSelector; sel != nil {
		conditions = append(conditions, admissionregistrationv1.MatchCondition{Name: "not-excluded-by-label", Expression: "!(" + selectorCEL(sel, namespaceLabels) + ")"})
	}
	exemptions, until := p.ExemptionsOf(config.RuleSeccomp, now)
	for i, e := range exemptions {
		where := namespacesCEL(e.Namespaces, e.NamespaceSelector, namespaceLabels)
		if e.ObjectSelector != nil {
			where = "(" + where + ") && " + selectorCEL(e.ObjectSelector, "object.metadata.?labels.orValue({})")
		}
		conditions = append(conditions, admissionregistrationv1.MatchCondition{Name: fmt.Sprintf("not-exempted-%d", i), Expression: "!(" + where + ")"})
	}
	if a := p.Config.AnnotationExemptions; len(a.Namespaces) > 0 || a.NamespaceSelector != nil {
		conditions = append(conditions, admissionregistrationv1.MatchCondition{Name: "not-exempted-by-annotation", Expression: fmt.Sprintf(
			"!((%s) && %s in object.metadata.?annotations.orValue({}) && object.metadata.annotations[%s].split(',').exists(r, r.trim() == %s))",
			namespacesCEL(a.Namespaces, a.NamespaceSelector, namespaceLabels), quote(config.ExemptAnnotation), quote(config.ExemptAnnotation), quote(string(config.RuleSeccomp)))})
	}
	policy := &admissionregistrationv1.MutatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "MutatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{
				MatchPolicy:       ptr.To(admissionregistrationv1.Equivalent),
				NamespaceSelector: outOfScopeByName(p.ExcludedNamespaces()),
				ObjectSelector:    &metav1.LabelSelector{},
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"},
						Scope: ptr.To(admissionregistrationv1.NamespacedScope)},
				}}},
			},
			MatchConditions: conditions,
			Mutations: []admissionregistrationv1.Mutation{{
				PatchType: admissionregistrationv1.PatchTypeJSONPatch,
				JSONPatch: &admissionregistrationv1.JSONPatch{Expression: AdmissionPolicyMutation},
			}},
			// Like the webhook's mutation: a failure admits the pod, and the
			// final validating entry judges it.
			FailurePolicy:      ptr.To(admissionregistrationv1.Ignore),
			ReinvocationPolicy: admissionregistrationv1.IfNeededReinvocationPolicy,
		},
	}
	out := AdmissionPolicy{Policy: policy, Until: until}
	if p.Config.Rules.Seccomp.Mode == config.ModeEnforce && !p.Config.DryRun {
		out.Binding = &admissionregistrationv1.MutatingAdmissionPolicyBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "MutatingAdmissionPolicyBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: name},
		}
	}
	return out
}

// outOfScopeByName selects the namespaces not named: the API server never
// evaluates the rest of the policy in those.
func outOfScopeByName(names []string) *metav1.LabelSelector {
	if len(names) == 0 {
		return &metav1.LabelSelector{}
	}
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpNotIn, Values: names,
	}}}
}

// namespacesCEL: the namespace is one of names, or its labels match sel
// (config's either-is-enough; a nil sel matches nothing).
func namespacesCEL(names []string, sel *metav1.LabelSelector, labels string) string {
	var parts []string
	if len(names) > 0 {
		parts = append(parts, "request.namespace in "+listCEL(names))
	}
	if sel != nil {
		parts = append(parts, "("+selectorCEL(sel, labels)+")")
	}
	if len(parts) == 0 {
		return "false"
	}
	return strings.Join(parts, " || ")
}

// selectorCEL is a label selector over the label map labels, as
// metav1.LabelSelectorAsSelector reads it: every term must hold, an empty
// selector matches everything.
func selectorCEL(sel *metav1.LabelSelector, labels string) string {
	var terms []string
	keys := make([]string, 0, len(sel.MatchLabels))
	for k := range sel.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		terms = append(terms, fmt.Sprintf("(%s in %s && %s[%s] == %s)", quote(k), labels, labels, quote(k), quote(sel.MatchLabels[k])))
	}
	for _, r := range sel.MatchExpressions {
		k := quote(r.Key)
		switch r.Operator {
		case metav1.LabelSelectorOpIn:
			terms = append(terms, fmt.Sprintf("(%s in %s && %s[%s] in %s)", k, labels, labels, k, listCEL(r.Values)))
		case metav1.LabelSelectorOpNotIn:
			terms = append(terms, fmt.Sprintf("(!(%s in %s) || !(%s[%s] in %s))", k, labels, labels, k, listCEL(r.Values)))
		case metav1.LabelSelectorOpExists:
			terms = append(terms, fmt.Sprintf("(%s in %s)", k, labels))
		case metav1.LabelSelectorOpDoesNotExist:
			terms = append(terms, fmt.Sprintf("!(%s in %s)", k, labels))
		default:
			// config validation rejects other operators; match nothing.
			terms = append(terms, "false")
		}
	}
	if len(terms) == 0 {
		return "true"
	}
	return strings.Join(terms, " && ")
}

func listCEL(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = quote(v)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// quote is a CEL string literal (CEL reads Go's double-quoted escapes).
func quote(s string) string { return strconv.Quote(s) }
