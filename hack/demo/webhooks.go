package main

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/eksguard/eksguard/internal/server"
	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
	"github.com/eksguard/eksguard/webhook/seccomp"
)

// The webhook configurations as the chart installs them (one entry per
// path, eksguard's and kube-system's namespaces left out, enforcing rules
// failing closed, the mutation and the warn-only check failing open). envtest
// points each service reference at the in-process server.

func rule(group, resource string, ops ...admissionregistrationv1.OperationType) admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{
		Operations: ops,
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{"v1"},
			Resources: []string{resource}, Scope: ptr.To(admissionregistrationv1.NamespacedScope),
		},
	}
}

var (
	create = admissionregistrationv1.Create
	update = admissionregistrationv1.Update
	remove = admissionregistrationv1.Delete
)

func clientConfig(path string) admissionregistrationv1.WebhookClientConfig {
	return admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
		Name: "eksguard", Namespace: server.DefaultNamespace, Path: ptr.To(path),
	}}
}

var notSystemNamespaces = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
	Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpNotIn,
	Values: []string{"kube-system", server.DefaultNamespace},
}}}

func mutatingWebhooks() []*admissionregistrationv1.MutatingWebhookConfiguration {
	return []*admissionregistrationv1.MutatingWebhookConfiguration{{
		ObjectMeta: metav1.ObjectMeta{Name: "eksguard"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "seccomp.eksguard.io",
			ClientConfig:            clientConfig(seccomp.Path),
			Rules:                   []admissionregistrationv1.RuleWithOperations{rule("", "pods", create)},
			FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
			ReinvocationPolicy:      ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy),
			NamespaceSelector:       notSystemNamespaces,
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](5),
		}},
	}}
}

func validatingWebhooks() []*admissionregistrationv1.ValidatingWebhookConfiguration {
	hook := func(name, path string, failure admissionregistrationv1.FailurePolicyType, rules ...admissionregistrationv1.RuleWithOperations) admissionregistrationv1.ValidatingWebhook {
		return admissionregistrationv1.ValidatingWebhook{
			Name:                    name,
			ClientConfig:            clientConfig(path),
			Rules:                   rules,
			FailurePolicy:           ptr.To(failure),
			NamespaceSelector:       notSystemNamespaces,
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](5),
		}
	}
	fail, ignore := admissionregistrationv1.Fail, admissionregistrationv1.Ignore
	return []*admissionregistrationv1.ValidatingWebhookConfiguration{{
		ObjectMeta: metav1.ObjectMeta{Name: "eksguard"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{
			hook("networkpolicy.pods.eksguard.io", netpol.PodPath, fail, rule("", "pods", create, update)),
			hook("networkpolicy.workloads.eksguard.io", netpol.WorkloadPath, fail,
				rule("apps", "deployments", create, update), rule("apps", "statefulsets", create, update),
				rule("apps", "daemonsets", create, update), rule("apps", "replicasets", create, update),
				rule("", "replicationcontrollers", create, update),
				rule("batch", "jobs", create, update), rule("batch", "cronjobs", create, update)),
			hook("networkpolicy.networkpolicies.eksguard.io", netpol.NetworkPolicyPath, ignore,
				rule("networking.k8s.io", "networkpolicies", update, remove)),
			hook("loadbalancertls.services.eksguard.io", lbtls.ServicePath, fail, rule("", "services", create, update)),
			hook("loadbalancertls.ingresses.eksguard.io", lbtls.IngressPath, fail, rule("networking.k8s.io", "ingresses", create, update)),
		},
	}}
}
