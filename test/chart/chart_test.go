package chart

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/certs"
	"github.com/eksguard/eksguard/internal/app/cli"
	"github.com/eksguard/eksguard/internal/testkit/charttest"
	"github.com/eksguard/eksguard/webhook"
	"github.com/eksguard/eksguard/webhook/seccomp"
)

// chart is the chart under test, from test/chart.
var chart = charttest.Chart{Dir: filepath.Join("..", "..", "charts", "eksguard"), RepoRoot: filepath.Join("..", "..")}

const (
	chartRelease   = charttest.Release
	chartNamespace = charttest.Namespace
)

// renderChart renders the chart, failing the test on a helm error.
func renderChart(t *testing.T, release, namespace, values string) charttest.Rendered {
	t.Helper()
	return chart.Render(t, release, namespace, values)
}

func TestChartLint(t *testing.T) {
	for _, values := range []string{"{}", "certManager: {enabled: true}\nmetrics: {serviceMonitor: {enabled: true}}\n"} {
		if _, err := chart.Run(t, "lint", "--strict", chart.Dir, "--kube-version", charttest.KubeVersion, "-f", charttest.ValuesFile(t, values)); err != nil {
			t.Errorf("values %q: %v", values, err)
		}
	}
}

func TestChartDefaultObjects(t *testing.T) {
	r := renderChart(t, chartRelease, chartNamespace, "{}")
	charttest.DeepEqual(t, "charttest.Rendered objects", r.IDs(), []string{
		"ClusterRole/eksguard",
		"ClusterRole/eksguard-metrics-reader",
		"ClusterRoleBinding/eksguard",
		"ConfigMap/eksguard-policy",
		"Deployment/eksguard",
		"MutatingWebhookConfiguration/eksguard",
		"NetworkPolicy/eksguard",
		"PodDisruptionBudget/eksguard",
		"Role/eksguard",
		"Role/eksguard-data-plane",
		"RoleBinding/eksguard",
		"RoleBinding/eksguard-data-plane",
		"Secret/eksguard-webhook-tls",
		"Service/eksguard",
		"ServiceAccount/eksguard",
		"ValidatingAdmissionPolicy/eksguard-seccomp-admission-policy",
		"ValidatingAdmissionPolicy/eksguard-webhook-configurations",
		"ValidatingAdmissionPolicyBinding/eksguard-seccomp-admission-policy",
		"ValidatingAdmissionPolicyBinding/eksguard-webhook-configurations",
		"ValidatingWebhookConfiguration/eksguard",
	})
	checkNamespaces(t, r, chartNamespace)

	var secret corev1.Secret
	r.Get(t, "Secret", "eksguard-webhook-tls", &secret)
	if len(secret.Data)+len(secret.StringData) != 0 {
		t.Errorf("the certificate Secret renders data %v; eksguard fills it and upgrades must keep it", secret.Data)
	}

	var pdb policyv1.PodDisruptionBudget
	r.Get(t, "PodDisruptionBudget", "eksguard", &pdb)
	charttest.DeepEqual(t, "PDB maxUnavailable", pdb.Spec.MaxUnavailable, ptr.To(intstr.FromInt32(1)))
	charttest.DeepEqual(t, "PDB minAvailable", pdb.Spec.MinAvailable, nil)
	charttest.DeepEqual(t, "PDB selector", pdb.Spec.Selector.MatchLabels, map[string]string{
		"app.kubernetes.io/name": "eksguard", "app.kubernetes.io/instance": "eksguard",
	})

	var svc corev1.Service
	r.Get(t, "Service", "eksguard", &svc)
	charttest.DeepEqual(t, "Service ports", svc.Spec.Ports, []corev1.ServicePort{
		{Name: "https", Port: 443, TargetPort: intstr.FromString("webhook"), Protocol: corev1.ProtocolTCP},
		{Name: "metrics", Port: 8080, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP},
	})

	var np networkingv1.NetworkPolicy
	r.Get(t, "NetworkPolicy", "eksguard", &np)
	// Default deny, then DNS, then the traffic eksguard needs.
	charttest.DeepEqual(t, "NetworkPolicy policyTypes", np.Spec.PolicyTypes,
		[]networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress})
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	charttest.DeepEqual(t, "NetworkPolicy ingress", np.Spec.Ingress, []networkingv1.NetworkPolicyIngressRule{
		{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(9443)), Protocol: &tcp}}},
		{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(8080)), Protocol: &tcp}}},
	})
	egress := []networkingv1.NetworkPolicyEgressRule{
		{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(53)), Protocol: &udp}, {Port: ptr.To(intstr.FromInt32(53)), Protocol: &tcp}}},
		{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(443)), Protocol: &tcp}}},
	}
	charttest.DeepEqual(t, "NetworkPolicy egress", np.Spec.Egress, egress)
	charttest.DeepEqual(t, "NetworkPolicy podSelector", np.Spec.PodSelector.MatchLabels, pdb.Spec.Selector.MatchLabels)

	// The report Job's pods get the same egress and no ingress.
	reports := renderChart(t, chartRelease, chartNamespace, "reports: {enabled: true}")
	var rnp networkingv1.NetworkPolicy
	reports.Get(t, "NetworkPolicy", "eksguard-reports", &rnp)
	charttest.DeepEqual(t, "report NetworkPolicy egress", rnp.Spec.Egress, egress)
	charttest.DeepEqual(t, "report NetworkPolicy ingress", rnp.Spec.Ingress, []networkingv1.NetworkPolicyIngressRule(nil))
	var job batchv1.CronJob
	reports.Get(t, "CronJob", "eksguard-reports", &job)
	for k, v := range rnp.Spec.PodSelector.MatchLabels {
		if job.Spec.JobTemplate.Spec.Template.Labels[k] != v {
			t.Errorf("the report NetworkPolicy selects %s=%s, which the report pods do not carry", k, v)
		}
	}
}

// servingPair is what the server reads from its certificate directory.
var servingPair = []corev1.KeyToPath{{Key: certs.CertFile, Path: certs.CertFile}, {Key: certs.KeyFile, Path: certs.KeyFile}}

func TestChartDeployment(t *testing.T) {
	r := renderChart(t, chartRelease, chartNamespace, "{}")
	var d appsv1.Deployment
	r.Get(t, "Deployment", "eksguard", &d)

	charttest.DeepEqual(t, "replicas", d.Spec.Replicas, ptr.To[int32](3))
	charttest.DeepEqual(t, "rolling update", d.Spec.Strategy.RollingUpdate, &appsv1.RollingUpdateDeployment{
		MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1)),
	})
	pod := d.Spec.Template.Spec
	charttest.DeepEqual(t, "priorityClassName", pod.PriorityClassName, "system-cluster-critical")
	charttest.DeepEqual(t, "serviceAccountName", pod.ServiceAccountName, "eksguard")
	charttest.DeepEqual(t, "hostNetwork", pod.HostNetwork, false)

	// The pod passes Pod Security Standards "restricted", as evaluated by
	// the API server's own Pod Security admission code.
	evaluator, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range evaluator.EvaluatePod(api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()},
		&d.Spec.Template.ObjectMeta, &pod) {
		if !res.Allowed {
			t.Errorf("Pod Security Standards restricted: %s: %s", res.ForbiddenReason, res.ForbiddenDetail)
		}
	}
	charttest.DeepEqual(t, "pod securityContext", pod.SecurityContext, &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](65532),
		RunAsGroup:     ptr.To[int64](65532),
		FSGroup:        ptr.To[int64](65532),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	})

	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	charttest.DeepEqual(t, "image", c.Image, "ghcr.io/eksguard/eksguard:0.1.0")
	charttest.DeepEqual(t, "container securityContext", c.SecurityContext, &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Privileged:               ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	})
	charttest.DeepEqual(t, "args", c.Args, []string{
		"serve",
		"--webhook-port=9443",
		"--cert-dir=/etc/eksguard/tls",
		"--tls-min-version=1.3",
		"--enable-http2=false",
		"--max-connections=512",
		"--drain-period=5s",
		"--memory-limit-ratio=0.9",
		"--metrics-bind-address=:8080",
		"--metrics-secure=true",
		"--health-probe-bind-address=:8081",
		"--policy-configmap-namespace=eksguard-system",
		"--policy-configmap-name=eksguard-policy",
		"--webhook-configuration-name=eksguard",
		"--reconcile-failure-policy=true",
		"--seccomp-admission-policy=true",
		"--enforcing-failure-policy=Fail",
		"--cert-rotation=true",
		"--cert-secret-name=eksguard-webhook-tls",
		"--webhook-service-name=eksguard",
		"--zap-log-level=info",
		"--zap-encoder=json",
	})
	charttest.DeepEqual(t, "liveness probe", c.LivenessProbe.HTTPGet, &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("health")})
	charttest.DeepEqual(t, "readiness probe", c.ReadinessProbe.HTTPGet, &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("health")})
	charttest.DeepEqual(t, "preStop", c.Lifecycle, &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}})
	charttest.DeepEqual(t, "ports", c.Ports, []corev1.ContainerPort{
		{Name: "webhook", ContainerPort: 9443, Protocol: corev1.ProtocolTCP},
		{Name: "metrics", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
		{Name: "health", ContainerPort: 8081, Protocol: corev1.ProtocolTCP},
	})
	charttest.DeepEqual(t, "requests", c.Resources.Requests.Cpu().String()+"/"+c.Resources.Requests.Memory().String(), "100m/128Mi")
	charttest.DeepEqual(t, "memory limit", c.Resources.Limits.Memory().String(), "384Mi")
	charttest.DeepEqual(t, "env", c.Env, []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"},
	}}, {Name: cli.MemoryLimitEnv, ValueFrom: &corev1.EnvVarSource{
		ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"},
	}}})
	charttest.DeepEqual(t, "volume mounts", c.VolumeMounts, []corev1.VolumeMount{{Name: "tls", MountPath: "/etc/eksguard/tls", ReadOnly: true}})
	// The serving pair only: the CA key stays off the node's disk. The
	// Secret starts empty (eksguard fills it), so the volume is optional.
	charttest.DeepEqual(t, "volumes", pod.Volumes, []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{
		Secret: &corev1.SecretVolumeSource{SecretName: "eksguard-webhook-tls", DefaultMode: ptr.To[int32](0o440),
			Items: servingPair, Optional: ptr.To(true)},
	}}})

	selector := &metav1.LabelSelector{MatchLabels: map[string]string{
		"app.kubernetes.io/name": "eksguard", "app.kubernetes.io/instance": "eksguard",
	}}
	honor := corev1.NodeInclusionPolicyHonor
	charttest.DeepEqual(t, "topology spread", pod.TopologySpreadConstraints, []corev1.TopologySpreadConstraint{
		{
			MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.DoNotSchedule,
			NodeAffinityPolicy: &honor, NodeTaintsPolicy: &honor, MatchLabelKeys: []string{"pod-template-hash"}, LabelSelector: selector,
		},
		{
			MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway,
			NodeAffinityPolicy: &honor, NodeTaintsPolicy: &honor, MatchLabelKeys: []string{"pod-template-hash"}, LabelSelector: selector,
		},
	})
	charttest.DeepEqual(t, "nodeSelector", pod.NodeSelector, map[string]string{"kubernetes.io/os": "linux"})
	if _, ok := d.Spec.Template.Annotations["checksum/config"]; ok {
		t.Errorf("the pod template has a checksum of the policy: a policy change would restart the webhook")
	}
}

// TestChartWebhookConfigurations checks every field of every webhook entry
// with the default values.
func TestChartWebhookConfigurations(t *testing.T) {
	r := renderChart(t, chartRelease, chartNamespace, "{}")
	excluded := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn,
		Values: []string{"eksguard-system", "kube-system", "kube-public", "kube-node-lease"},
	}}}
	clientConfig := func(path string) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
			Namespace: "eksguard-system", Name: "eksguard", Path: ptr.To(path), Port: ptr.To[int32](443),
		}}
	}
	none := admissionregistrationv1.SideEffectClassNone
	equivalent := admissionregistrationv1.Equivalent
	ignore := admissionregistrationv1.Ignore

	// Every entry as the route table says, with the chart's settings: with
	// the default values the NetworkPolicy and TLS rules warn, so their
	// entries fail open; seccomp enforces, so its validating entry fails
	// closed.
	var wantMutating []admissionregistrationv1.MutatingWebhook
	var wantValidating []admissionregistrationv1.ValidatingWebhook
	for _, route := range webhook.Routes {
		if route.Mutating {
			wantMutating = append(wantMutating, admissionregistrationv1.MutatingWebhook{
				Name: route.Name, ClientConfig: clientConfig(route.Path), Rules: route.Rules(), MatchConditions: route.MatchConditions,
				FailurePolicy: &ignore, MatchPolicy: &equivalent, NamespaceSelector: excluded, SideEffects: &none,
				TimeoutSeconds: ptr.To[int32](3), AdmissionReviewVersions: []string{"v1"},
				ReinvocationPolicy: ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy),
			})
			continue
		}
		failurePolicy := &ignore
		if route == webhook.SeccompFinalPods {
			failurePolicy = ptr.To(admissionregistrationv1.Fail)
		}
		wantValidating = append(wantValidating, admissionregistrationv1.ValidatingWebhook{
			Name: route.Name, ClientConfig: clientConfig(route.Path), Rules: route.Rules(), MatchConditions: route.MatchConditions,
			FailurePolicy: failurePolicy, MatchPolicy: &equivalent, NamespaceSelector: excluded, SideEffects: &none,
			TimeoutSeconds: ptr.To[int32](3), AdmissionReviewVersions: []string{"v1"},
		})
	}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	r.Get(t, "MutatingWebhookConfiguration", "eksguard", &m)
	charttest.DeepEqual(t, "mutating webhooks", m.Webhooks, wantMutating)
	charttest.DeepEqual(t, "mutating annotations", m.Annotations, nil)
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.Get(t, "ValidatingWebhookConfiguration", "eksguard", &v)
	charttest.DeepEqual(t, "validating webhooks", v.Webhooks, wantValidating)
}

// TestChartFailurePolicies: an entry fails closed only when its rule
// enforces and no dry run is on.
func TestChartFailurePolicies(t *testing.T) {
	const fail, ignore = admissionregistrationv1.Fail, admissionregistrationv1.Ignore
	tests := []struct {
		name   string
		values string
		want   map[string]admissionregistrationv1.FailurePolicyType
	}{
		{
			name:   "defaults: NetworkPolicy and TLS rules warn",
			values: "{}",
			want: map[string]admissionregistrationv1.FailurePolicyType{
				charttest.SeccompWebhook: ignore, charttest.SeccompFinalWebhook: fail, charttest.PodNetpolWebhook: ignore, charttest.WorkloadNetpolWebhook: ignore,
				charttest.NetpolChangeWebhook: ignore, charttest.EphemeralWebhook: ignore, charttest.ServiceTLSWebhook: ignore, charttest.IngressTLSWebhook: ignore, charttest.ACKListenerTLSWebhook: ignore, charttest.ACKRuleTLSWebhook: ignore, charttest.GatewayTLSWebhook: ignore, charttest.ListenerSetTLSWebhook: ignore, charttest.RouteTLSWebhook: ignore, charttest.GatewayConfigWebhook: ignore,
			},
		},
		{
			name:   "both rules enforce",
			values: "policy: {rules: {networkPolicy: {mode: enforce}, loadBalancerTLS: {mode: enforce}}}",
			want: map[string]admissionregistrationv1.FailurePolicyType{
				charttest.SeccompWebhook: ignore, charttest.SeccompFinalWebhook: fail, charttest.PodNetpolWebhook: fail, charttest.WorkloadNetpolWebhook: fail,
				charttest.NetpolChangeWebhook: ignore, charttest.EphemeralWebhook: ignore, charttest.ServiceTLSWebhook: fail, charttest.IngressTLSWebhook: fail, charttest.ACKListenerTLSWebhook: fail, charttest.ACKRuleTLSWebhook: fail, charttest.GatewayTLSWebhook: fail, charttest.ListenerSetTLSWebhook: fail, charttest.RouteTLSWebhook: fail, charttest.GatewayConfigWebhook: ignore,
			},
		},
		{
			name:   "NetworkPolicy enforces, TLS off",
			values: "policy: {rules: {networkPolicy: {mode: enforce}, loadBalancerTLS: {mode: \"off\"}}}",
			want: map[string]admissionregistrationv1.FailurePolicyType{
				charttest.SeccompWebhook: ignore, charttest.SeccompFinalWebhook: fail, charttest.PodNetpolWebhook: fail, charttest.WorkloadNetpolWebhook: fail,
				charttest.NetpolChangeWebhook: ignore, charttest.EphemeralWebhook: ignore, charttest.ServiceTLSWebhook: ignore, charttest.IngressTLSWebhook: ignore, charttest.ACKListenerTLSWebhook: ignore, charttest.ACKRuleTLSWebhook: ignore, charttest.GatewayTLSWebhook: ignore, charttest.ListenerSetTLSWebhook: ignore, charttest.RouteTLSWebhook: ignore, charttest.GatewayConfigWebhook: ignore,
			},
		},
		{
			name:   "dry run turns enforcing rules into fail-open ones",
			values: "policy: {dryRun: true, rules: {networkPolicy: {mode: enforce}, loadBalancerTLS: {mode: enforce}}}",
			want: map[string]admissionregistrationv1.FailurePolicyType{
				charttest.SeccompWebhook: ignore, charttest.SeccompFinalWebhook: ignore, charttest.PodNetpolWebhook: ignore, charttest.WorkloadNetpolWebhook: ignore,
				charttest.NetpolChangeWebhook: ignore, charttest.EphemeralWebhook: ignore, charttest.ServiceTLSWebhook: ignore, charttest.IngressTLSWebhook: ignore, charttest.ACKListenerTLSWebhook: ignore, charttest.ACKRuleTLSWebhook: ignore, charttest.GatewayTLSWebhook: ignore, charttest.ListenerSetTLSWebhook: ignore, charttest.RouteTLSWebhook: ignore, charttest.GatewayConfigWebhook: ignore,
			},
		},
		{
			name:   "seccomp unconfined enforces: the ephemeral-container entry fails closed",
			values: "policy: {rules: {seccomp: {unconfined: enforce}}}",
			want: map[string]admissionregistrationv1.FailurePolicyType{
				charttest.SeccompWebhook: ignore, charttest.SeccompFinalWebhook: fail, charttest.PodNetpolWebhook: ignore, charttest.WorkloadNetpolWebhook: ignore,
				charttest.NetpolChangeWebhook: ignore, charttest.EphemeralWebhook: fail, charttest.ServiceTLSWebhook: ignore, charttest.IngressTLSWebhook: ignore, charttest.ACKListenerTLSWebhook: ignore, charttest.ACKRuleTLSWebhook: ignore, charttest.GatewayTLSWebhook: ignore, charttest.ListenerSetTLSWebhook: ignore, charttest.RouteTLSWebhook: ignore, charttest.GatewayConfigWebhook: ignore,
			},
		},
		{
			name:   "webhook.failurePolicy Ignore for enforcing rules",
			values: "webhook: {failurePolicy: Ignore}\npolicy: {rules: {networkPolicy: {mode: enforce}, loadBalancerTLS: {mode: enforce}}}",
			want: map[string]admissionregistrationv1.FailurePolicyType{
				charttest.SeccompWebhook: ignore, charttest.SeccompFinalWebhook: ignore, charttest.PodNetpolWebhook: ignore, charttest.WorkloadNetpolWebhook: ignore,
				charttest.NetpolChangeWebhook: ignore, charttest.EphemeralWebhook: ignore, charttest.ServiceTLSWebhook: ignore, charttest.IngressTLSWebhook: ignore, charttest.ACKListenerTLSWebhook: ignore, charttest.ACKRuleTLSWebhook: ignore, charttest.GatewayTLSWebhook: ignore, charttest.ListenerSetTLSWebhook: ignore, charttest.RouteTLSWebhook: ignore, charttest.GatewayConfigWebhook: ignore,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := renderChart(t, chartRelease, chartNamespace, tc.values)
			charttest.DeepEqual(t, "failurePolicy per webhook", r.FailurePolicies(t, chartRelease), tc.want)
		})
	}
}

// TestChartPolicyConfigMap loads the charttest.Rendered policy with eksguard's own
// parser and validator.
func TestChartPolicyConfigMap(t *testing.T) {
	tests := []struct {
		name   string
		values string
		check  func(t *testing.T, cfg config.Config)
	}{
		{
			name:   "defaults",
			values: "{}",
			check: func(t *testing.T, cfg config.Config) {
				want := config.Defaults()
				want.Rules.NetworkPolicy.Mode = config.ModeWarn
				want.Rules.LoadBalancerTLS.Mode = config.ModeWarn
				want.AnnotationExemptions.Namespaces = []string{}
				want.Exemptions = []config.Exemption{}
				want.Rules.NetworkPolicy.FargateProfiles = []config.FargateProfile{}
				charttest.DeepEqual(t, "policy", cfg, want)
			},
		},
		{
			name: "values mirror the schema",
			values: `
policy:
  dryRun: true
  scope:
    excludedNamespaces: [kube-system, legacy]
    excludedNamespaceSelector: {matchLabels: {eksguard.io/skip: "true"}}
  exemptions:
    - name: monitoring-agents
      rules: [seccomp]
      namespaces: [monitoring]
      reason: the node exporter needs Unconfined
      expires: "2027-01-31"
  rules:
    networkPolicy: {mode: enforce, coverage: both}
    loadBalancerTLS: {skipInternal: true}
`,
			check: func(t *testing.T, cfg config.Config) {
				charttest.DeepEqual(t, "dryRun", cfg.DryRun, true)
				charttest.DeepEqual(t, "scope", cfg.Scope, config.Scope{
					ExcludedNamespaces:        []string{"kube-system", "legacy"},
					ExcludedNamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"eksguard.io/skip": "true"}},
				})
				charttest.DeepEqual(t, "exemptions", cfg.Exemptions, []config.Exemption{{
					Name: "monitoring-agents", Rules: []config.RuleName{config.RuleSeccomp}, Namespaces: []string{"monitoring"},
					Reason: "the node exporter needs Unconfined", Expires: "2027-01-31",
				}})
				np := config.Defaults().Rules.NetworkPolicy
				np.Mode, np.Coverage, np.FargateProfiles = config.ModeEnforce, config.CoverageBoth, []config.FargateProfile{}
				charttest.DeepEqual(t, "networkPolicy", cfg.Rules.NetworkPolicy, np)
				charttest.DeepEqual(t, "loadBalancerTLS skipInternal", cfg.Rules.LoadBalancerTLS.SkipInternal, true)
				charttest.DeepEqual(t, "loadBalancerTLS mode", cfg.Rules.LoadBalancerTLS.Mode, config.ModeWarn)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := renderChart(t, chartRelease, chartNamespace, tc.values)
			var cm corev1.ConfigMap
			r.Get(t, "ConfigMap", "eksguard-policy", &cm)
			doc, ok := cm.Data[config.ConfigMapKey]
			if !ok {
				t.Fatalf("the ConfigMap has no %s: %v", config.ConfigMapKey, cm.Data)
			}
			p, err := config.Load([]byte(doc), chartNamespace)
			if err != nil {
				t.Fatalf("eksguard rejects the charttest.Rendered policy: %v\n%s", err, doc)
			}
			tc.check(t, p.Config)
		})
	}
}

func TestChartCertManager(t *testing.T) {
	t.Run("chart-created CA", func(t *testing.T) {
		r := renderChart(t, chartRelease, chartNamespace, "certManager: {enabled: true}")
		for _, id := range []string{"Issuer/eksguard-selfsigned", "Certificate/eksguard-ca", "Issuer/eksguard-ca", "Certificate/eksguard-serving-cert"} {
			if !slices.Contains(r.IDs(), id) {
				t.Errorf("%s not charttest.Rendered", id)
			}
		}
		if r.Has("Secret", "eksguard-webhook-tls") {
			t.Errorf("the chart renders the certificate Secret although cert-manager owns it")
		}
		serving := r.Find(t, "Certificate", "eksguard-serving-cert")
		charttest.DeepEqual[any](t, "serving certificate spec", serving["spec"], map[string]any{
			"secretName":  "eksguard-webhook-tls",
			"duration":    "8760h",
			"renewBefore": "720h",
			"dnsNames":    []any{"eksguard.eksguard-system.svc", "eksguard.eksguard-system.svc.cluster.local"},
			"privateKey":  map[string]any{"algorithm": "ECDSA", "size": int64(256), "rotationPolicy": "Always"},
			"usages":      []any{"server auth"},
			"issuerRef":   map[string]any{"name": "eksguard-ca", "kind": "Issuer", "group": "cert-manager.io"},
		})
		ca := r.Find(t, "Certificate", "eksguard-ca")
		charttest.DeepEqual(t, "CA isCA", ca["spec"].(map[string]any)["isCA"], any(true))

		var m admissionregistrationv1.MutatingWebhookConfiguration
		r.Get(t, "MutatingWebhookConfiguration", "eksguard", &m)
		charttest.DeepEqual(t, "mutating annotations", m.Annotations, map[string]string{"cert-manager.io/inject-ca-from": "eksguard-system/eksguard-serving-cert"})
		var v admissionregistrationv1.ValidatingWebhookConfiguration
		r.Get(t, "ValidatingWebhookConfiguration", "eksguard", &v)
		charttest.DeepEqual(t, "validating annotations", v.Annotations, map[string]string{"cert-manager.io/inject-ca-from": "eksguard-system/eksguard-serving-cert"})

		var d appsv1.Deployment
		r.Get(t, "Deployment", "eksguard", &d)
		args := d.Spec.Template.Spec.Containers[0].Args
		if !slices.Contains(args, "--cert-rotation=false") || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--cert-secret-name") }) {
			t.Errorf("args %v: want --cert-rotation=false and no rotation flags", args)
		}
		// cert-manager's Secret holds the pair from its first write: a pod
		// waits for it rather than starting without certificates.
		charttest.DeepEqual(t, "volumes", d.Spec.Template.Spec.Volumes, []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: "eksguard-webhook-tls", DefaultMode: ptr.To[int32](0o440), Items: servingPair},
		}}})
		// Without self-managed certificates eksguard writes no Secret and, in
		// its webhook configurations, only their failure policies (which it
		// watches by name, to repair them).
		var cr rbacv1.ClusterRole
		r.Get(t, "ClusterRole", "eksguard", &cr)
		var role rbacv1.Role
		r.Get(t, "Role", "eksguard", &role)
		for _, rule := range append(cr.Rules, role.Rules...) {
			failurePolicies := slices.Equal(rule.Verbs, []string{"get", "list", "watch", "patch"}) && slices.Equal(rule.ResourceNames, []string{"eksguard"})
			admissionPolicy := slices.Equal(rule.Resources, []string{"mutatingadmissionpolicies", "mutatingadmissionpolicybindings"})
			if slices.Contains(rule.Resources, "secrets") || (slices.Contains(rule.APIGroups, "admissionregistration.k8s.io") && !failurePolicies && !admissionPolicy) {
				t.Errorf("cert-manager mode still grants %v", rule)
			}
		}
	})
	t.Run("existing issuer", func(t *testing.T) {
		r := renderChart(t, chartRelease, chartNamespace, "certManager: {enabled: true, issuerRef: {name: corp-ca, kind: ClusterIssuer, group: cert-manager.io}}")
		var certs []string
		for _, id := range r.IDs() {
			if strings.HasPrefix(id, "Issuer/") || strings.HasPrefix(id, "Certificate/") {
				certs = append(certs, id)
			}
		}
		charttest.DeepEqual(t, "cert-manager objects", certs, []string{"Certificate/eksguard-serving-cert"})
		serving := r.Find(t, "Certificate", "eksguard-serving-cert")
		charttest.DeepEqual(t, "issuerRef", serving["spec"].(map[string]any)["issuerRef"], any(map[string]any{
			"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io",
		}))
	})
}

func TestChartSingleReplica(t *testing.T) {
	r := renderChart(t, chartRelease, chartNamespace, "replicaCount: 1")
	var d appsv1.Deployment
	r.Get(t, "Deployment", "eksguard", &d)
	charttest.DeepEqual(t, "replicas", d.Spec.Replicas, ptr.To[int32](1))
	// The budget must still let a node drain evict the only replica.
	var pdb policyv1.PodDisruptionBudget
	r.Get(t, "PodDisruptionBudget", "eksguard", &pdb)
	charttest.DeepEqual(t, "PDB maxUnavailable", pdb.Spec.MaxUnavailable, ptr.To(intstr.FromInt32(1)))
	charttest.DeepEqual(t, "PDB unhealthyPodEvictionPolicy", pdb.Spec.UnhealthyPodEvictionPolicy, ptr.To(policyv1.AlwaysAllow))
}

func TestChartExclusions(t *testing.T) {
	r := renderChart(t, "guard", "security", `
webhook:
  excludedNamespaces: [team-legacy, kube-system]
  matchConditions:
    - name: not-the-deployer
      expression: "request.userInfo.username != 'system:serviceaccount:ci:deployer'"
policy:
  scope:
    excludedNamespaces: [kube-public, team-legacy, sandbox]
`)
	wantSelector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn,
		Values: []string{"security", "kube-system", "team-legacy", "kube-public", "sandbox"},
	}}}
	wantConditions := []admissionregistrationv1.MatchCondition{{
		Name: "not-the-deployer", Expression: "request.userInfo.username != 'system:serviceaccount:ci:deployer'",
	}}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	r.Get(t, "MutatingWebhookConfiguration", "guard-eksguard", &m)
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.Get(t, "ValidatingWebhookConfiguration", "guard-eksguard", &v)
	if len(m.Webhooks)+len(v.Webhooks) != len(webhook.Routes) {
		t.Fatalf("%d mutating and %d validating webhooks, want the %d routes", len(m.Webhooks), len(v.Webhooks), len(webhook.Routes))
	}
	check := func(name string, sel *metav1.LabelSelector, conds []admissionregistrationv1.MatchCondition, svc *admissionregistrationv1.ServiceReference) {
		charttest.DeepEqual(t, name+" namespaceSelector", sel, wantSelector)
		// The route's own conditions come first, then the values'.
		var own []admissionregistrationv1.MatchCondition
		for _, r := range webhook.Routes {
			if r.Name == name {
				own = r.MatchConditions
			}
		}
		charttest.DeepEqual(t, name+" matchConditions", conds, append(slices.Clone(own), wantConditions...))
		charttest.DeepEqual(t, name+" service", svc.Namespace+"/"+svc.Name, "security/guard-eksguard")
	}
	check(m.Webhooks[0].Name, m.Webhooks[0].NamespaceSelector, m.Webhooks[0].MatchConditions, m.Webhooks[0].ClientConfig.Service)
	for _, w := range v.Webhooks {
		check(w.Name, w.NamespaceSelector, w.MatchConditions, w.ClientConfig.Service)
	}
}

func TestChartServiceMonitor(t *testing.T) {
	r := renderChart(t, chartRelease, chartNamespace, "metrics: {serviceMonitor: {enabled: true, labels: {release: prometheus}}}")
	sm := r.Find(t, "ServiceMonitor", "eksguard")
	charttest.DeepEqual(t, "ServiceMonitor release label", sm["metadata"].(map[string]any)["labels"].(map[string]any)["release"], any("prometheus"))
	charttest.DeepEqual[any](t, "ServiceMonitor spec", sm["spec"], map[string]any{
		"selector":          map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "eksguard", "app.kubernetes.io/instance": "eksguard"}},
		"namespaceSelector": map[string]any{"matchNames": []any{"eksguard-system"}},
		"endpoints": []any{map[string]any{
			"port": "metrics", "path": "/metrics", "scheme": "https", "interval": "30s", "scrapeTimeout": "10s",
			"bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
			"tlsConfig":       map[string]any{"insecureSkipVerify": true},
		}},
	})
	// Plain HTTP, no token, no reader role, no review rights, when asked.
	r = renderChart(t, chartRelease, chartNamespace, "metrics: {secure: false, serviceMonitor: {enabled: true}}")
	endpoint := r.Find(t, "ServiceMonitor", "eksguard")["spec"].(map[string]any)["endpoints"].([]any)[0]
	charttest.DeepEqual[any](t, "plain endpoint", endpoint, map[string]any{
		"port": "metrics", "path": "/metrics", "scheme": "http", "interval": "30s", "scrapeTimeout": "10s",
	})
	if r.Has("ClusterRole", "eksguard-metrics-reader") {
		t.Error("the metrics-reader ClusterRole is rendered for plain metrics")
	}
	var cr rbacv1.ClusterRole
	r.Get(t, "ClusterRole", "eksguard", &cr)
	for _, rule := range cr.Rules {
		if slices.Contains(rule.Resources, "tokenreviews") || slices.Contains(rule.Resources, "subjectaccessreviews") {
			t.Errorf("plain metrics, yet the ClusterRole has %v", rule)
		}
	}
}

// TestChartSchemaRejects: values.schema.json stops wrong values at
// helm install time.
func TestChartSchemaRejects(t *testing.T) {
	tests := []struct {
		values  string
		wantErr string
	}{
		{"replicaCount: three", "replicaCount"},
		{"replicaCount: 0", "replicaCount"},
		{"webhook: {failurePolicy: Deny}", "failurePolicy"},
		{"webhook: {timeoutSeconds: 45}", "timeoutSeconds"},
		{"webhook: {excludedNamespaces: [Team_A]}", "excludedNamespaces"},
		{"policy: {rules: {networkPolicy: {mode: block}}}", "mode"},
		// YAML 1.1 reads an unquoted off as false.
		{"policy: {rules: {loadBalancerTLS: {mode: off}}}", "/policy/rules/loadBalancerTLS/mode"},
		{"policy: {rules: {seccomp: {moed: warn}}}", "moed"},
		{"policy: {dryRun: \"yes\"}", "dryRun"},
		{"certManager: {enabled: true, duration: 1y}", "duration"},
		{"replicas: 3", "replicas"},
	}
	for _, tc := range tests {
		t.Run(tc.values, func(t *testing.T) {
			_, err := chart.RenderErr(t, chartRelease, chartNamespace, tc.values)
			if err == nil {
				t.Fatalf("helm template accepted %q", tc.values)
			}
			if !strings.Contains(err.Error(), "values don't meet the specifications of the schema") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want a schema error naming %q, got: %v", tc.wantErr, err)
			}
		})
	}
}

// checkNamespaces: every namespaced object is in eksguard's namespace, but
// the data-plane Role and its binding, which read two named objects in
// kube-system.
func checkNamespaces(t *testing.T, r charttest.Rendered, eksguardNamespace string) {
	t.Helper()
	for _, o := range r.Objects {
		want := eksguardNamespace
		if strings.HasSuffix(o.GetName(), "-data-plane") {
			want = "kube-system"
		}
		if got := o.GetNamespace(); got != "" && got != want {
			t.Errorf("%s/%s is in namespace %q, want %q", o.GetKind(), o.GetName(), got, want)
		}
	}
}

// TestChartNamespaceOverride: namespace.name moves every namespaced object
// and every reference to eksguard's namespace (webhook Services, excluded
// namespaces, the policy ConfigMap flag, the fences' ServiceAccounts), and
// namespace.create makes it under Pod Security restricted, kept on
// uninstall. A chart cannot create its release namespace (Helm stores the
// release there first), so that and a hostNetwork server under an enforced
// level are refused with the reason.
func TestChartNamespaceOverride(t *testing.T) {
	const own = "eksguard"
	r := renderChart(t, chartRelease, chartNamespace, "namespace: {create: true, name: "+own+"}\nreports: {enabled: true}\nmetrics: {serviceMonitor: {enabled: true}, prometheusRule: {enabled: true}}")
	var ns corev1.Namespace
	r.Get(t, "Namespace", own, &ns)
	charttest.DeepEqual(t, "Pod Security labels", map[string]string{
		"enforce": ns.Labels["pod-security.kubernetes.io/enforce"], "enforce-version": ns.Labels["pod-security.kubernetes.io/enforce-version"],
		"warn": ns.Labels["pod-security.kubernetes.io/warn"], "audit": ns.Labels["pod-security.kubernetes.io/audit"],
	}, map[string]string{"enforce": "restricted", "enforce-version": "latest", "warn": "restricted", "audit": "restricted"})
	charttest.DeepEqual(t, "namespace annotations", ns.Annotations, map[string]string{"helm.sh/resource-policy": "keep"})
	checkNamespaces(t, r, own)
	var m admissionregistrationv1.MutatingWebhookConfiguration
	r.Get(t, "MutatingWebhookConfiguration", "eksguard", &m)
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.Get(t, "ValidatingWebhookConfiguration", "eksguard", &v)
	check := func(name string, client admissionregistrationv1.WebhookClientConfig, selector *metav1.LabelSelector) {
		if got := client.Service.Namespace; got != own {
			t.Errorf("webhook %s calls a Service in %q, want %q", name, got, own)
		}
		if excluded := selector.MatchExpressions[0].Values; !slices.Contains(excluded, own) || slices.Contains(excluded, chartNamespace) {
			t.Errorf("webhook %s excludes %v: want eksguard's namespace %q, not the release's %q", name, excluded, own, chartNamespace)
		}
	}
	for _, w := range m.Webhooks {
		check(w.Name, w.ClientConfig, w.NamespaceSelector)
	}
	for _, w := range v.Webhooks {
		check(w.Name, w.ClientConfig, w.NamespaceSelector)
	}
	var d appsv1.Deployment
	r.Get(t, "Deployment", "eksguard", &d)
	if args := d.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--policy-configmap-namespace="+own) {
		t.Errorf("server args %v do not name the policy ConfigMap's namespace %q", args, own)
	}
	var fence admissionregistrationv1.ValidatingAdmissionPolicy
	r.Get(t, "ValidatingAdmissionPolicy", "eksguard-webhook-configurations", &fence)
	if data, _ := json.Marshal(fence.Spec); !strings.Contains(string(data), "system:serviceaccount:"+own+":eksguard") {
		t.Errorf("the webhook-configuration fence does not name eksguard's ServiceAccount in %q: %s", own, data)
	}

	for values, wantErr := range map[string]string{
		"namespace: {create: true}":                                       "namespace.create needs namespace.name set to a namespace other than the release's",
		"namespace: {create: true, name: " + chartNamespace + "}":         "namespace.create needs namespace.name set to a namespace other than the release's",
		"namespace: {create: true, name: " + own + "}\nhostNetwork: true": `hostNetwork: true breaks the Pod Security level "restricted" that namespace.labels enforces`,
	} {
		if _, err := chart.RenderErr(t, chartRelease, chartNamespace, values); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("values %q: %v, want an error saying %q", values, err, wantErr)
		}
	}
	// Without create, the namespace is only named: nothing makes it.
	if r := renderChart(t, chartRelease, chartNamespace, "namespace: {name: "+own+"}"); r.Has("Namespace", own) {
		t.Errorf("namespace.name alone renders the Namespace")
	}
}

// TestChartReadmeListsEveryValue: every value in values.yaml is in the
// README's table, itself or through the object that contains it.
func TestChartReadmeListsEveryValue(t *testing.T) {
	values, err := os.ReadFile(filepath.Join(chart.Dir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(chart.Dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(values, &tree); err != nil {
		t.Fatal(err)
	}
	documented := func(path string) bool {
		for p := path; p != ""; {
			if bytes.Contains(readme, []byte("| `"+p+"` |")) {
				return true
			}
			i := strings.LastIndex(p, ".")
			if i < 0 {
				break
			}
			p = p[:i]
		}
		return false
	}
	var walk func(prefix string, node map[string]any)
	walk = func(prefix string, node map[string]any) {
		for key, value := range node {
			path := prefix + key
			if child, ok := value.(map[string]any); ok && len(child) > 0 && !documented(path) {
				walk(path+".", child)
				continue
			}
			if !documented(path) {
				t.Errorf("values.yaml key %s is not in the README's values table", path)
			}
		}
	}
	walk("", tree)
}

// TestChartMonitoring: the PrometheusRule and the dashboard ConfigMap are
// off by default; on, they carry the six alerts (seven with reports) (job: the Service's name,
// the latency threshold from webhook.timeoutSeconds) and the dashboard JSON.
func TestChartMonitoring(t *testing.T) {
	if r := renderChart(t, chartRelease, chartNamespace, ""); r.Has("PrometheusRule", "eksguard") || r.Has("ConfigMap", "eksguard-dashboard") {
		t.Error("monitoring objects rendered by default")
	}
	r := renderChart(t, chartRelease, chartNamespace, "webhook: {timeoutSeconds: 5}\n"+
		"metrics: {prometheusRule: {enabled: true, labels: {release: prometheus}}, dashboard: {enabled: true, namespace: grafana}}")
	rule := r.Object(t, "PrometheusRule", "eksguard")
	var alerts []string
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	for _, ru := range groups[0].(map[string]any)["rules"].([]any) {
		m := ru.(map[string]any)
		alerts = append(alerts, m["alert"].(string))
		if expr := m["expr"].(string); !strings.Contains(expr, `job="eksguard"`) {
			t.Errorf("%s does not select job eksguard: %s", m["alert"], expr)
		}
		if m["alert"] == "EksguardWebhookLatencyHigh" && !strings.HasSuffix(m["expr"].(string), "> 4") {
			t.Errorf("latency threshold: %s, want 0.8 of timeoutSeconds 5", m["expr"])
		}
	}
	charttest.DeepEqual(t, "alerts", alerts, []string{"EksguardWebhookLatencyHigh", "EksguardDenialRateSpike",
		"EksguardPolicyRejected", "EksguardCertificateExpiringSoon", "EksguardCacheNearMemoryLimit", "EksguardNoReadyReplica"})
	// With the report CronJob, a failed run is alerted on (kube-state-metrics).
	withReports := renderChart(t, chartRelease, chartNamespace, "metrics: {prometheusRule: {enabled: true}}\nreports: {enabled: true}")
	reportRules, _, _ := unstructured.NestedSlice(withReports.Object(t, "PrometheusRule", "eksguard").Object, "spec", "groups")
	if !slices.ContainsFunc(reportRules[0].(map[string]any)["rules"].([]any), func(r any) bool {
		return r.(map[string]any)["alert"] == "EksguardReportJobFailed" &&
			strings.Contains(r.(map[string]any)["expr"].(string), `job_name=~"eksguard-reports-.*"`)
	}) {
		t.Error("no EksguardReportJobFailed alert on the report Jobs with reports enabled")
	}
	charttest.DeepEqual(t, "rule labels", rule.GetLabels()["release"], "prometheus")
	cm := r.Object(t, "ConfigMap", "eksguard-dashboard")
	charttest.DeepEqual(t, "dashboard namespace and label", cm.GetNamespace()+" "+cm.GetLabels()["grafana_dashboard"], "grafana 1")
	data, _, _ := unstructured.NestedString(cm.Object, "data", "eksguard.json")
	var dashboard struct {
		UID    string
		Panels []map[string]any
	}
	if err := json.Unmarshal([]byte(data), &dashboard); err != nil || dashboard.UID != "eksguard" || len(dashboard.Panels) < 9 {
		t.Errorf("dashboard JSON: %v (uid %q, %d panels)", err, dashboard.UID, len(dashboard.Panels))
	}
}

// TestChartReports: the policy-report CronJob is off by default; on, it runs
// audit --apply-reports under its own ServiceAccount, whose ClusterRole
// lists what audit reads and writes only the chosen report kinds, and its
// pods are not the server's (selector labels differ).
func TestChartReports(t *testing.T) {
	if r := renderChart(t, chartRelease, chartNamespace, ""); r.Has("CronJob", "eksguard-reports") {
		t.Error("the CronJob is rendered by default")
	}
	r := renderChart(t, chartRelease, chartNamespace, "reports: {enabled: true, format: policyreport, maxResults: 50}")
	var cj batchv1.CronJob
	r.Get(t, "CronJob", "eksguard-reports", &cj)
	pod := cj.Spec.JobTemplate.Spec.Template
	charttest.DeepEqual(t, "service account", pod.Spec.ServiceAccountName, "eksguard-reports")
	charttest.DeepEqual(t, "args", pod.Spec.Containers[0].Args, []string{"audit", "--eksguard-namespace=eksguard-system",
		"--policy-configmap-name=eksguard-policy", "--output=policyreport", "--apply-reports", "--max-results=50"})
	if pod.Labels["app.kubernetes.io/name"] == "eksguard" {
		t.Errorf("the audit pods carry the server's selector labels: %v", pod.Labels)
	}
	var role rbacv1.ClusterRole
	r.Get(t, "ClusterRole", "eksguard-reports", &role)
	for _, rule := range role.Rules {
		writes := slices.ContainsFunc(rule.Verbs, func(v string) bool { return v != "list" && v != "get" })
		if writes && !slices.Equal(rule.APIGroups, []string{"wgpolicyk8s.io"}) {
			t.Errorf("the audit may write %v %v", rule.APIGroups, rule.Resources)
		}
	}
	var sa corev1.ServiceAccount
	r.Get(t, "ServiceAccount", "eksguard-reports", &sa)
}

// TestChartReadmeRBACTable holds the chart README's RBAC table to the
// rendered ClusterRole and Role of the server: every (scope, API group,
// resource) either names is in both, with the same verbs.
func TestChartReadmeRBACTable(t *testing.T) {
	type grant struct{ scope, group, resource string }
	verbs := []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	documented := map[grant][]string{}
	data, err := os.ReadFile(filepath.Join(chart.Dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(data), "\n## RBAC\n")
	section, _, _ = strings.Cut(section, "\n\n|")
	parenthetical := regexp.MustCompile(`\([^)]*\)`)
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 4 || cells[0] == "Scope" || strings.HasPrefix(cells[0], "---") {
			continue
		}
		rows++
		var rowVerbs []string
		for _, w := range strings.FieldsFunc(parenthetical.ReplaceAllString(cells[2], ""), func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
			if slices.Contains(verbs, w) {
				rowVerbs = append(rowVerbs, w)
			}
		}
		for _, segment := range strings.Split(parenthetical.ReplaceAllString(cells[1], ""), ";") {
			var groups, resources []string
			for _, w := range strings.FieldsFunc(segment, func(r rune) bool { return r == ',' || r == ' ' }) {
				// apps is the one dotless API group the roles name.
				if strings.Contains(w, ".") || w == "apps" {
					groups = append(groups, w)
				} else {
					resources = append(resources, w)
				}
			}
			if len(groups) == 0 {
				groups = []string{""}
			}
			for _, g := range groups {
				for _, res := range resources {
					key := grant{cells[0], g, res}
					documented[key] = append(documented[key], rowVerbs...)
				}
			}
		}
	}
	if rows < 10 {
		t.Fatalf("read only %d rows of the README's RBAC table", rows)
	}

	r := renderChart(t, chartRelease, chartNamespace, "{}")
	rendered := map[grant][]string{}
	var cr rbacv1.ClusterRole
	r.Get(t, "ClusterRole", "eksguard", &cr)
	var role, dataPlane rbacv1.Role
	r.Get(t, "Role", "eksguard", &role)
	r.Get(t, "Role", "eksguard-data-plane", &dataPlane)
	if dataPlane.Namespace != "kube-system" {
		t.Errorf("the data-plane Role is in %q, want kube-system", dataPlane.Namespace)
	}
	for scope, rules := range map[string][]rbacv1.PolicyRule{"cluster": cr.Rules, "release namespace": role.Rules, "kube-system": dataPlane.Rules} {
		for _, rule := range rules {
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					key := grant{scope, g, res}
					rendered[key] = append(rendered[key], rule.Verbs...)
				}
			}
		}
	}
	normalize := func(m map[grant][]string) map[grant][]string {
		for k, v := range m {
			slices.Sort(v)
			m[k] = slices.Compact(v)
		}
		return m
	}
	charttest.DeepEqual(t, "RBAC table against the rendered roles", normalize(documented), normalize(rendered))
}

// TestChartNamespacedReadsAreNamed: the server reads no Secret or
// ConfigMap of its namespace but its own (the certificate Secret, the
// policy ConfigMap): every rule that lets it get, list or watch them names
// them, so Helm's release Secrets and other tenants' data stay unreadable.
// The certificate Secret is listed by name through a field selector
// (internal/app/certs narrowSecrets), which the envtest under the chart's
// RBAC holds to the real API server.
func TestChartNamespacedReadsAreNamed(t *testing.T) {
	for values, wantSecret := range map[string]bool{"{}": true, `{"certManager":{"enabled":true}}`: false} {
		r := renderChart(t, chartRelease, chartNamespace, values)
		var role rbacv1.Role
		r.Get(t, "Role", "eksguard", &role)
		named := map[string]bool{}
		for _, rule := range role.Rules {
			for _, res := range rule.Resources {
				if res != "secrets" && res != "configmaps" {
					continue
				}
				if len(rule.ResourceNames) == 0 && slices.ContainsFunc(rule.Verbs, func(v string) bool { return v == "get" || v == "list" || v == "watch" || v == "*" }) {
					t.Errorf("values %s: the Role reads every %s of the namespace: %+v", values, res, rule)
				}
				named[res] = named[res] || len(rule.ResourceNames) > 0
			}
		}
		if named["secrets"] != wantSecret || !named["configmaps"] {
			t.Errorf("values %s: the Role names Secrets %v and ConfigMaps %v, want %v and true", values, named["secrets"], named["configmaps"], wantSecret)
		}
	}
}

// TestChartSeccompMutationFence: the ValidatingAdmissionPolicy that fences
// eksguard's seccomp admission policy allows exactly the mutation eksguard
// renders (seccomp.AdmissionPolicyMutation), and is not rendered when the
// feature is off.
func TestChartSeccompMutationFence(t *testing.T) {
	r := renderChart(t, chartRelease, chartNamespace, "{}")
	var vap admissionregistrationv1.ValidatingAdmissionPolicy
	r.Get(t, "ValidatingAdmissionPolicy", "eksguard-seccomp-admission-policy", &vap)
	found := false
	for _, v := range vap.Spec.Validations {
		found = found || strings.Contains(v.Expression, "'"+seccomp.AdmissionPolicyMutation+"'")
	}
	if !found {
		t.Errorf("no validation compares the mutation with %q: %+v", seccomp.AdmissionPolicyMutation, vap.Spec.Validations)
	}
	off := renderChart(t, chartRelease, chartNamespace, "webhook: {seccompAdmissionPolicy: false}")
	for _, id := range off.IDs() {
		if strings.Contains(id, "seccomp-admission-policy") {
			t.Errorf("rendered with the feature off: %s", id)
		}
	}
}
