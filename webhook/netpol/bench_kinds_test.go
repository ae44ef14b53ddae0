package netpol

import (
	"fmt"
	"runtime"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	runtimeobj "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/eksguard/eksguard/config"
)

// benchKindObject is the i-th object of a kind, selecting app=svc-i, in
// namespace (ignored for cluster-scoped kinds), the way each kind is
// typically written.
func benchKindObject(kind *PolicyKind, namespace string, i int) runtimeobj.Object {
	app := fmt.Sprintf("svc-%d", i)
	podSel := selector(map[string]any{"app": app, "team": "payments"})
	var obj *unstructured.Unstructured
	switch kind {
	case KindNetworkPolicy:
		return benchPolicy(namespace, i)
	case KindApplicationNetworkPolicy:
		obj = object(kind, namespace, app, map[string]any{"podSelector": podSel, "policyTypes": list("Ingress", "Egress")})
	case KindCiliumNetworkPolicy:
		obj = object(kind, namespace, app, map[string]any{"endpointSelector": selector(map[string]any{"k8s:app": app}),
			"ingress": list(map[string]any{"fromEndpoints": list(map[string]any{})})})
	case KindCiliumClusterwideNetworkPolicy:
		obj = object(kind, "", app, map[string]any{"endpointSelector": selector(map[string]any{"k8s:app": app,
			"io.cilium.k8s.namespace.labels.team": "payments"}), "egressDeny": list(map[string]any{})})
	case KindCalicoNetworkPolicy:
		obj = object(kind, namespace, app, map[string]any{"selector": fmt.Sprintf("app == '%s' && team == 'payments'", app),
			"types": list("Ingress", "Egress"), "ingress": list(map[string]any{"action": "Allow", "source": map[string]any{"selector": "role == 'frontend'"}})})
	case KindCalicoGlobalNetworkPolicy:
		obj = object(kind, "", app, map[string]any{"namespaceSelector": "team == 'payments'", "selector": fmt.Sprintf("app == '%s'", app),
			"types": list("Ingress"), "ingress": list(map[string]any{"action": "Deny"})})
	case KindAWSClusterNetworkPolicy, KindClusterNetworkPolicy:
		obj = object(kind, "", app, map[string]any{"tier": "Baseline", "priority": int64(i % 1000),
			"subject": map[string]any{"pods": map[string]any{"namespaceSelector": selector(map[string]any{"team": "payments"}), "podSelector": podSel}},
			"ingress": list(map[string]any{"action": "Deny", "from": list(map[string]any{"namespaces": map[string]any{}})})})
	}
	obj.SetUID(types.UID(fmt.Sprintf("%s-%s-%s-%d", kind.Resource, kind.GVK.Group, namespace, i)))
	return obj
}

// mixedIndex holds perNamespace policies of the namespaced kinds (in turn)
// in shop and in each of others other namespaces, and clusterScoped of the
// cluster-scoped kinds: none selects the benchmark pod.
func mixedIndex(perNamespace, others, clusterScoped int) *Index {
	var namespaced, cluster []*PolicyKind
	for _, k := range Kinds {
		if k.Namespaced {
			namespaced = append(namespaced, k)
		} else {
			cluster = append(cluster, k)
		}
	}
	ix := NewIndex()
	for n := -1; n < others; n++ {
		ns := "shop"
		if n >= 0 {
			ns = fmt.Sprintf("other-%d", n)
		}
		for i := range perNamespace {
			ix.OnAdd(benchKindObject(namespaced[i%len(namespaced)], ns, i), true)
		}
	}
	for i := range clusterScoped {
		ix.OnAdd(benchKindObject(cluster[i%len(cluster)], "", i), true)
	}
	return ix
}

// BenchmarkCoverageMixedKinds is the cached decision for a pod that no
// policy selects (every policy is matched: the worst case), with 100
// namespaced policies of mixed kinds in its namespace and 100
// cluster-scoped ones; others=10 adds 10 namespaces of 100 policies that
// cannot apply, which must not change the cost.
func BenchmarkCoverageMixedKinds(b *testing.B) {
	pod := &Pod{Namespace: "shop", Labels: benchPodLabels, ServiceAccount: "default",
		NamespaceLabels: labels.Set{"kubernetes.io/metadata.name": "shop", "team": "payments"}}
	for _, tc := range []struct{ perNamespace, others, cluster int }{
		{100, 0, 0}, {100, 10, 0}, {0, 0, 100}, {100, 0, 100}, {100, 10, 100}, {1000, 0, 0}, {1000, 0, 100},
	} {
		b.Run(fmt.Sprintf("namespace=%d/others=%d/cluster=%d", tc.perNamespace, tc.others, tc.cluster), func(b *testing.B) {
			ix := mixedIndex(tc.perNamespace, tc.others, tc.cluster)
			b.ReportAllocs()
			for b.Loop() {
				if r := ix.CheckCoverage(pod, Want{Coverage: config.CoverageBoth}); r.Covered || r.Applying != tc.perNamespace+tc.cluster {
					b.Fatalf("covered=%t count=%d", r.Covered, r.Applying)
				}
			}
		})
	}
}

// BenchmarkIndexMemoryByKind reports the heap the index adds per cached
// object of each kind, over 10,000 objects (in 100 namespaces where the
// kind is namespaced).
func BenchmarkIndexMemoryByKind(b *testing.B) {
	const total, namespaces = 10000, 100
	for _, kind := range Kinds {
		b.Run(kind.Name, func(b *testing.B) {
			objects := make([]runtimeobj.Object, total)
			for i := range objects {
				objects[i] = benchKindObject(kind, fmt.Sprintf("ns-%d", i%namespaces), i)
			}
			perObject := indexHeapPerObject(b, total, func(ix *Index) {
				for _, o := range objects {
					ix.OnAdd(o, true)
				}
			})
			b.ReportMetric(perObject, "heap-B/object")
			runtime.KeepAlive(objects)
		})
	}
}
