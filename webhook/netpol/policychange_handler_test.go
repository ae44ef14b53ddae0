package netpol

import (
	"context"
	"errors"
	"fmt"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

var netpolKind = metav1.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}

func podMeta(namespace, name string, labels map[string]string) metav1.PartialObjectMetadata {
	return metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
	}
}

func TestPolicyChangeHandler(t *testing.T) {
	web := map[string]string{"app": "web"}
	db := map[string]string{"app": "db"}
	denyAll := netpolObject("shop", "deny-all", metav1.LabelSelector{}, networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)
	webIngress := netpolObject("shop", "web-ingress", metav1.LabelSelector{MatchLabels: web}, networkingv1.PolicyTypeIngress)
	allowDNS := egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS}, Ports: dns53})
	pods := []metav1.PartialObjectMetadata{
		podMeta("shop", "web-1", web),
		podMeta("shop", "web-2", web),
		podMeta("other", "web-1", web),
		podMeta("shop", "db-1", db),
	}
	terminating := podMeta("shop", "db-2", db)
	terminating.DeletionTimestamp = &metav1.Time{}

	deleteReq := func(np *networkingv1.NetworkPolicy) func(t *testing.T) admission.Request {
		return func(t *testing.T) admission.Request {
			return admissionRequest(admissionv1.Delete, netpolKind, np.Namespace, np.Name, nil, mustJSON(t, np))
		}
	}
	updateReq := func(old *networkingv1.NetworkPolicy, edit func(*networkingv1.NetworkPolicy)) func(t *testing.T) admission.Request {
		return func(t *testing.T) admission.Request {
			updated := old.DeepCopy()
			edit(updated)
			return admissionRequest(admissionv1.Update, netpolKind, old.Namespace, old.Name, mustJSON(t, updated), mustJSON(t, old))
		}
	}

	tests := []struct {
		name    string
		edit    func(*config.Config)
		indexed []*networkingv1.NetworkPolicy
		pods    []metav1.PartialObjectMetadata
		podsErr error
		req     func(t *testing.T) admission.Request
		want    ruletest.Answer
		// wantPodLists is the number of live pod list calls.
		wantPodLists int
	}{
		{
			name:    "deleting the only policy warns with the pods it leaves",
			indexed: []*networkingv1.NetworkPolicy{denyAll},
			pods:    append(pods, terminating),
			req:     deleteReq(denyAll),
			want:    ruletest.Warned("eksguard [networkPolicy] Deleting NetworkPolicy deny-all leaves 3 pods in namespace shop uncovered"),
			// 5 pods in pages of 500.
			wantPodLists: 1,
		},
		{
			name:         "deleting a policy not yet in the index counts it all the same",
			pods:         pods,
			req:          deleteReq(denyAll),
			want:         ruletest.Warned("eksguard [networkPolicy] Deleting NetworkPolicy deny-all leaves 3 pods in namespace shop uncovered"),
			wantPodLists: 1,
		},
		{
			name:         "deleting a policy that another policy backs up: silent",
			indexed:      []*networkingv1.NetworkPolicy{denyAll, webIngress},
			pods:         pods,
			req:          deleteReq(webIngress),
			want:         ruletest.Allowed(),
			wantPodLists: 1,
		},
		{
			name:         "deleting the default-deny leaves only the db pod uncovered",
			indexed:      []*networkingv1.NetworkPolicy{denyAll, webIngress},
			pods:         pods,
			req:          deleteReq(denyAll),
			want:         ruletest.Warned("eksguard [networkPolicy] Deleting NetworkPolicy deny-all leaves 1 pod in namespace shop uncovered"),
			wantPodLists: 1,
		},
		{
			name:         "enforce mode still only warns",
			edit:         func(c *config.Config) { c.Rules.NetworkPolicy.Mode = config.ModeEnforce },
			indexed:      []*networkingv1.NetworkPolicy{webIngress},
			pods:         pods,
			req:          deleteReq(webIngress),
			want:         ruletest.Warned("eksguard [networkPolicy] Deleting NetworkPolicy web-ingress leaves 2 pods in namespace shop uncovered"),
			wantPodLists: 1,
		},
		{
			name:         "deleting the DNS allow warns with the pods whose DNS it cuts",
			indexed:      []*networkingv1.NetworkPolicy{denyAll, allowDNS},
			pods:         pods,
			req:          deleteReq(allowDNS),
			want:         ruletest.Warned("eksguard [networkPolicy] Deleting NetworkPolicy shop/allow-dns cuts DNS (UDP 53) for 3 pods in namespace shop"),
			wantPodLists: 1,
		},
		{
			name:    "moving the DNS allow to TCP only cuts DNS (SetDefaults_NetworkPolicyPort)",
			indexed: []*networkingv1.NetworkPolicy{denyAll, allowDNS},
			pods:    pods,
			req: updateReq(allowDNS, func(np *networkingv1.NetworkPolicy) {
				np.Spec.Egress[0].Ports = []networkingv1.NetworkPolicyPort{port("", intstr.FromInt32(53))}
			}),
			want:         ruletest.Warned("eksguard [networkPolicy] Changing NetworkPolicy shop/allow-dns cuts DNS (UDP 53) for 3 pods in namespace shop"),
			wantPodLists: 1,
		},
		{
			name:    "dns off: deleting the DNS allow is silent",
			edit:    func(c *config.Config) { c.Rules.NetworkPolicy.DNS.Mode = config.ModeOff },
			indexed: []*networkingv1.NetworkPolicy{denyAll, allowDNS},
			pods:    pods,
			req:     deleteReq(allowDNS),
			want:    ruletest.Allowed(), wantPodLists: 1,
		},
		{
			name:    "rule off: no pod list",
			edit:    func(c *config.Config) { c.Rules.NetworkPolicy.Mode = config.ModeOff },
			indexed: []*networkingv1.NetworkPolicy{denyAll},
			pods:    pods,
			req:     deleteReq(denyAll),
			want:    ruletest.Allowed(),
		},
		{
			name:    "narrowing the podSelector",
			indexed: []*networkingv1.NetworkPolicy{denyAll},
			pods:    pods,
			req: updateReq(denyAll, func(np *networkingv1.NetworkPolicy) {
				np.Spec.PodSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"db"}},
				}}
			}),
			want:         ruletest.Warned("eksguard [networkPolicy] Changing NetworkPolicy deny-all leaves 2 pods in namespace shop uncovered"),
			wantPodLists: 1,
		},
		{
			name:    "dropping Egress matters under coverage egress",
			edit:    func(c *config.Config) { c.Rules.NetworkPolicy.Coverage = config.CoverageEgress },
			indexed: []*networkingv1.NetworkPolicy{denyAll, webIngress},
			pods:    pods,
			req: updateReq(denyAll, func(np *networkingv1.NetworkPolicy) {
				np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			}),
			want:         ruletest.Warned("eksguard [networkPolicy] Changing NetworkPolicy deny-all leaves 3 pods in namespace shop uncovered"),
			wantPodLists: 1,
		},
		{
			name:    "dropping Egress does not matter under coverage any",
			indexed: []*networkingv1.NetworkPolicy{denyAll},
			pods:    pods,
			req: updateReq(denyAll, func(np *networkingv1.NetworkPolicy) {
				np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			}),
			want:         ruletest.Allowed(),
			wantPodLists: 1,
		},
		{
			name:    "an update that keeps podSelector and policyTypes lists no pods",
			indexed: []*networkingv1.NetworkPolicy{denyAll},
			pods:    pods,
			req: updateReq(denyAll, func(np *networkingv1.NetworkPolicy) {
				np.Labels = map[string]string{"team": "a"}
				np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{}}
			}),
			want: ruletest.Allowed(),
		},
		{
			// decision.Undecided of a route that only warns: admitted, saying so.
			name:         "pod list fails: admitted with a warning",
			indexed:      []*networkingv1.NetworkPolicy{denyAll},
			podsErr:      errors.New("forbidden"),
			req:          deleteReq(denyAll),
			want:         ruletest.Warned(`eksguard [networkPolicy] could not decide on NetworkPolicy coverage: listing the pods of namespace "shop": forbidden`),
			wantPodLists: 1,
		},
		{
			name: "delete without the old object",
			req: func(*testing.T) admission.Request {
				return admissionRequest(admissionv1.Delete, netpolKind, "shop", "deny-all", nil, nil)
			},
			want: ruletest.Errored(400, "decoding the old NetworkPolicy: the request has no object"),
		},
		{
			name: "malformed update",
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Update, netpolKind, "shop", "deny-all", []byte(`{"spec": []}`), mustJSON(t, denyAll))
			},
			want: ruletest.Errored(400, "decoding the NetworkPolicy: json: cannot unmarshal array into Go struct field NetworkPolicy.spec of type v1.NetworkPolicySpec"),
		},
		{
			name: "create is not checked",
			req: func(t *testing.T) admission.Request {
				return admissionRequest(admissionv1.Create, netpolKind, "shop", "deny-all", mustJSON(t, denyAll), nil)
			},
			want: ruletest.Allowed(),
		},
		{
			name: "unknown kind",
			req: func(*testing.T) admission.Request {
				return admissionRequest(admissionv1.Delete, metav1.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}, "shop", "web", nil, []byte(`{}`))
			},
			want: ruletest.Errored(400, "unsupported kind networking.k8s.io/v1, Kind=Ingress: this webhook serves networking.k8s.io/v1 networkpolicies, networking.k8s.aws/v1alpha1 applicationnetworkpolicies, "+
				"networking.k8s.aws/v1alpha1 clusternetworkpolicies, cilium.io/v2 ciliumnetworkpolicies, cilium.io/v2 ciliumclusterwidenetworkpolicies, "+
				"policy.networking.k8s.io/v1alpha2 clusternetworkpolicies, projectcalico.org/v3 networkpolicies, projectcalico.org/v3 globalnetworkpolicies"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edit := tt.edit
			if edit == nil {
				edit = func(c *config.Config) { c.Rules.NetworkPolicy.Mode = config.ModeWarn }
			}
			live := &liveReader{pods: tt.pods, err: tt.podsErr}
			v := NewPolicyChangeHandler(newTestChecker(ruletest.CompilePolicy(t, edit), tt.indexed, live))
			ruletest.CheckAnswer(t, v.Handle(context.Background(), tt.req(t)), tt.want)
			if len(live.lists) != tt.wantPodLists {
				t.Fatalf("pod lists = %d, want %d", len(live.lists), tt.wantPodLists)
			}
			for _, o := range live.lists {
				if got := fmt.Sprintf("ns=%s fields=%s limit=%d", o.Namespace, o.FieldSelector, o.Limit); got !=
					"ns=shop fields=status.phase!=Succeeded,status.phase!=Failed limit=500" {
					t.Errorf("pod list options: %s", got)
				}
			}
		})
	}
}

// TestPolicyChangeHandlerPaginates follows continue tokens through every page.
func TestPolicyChangeHandlerPaginates(t *testing.T) {
	denyAll := netpolObject("shop", "deny-all", metav1.LabelSelector{}, networkingv1.PolicyTypeIngress)
	live := &liveReader{}
	for i := range 1234 {
		live.pods = append(live.pods, podMeta("shop", fmt.Sprintf("web-%d", i), map[string]string{"app": "web"}))
	}
	pol := ruletest.CompilePolicy(t, func(c *config.Config) { c.Rules.NetworkPolicy.Mode = config.ModeWarn })
	v := NewPolicyChangeHandler(newTestChecker(pol, []*networkingv1.NetworkPolicy{denyAll}, live))
	resp := v.Handle(context.Background(), admissionRequest(admissionv1.Delete, netpolKind, "shop", "deny-all", nil, mustJSON(t, denyAll)))
	ruletest.CheckAnswer(t, resp, ruletest.Warned("eksguard [networkPolicy] Deleting NetworkPolicy deny-all leaves 1234 pods in namespace shop uncovered"))
	var continues []string
	for _, o := range live.lists {
		continues = append(continues, o.Continue)
	}
	if got, want := fmt.Sprint(continues), "[ 500 1000]"; got != want {
		t.Errorf("continue tokens = %s, want %s", got, want)
	}
}
