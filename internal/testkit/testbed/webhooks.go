package testbed

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/webhook"
)

// ConfigurationName names the test bed's two configurations; the chart
// tests install the chart's own next to them.
const ConfigurationName = "eksguard-testbed"

// Timeouts of the test bed's webhook entries.
const (
	mutatingTimeoutSeconds   = 3
	validatingTimeoutSeconds = 5
)

// WebhookInstallOptions registers eksguard's webhook configurations
// (WebhookConfigurations), plus those in the YAML files of extraPaths, for a
// server on loopback; envtest points each clientConfig.service at that server.
func WebhookInstallOptions(extraPaths ...string) envtest.WebhookInstallOptions {
	mutating, validating := WebhookConfigurations()
	return envtest.WebhookInstallOptions{
		MutatingWebhooks:   []*admissionregistrationv1.MutatingWebhookConfiguration{mutating},
		ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{validating},
		Paths:              extraPaths,
		LocalServingHost:   "127.0.0.1",
	}
}

// WebhookConfigurations are eksguard's two webhook configurations, built
// from webhook.Routes and shaped like the chart's: never called for
// kube-system or eksguard's own namespace, each entry with the failure
// policy the built-in defaults ask for (the server keeps it in line after).
func WebhookConfigurations() (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	excluded := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn,
		Values: []string{"kube-system", server.DefaultNamespace},
	}}}
	clientConfig := func(path string) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
			Name: server.DefaultWebhookServiceName, Namespace: server.DefaultNamespace, Path: ptr.To(path),
		}}
	}
	mutating := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: ConfigurationName}}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: ConfigurationName}}
	defaults := config.DefaultPolicy(server.DefaultNamespace)
	for _, r := range webhook.Routes {
		if r.Mutating {
			mutating.Webhooks = append(mutating.Webhooks, admissionregistrationv1.MutatingWebhook{
				Name: r.Name, ClientConfig: clientConfig(r.Path), Rules: r.Rules(),
				FailurePolicy: ptr.To(admissionregistrationv1.Ignore), MatchPolicy: ptr.To(admissionregistrationv1.Equivalent),
				NamespaceSelector: excluded, SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
				TimeoutSeconds: ptr.To[int32](mutatingTimeoutSeconds), AdmissionReviewVersions: []string{"v1"},
				ReinvocationPolicy: ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy), MatchConditions: r.MatchConditions,
			})
			continue
		}
		failure := r.FailurePolicy(defaults, admissionregistrationv1.Fail)
		validating.Webhooks = append(validating.Webhooks, admissionregistrationv1.ValidatingWebhook{
			Name: r.Name, ClientConfig: clientConfig(r.Path), Rules: r.Rules(),
			FailurePolicy: ptr.To(failure), MatchPolicy: ptr.To(admissionregistrationv1.Equivalent),
			NamespaceSelector: excluded, SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds: ptr.To[int32](validatingTimeoutSeconds), AdmissionReviewVersions: []string{"v1"},
			MatchConditions: r.MatchConditions,
		})
	}
	return mutating, validating
}
