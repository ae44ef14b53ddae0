package netpol

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

// benchPolicy is a typical per-app policy: two labels and a tier expression.
func benchPolicy(namespace string, i int) *networkingv1.NetworkPolicy {
	np := netpolObject(namespace, fmt.Sprintf("svc-%d", i), metav1.LabelSelector{
		MatchLabels: map[string]string{"app": fmt.Sprintf("svc-%d", i), "team": "payments"},
		MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"fe", "be"}},
		},
	}, networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)
	np.UID = types.UID(fmt.Sprintf("%s-%d", namespace, i))
	np.ResourceVersion = fmt.Sprint(1000 + i)
	return np
}

// otherNamespacePolicies fills 10 other namespaces with 1,000 policies each.
const otherNamespaces, policiesPerOtherNamespace = 10, 1000

func benchIndex(policies int, fillOthers bool) *Index {
	ix := NewIndex()
	if fillOthers {
		for n := range otherNamespaces {
			for i := range policiesPerOtherNamespace {
				ix.OnAdd(benchPolicy(fmt.Sprintf("other-%d", n), i), true)
			}
		}
	}
	for i := range policies {
		ix.OnAdd(benchPolicy("shop", i), true)
	}
	return ix
}

var benchPodLabels = labels.Set{"app": "web", "team": "payments", "tier": "fe", "pod-template-hash": "7d9f8b6c5d"}

// BenchmarkLookup is the cached decision for a pod that none of the
// namespace's policies selects, so every policy is matched: the worst case.
func BenchmarkLookup(b *testing.B) {
	for _, others := range []bool{false, true} {
		for _, n := range []int{0, 10, 100, 1000} {
			b.Run(fmt.Sprintf("policies=%d/others=%d", n, otherPolicyCount(others)), func(b *testing.B) {
				ix := benchIndex(n, others)
				// Built once: the allocations counted are the lookup's.
				pod := &Pod{Namespace: "shop", Labels: benchPodLabels}
				b.ReportAllocs()
				for b.Loop() {
					if r := ix.CheckCoverage(pod, Want{Coverage: config.CoverageBoth}); r.Covered || r.Applying != n {
						b.Fatalf("covered=%t count=%d", r.Covered, r.Applying)
					}
				}
			})
		}
	}
}

// BenchmarkPodHandler is a whole Pod CREATE admission (decode, policy
// decision, lookup, the DNS step, response) for a pod that only the last
// of the namespace's policies covers, in a namespace that allows DNS.
func BenchmarkPodHandler(b *testing.B) {
	pod := podJSON(b, "web-7d9f8b6c5d-x2x9k", benchPodLabels, nil)
	req := admissionRequest(admissionv1.Create, podKind, "shop", "web-7d9f8b6c5d-x2x9k", pod, nil)
	for _, others := range []bool{false, true} {
		for _, n := range []int{0, 10, 100, 1000} {
			b.Run(fmt.Sprintf("policies=%d+1/others=%d", n, otherPolicyCount(others)), func(b *testing.B) {
				ix := benchIndex(n, others)
				ix.OnAdd(netpolObject("shop", "web", metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress), true)
				allowDNS := egressNP("allow-dns", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{toKubeDNS}, Ports: dns53})
				ix.OnAdd(allowDNS, true)
				checker := newTestChecker(ruletest.CompilePolicy(b, nil), nil, &liveReader{})
				checker.Index = ix
				v := NewPodHandler(checker)
				b.ReportAllocs()
				for b.Loop() {
					if resp := v.Handle(context.Background(), req); !resp.Allowed {
						b.Fatalf("denied: %v", resp.Result)
					}
				}
			})
		}
	}
}

func otherPolicyCount(fill bool) int {
	if fill {
		return otherNamespaces * policiesPerOtherNamespace
	}
	return 0
}

// BenchmarkIndexMemory reports the heap the index holds per NetworkPolicy,
// over 10,000 policies in 100 namespaces. The policy objects exist before
// the first measurement, as they do in the informer's store: the figure is
// what the index adds on top.
func BenchmarkIndexMemory(b *testing.B) {
	const total, namespaces = 10000, 100
	objects := make([]*networkingv1.NetworkPolicy, total)
	for i := range objects {
		objects[i] = benchPolicy(fmt.Sprintf("ns-%d", i%namespaces), i)
	}
	perPolicy := indexHeapPerObject(b, len(objects), func(ix *Index) {
		for _, np := range objects {
			ix.OnAdd(np, true)
		}
	})
	b.ReportMetric(perPolicy, "heap-B/policy")
	runtime.KeepAlive(objects)
}

// indexHeapPerObject is the heap an index holds after fill, per object of n.
func indexHeapPerObject(b *testing.B, n int, fill func(*Index)) float64 {
	var perObject float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ix := NewIndex()
		fill(ix)
		runtime.GC()
		runtime.ReadMemStats(&after)
		perObject = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		runtime.KeepAlive(ix)
	}
	return perObject
}
