package test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/internal/app/dataplanewatch"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
	"github.com/eksguard/eksguard/webhook/netpol"
)

// Issue 24 through the real API server: where the VPC CNI enforces, the
// agent's strict mode as it applies it, and the DNS step.

// ownedPod is a pod a ReplicaSet made, in namespace ns.
func ownedPod(ns, name string, labels map[string]string) *corev1.Pod {
	pod := netpolPod(ns, name, labels)
	pod.OwnerReferences = ownedByReplicaSet(name + "-rs")
	return pod
}

// TestComputeWhereNoPolicyApplies: in a namespace without any policy, under
// the enforcing default, a Fargate pod and a Windows Deployment are warned
// (no engine polices them: cni-network-policy "Considerations"), while a
// Linux pod is denied.
func TestComputeWhereNoPolicyApplies(t *testing.T) {
	ns := newNamespace(t, nil)
	c, warnings := newWarningClient(t)
	ctx := context.Background()

	fargate := ownedPod(ns, "batch-1", map[string]string{"app": "batch", netpol.FargateProfileLabel: "fp-default"})
	if err := c.Create(ctx, fargate); err != nil {
		t.Fatalf("a Fargate pod: %v", err)
	}
	if got, want := warnings.Messages(), []string{"eksguard [networkPolicy] Pod batch-1 is on Fargate: no policy applies there; exempt it"}; !equalStrings(got, want) {
		t.Errorf("Fargate warnings:\n got %q\nwant %q", got, want)
	}

	c, warnings = newWarningClient(t)
	windows := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "iis"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "iis"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "iis"}},
				Spec: corev1.PodSpec{NodeSelector: map[string]string{corev1.LabelOSStable: "windows"},
					Containers: []corev1.Container{{Name: "iis", Image: "mcr.microsoft.com/windows/servercore/iis"}}}}}}
	if err := c.Create(ctx, windows); err != nil {
		t.Fatalf("a Windows Deployment: %v", err)
	}
	if got, want := warnings.Messages(), []string{"eksguard [networkPolicy] Deployment iis's pod template is on Windows: no policy applies; set windowsEngine or exempt it"}; !equalStrings(got, want) {
		t.Errorf("Windows warnings:\n got %q\nwant %q", got, want)
	}

	err := c.Create(ctx, ownedPod(ns, "web", map[string]string{"app": "web"}))
	assertDenied(t, err, netpolPodWebhook, fmt.Sprintf("eksguard denied this Pod: [networkPolicy] metadata.labels: "+
		"Namespace %s has no NetworkPolicy to select Pod web (labels app=web); %s", ns, netpolFix))
}

func equalStrings(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// awsNode is the VPC CNI's DaemonSet as the add-on renders it with network
// policy on (amazon-vpc-cni-k8s charts/aws-vpc-cni templates/daemonset.yaml).
func awsNode(mode string) *appsv1.DaemonSet {
	labels := map[string]string{"k8s-app": "aws-node"}
	return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "aws-node"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{
					{Name: "aws-node", Image: "registry.example/amazon-k8s-cni:v1.20.0",
						Env: []corev1.EnvVar{{Name: "NETWORK_POLICY_ENFORCING_MODE", Value: mode}}},
					{Name: "aws-eks-nodeagent", Image: "registry.example/aws-network-policy-agent:v1.2.0",
						Args: []string{"--enable-network-policy=true"}},
				}}}}}
}

// rereadDataPlane applies doc, which makes the data-plane watcher read the
// cluster's objects again, and waits until check passes.
func rereadDataPlane(t *testing.T, doc string, check func() error) {
	t.Helper()
	applyPolicy(t, doc)
	eventually(t, 20*time.Second, check)
}

// TestStrictModeAsTheAgentAppliesIt: with aws-node in strict mode (read,
// not declared), a pod no policy selects counts as isolated, and a pod an
// Egress-only policy selects is denied for ingress under coverage both:
// the agent opens ingress with a catch-all allow once a policy selects the
// pod (aws-network-policy-agent policyendpoints_controller.go).
func TestStrictModeAsTheAgentAppliesIt(t *testing.T) {
	ctx := context.Background()
	ds := awsNode("strict")
	if err := k8sClient.Create(ctx, ds); err != nil {
		t.Fatalf("creating aws-node: %v", err)
	}
	t.Cleanup(func() {
		if err := k8sClient.Delete(ctx, ds); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting aws-node: %v", err)
		}
		// Read again without it, so later tests see no strict mode.
		probe := newNamespace(t, nil)
		rereadDataPlane(t, coverageBothPolicy+"# reread after aws-node\n", func() error {
			err := k8sClient.Create(ctx, ownedPod(probe, "probe", map[string]string{"app": "probe"}), client.DryRunAll)
			if !apierrors.IsForbidden(err) {
				return fmt.Errorf("still admitted without a policy: %v", err)
			}
			return nil
		})
	})

	unselected := newNamespace(t, nil)
	rereadDataPlane(t, coverageBothPolicy, func() error {
		return k8sClient.Create(ctx, ownedPod(unselected, "probe", map[string]string{"app": "probe"}), client.DryRunAll)
	})

	c, warnings := newWarningClient(t)
	if err := c.Create(ctx, ownedPod(unselected, "web", map[string]string{"app": "web"})); err != nil {
		t.Fatalf("an unselected pod under strict mode: %v", err)
	}
	// Strict mode denies its DNS too: the DNS step says so.
	if got := warnings.Messages(); len(got) != 1 || !strings.Contains(got[0], "Pod web has no DNS path (UDP 53): the cluster's default-deny (VPC CNI strict mode") {
		t.Errorf("warnings %q, want the DNS step's", got)
	}

	egressOnly := newNamespace(t, nil)
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: egressOnly, Name: "egress-only"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}}
	mustCreate(t, np)
	err := k8sClient.Create(ctx, ownedPod(egressOnly, "web", map[string]string{"app": "web"}))
	assertDenied(t, err, netpolPodWebhook, fmt.Sprintf("eksguard denied this Pod: [networkPolicy] metadata.labels: "+
		"The only NetworkPolicy in namespace %s does not isolate Pod web (labels app=web) for Ingress; add one that isolates it, "+
		"e.g. a default-deny policy: podSelector: {}, policyTypes: [Ingress, Egress]", egressOnly))
}

const coverageBothPolicy = `apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  networkPolicy:
    coverage: both
`

// TestDeclarationContradictedByNodeClass: a declared Auto Mode
// default-deny that a DefaultAllow NodeClass contradicts is reported when
// the policy loads: an Event on the policy ConfigMap.
func TestDeclarationContradictedByNodeClass(t *testing.T) {
	ctx := context.Background()
	nodeClass := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "eks.amazonaws.com/v1", "kind": "NodeClass",
		"metadata": map[string]any{"name": "general"},
		"spec":     map[string]any{"networkPolicy": "DefaultAllow"},
	}}
	if err := k8sClient.Create(ctx, nodeClass); err != nil {
		t.Fatalf("creating the NodeClass: %v", err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, nodeClass) })

	applyPolicy(t, `apiVersion: eksguard.io/v1alpha1
kind: PolicyConfig
rules:
  networkPolicy:
    clusterDefaultDeny: {ingress: true, egress: true, reason: Auto Mode DefaultDeny, engine: auto-mode}
`)
	eventually(t, 20*time.Second, func() error {
		var list eventsv1.EventList
		if err := k8sClient.List(ctx, &list, client.InNamespace(testbed.PolicyConfigMap.Namespace)); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Reason == dataplanewatch.ReasonContradiction && e.Regarding.Name == testbed.PolicyConfigMap.Name && strings.Contains(e.Note, "general") {
				return nil
			}
		}
		return fmt.Errorf("no %s Event naming NodeClass general among %d", dataplanewatch.ReasonContradiction, len(list.Items))
	})
}

// TestDNSStep: the Kyverno sample's DNS allow is warned with the fix; the
// EKS best practice's allow is silent.
func TestDNSStep(t *testing.T) {
	ctx := context.Background()
	udp := corev1.ProtocolUDP
	kyverno := newNamespace(t, nil)
	mustCreate(t, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: kyverno, Name: "default-deny"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: kyverno, Name: "allow-dns"},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"name": "kube-system"}}}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: ptr.To(intstr.FromInt32(53))}},
				}}}})
	c, warnings := newWarningClient(t)
	if err := c.Create(ctx, ownedPod(kyverno, "web", map[string]string{"app": "web"})); err != nil {
		t.Fatalf("create: %v", err)
	}
	// kubectl gets the start of it (check, audit and the reports the whole).
	want := fmt.Sprintf("eksguard [networkPolicy] Pod web has no DNS path (UDP 53): NetworkPolicy %s/allow-dns selects", kyverno)
	if got := warnings.Messages(); len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("warnings:\n got %q\nwant one starting %q", got, want)
	}

	good := seccompNamespace(t) // default-deny plus allowDNS
	c, warnings = newWarningClient(t)
	if err := c.Create(ctx, ownedPod(good, "web", map[string]string{"app": "web"})); err != nil {
		t.Fatalf("create: %v", err)
	}
	if got := warnings.Messages(); len(got) != 0 {
		t.Errorf("a correct kube-dns allow warned: %q", got)
	}
}
