package netpol

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// MetricKindWatched is 1 for each policy kind the server watches (the
// built-in NetworkPolicy, and each custom kind whose CRD is served), 0 for
// a custom kind it does not.
const MetricKindWatched = "eksguard_policy_kind_watched"

var kindWatched = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: MetricKindWatched,
	Help: "1 for each policy kind whose objects count for NetworkPolicy coverage (its CRD is served), else 0.",
}, []string{"kind"})

// MetricIndexPolicies is the number of policy objects the coverage index
// holds, every watched kind together.
const MetricIndexPolicies = "eksguard_policy_index_policies"

// servingIndex is the index the server's coverage routes read, for
// MetricIndexPolicies (nil outside the server).
var servingIndex atomic.Pointer[Index]

var indexPolicies = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
	Name: MetricIndexPolicies,
	Help: "Policy objects (every counted kind) held by the NetworkPolicy coverage index.",
}, func() float64 {
	if ix := servingIndex.Load(); ix != nil {
		return float64(ix.Len())
	}
	return 0
})

func init() {
	metrics.Registry.MustRegister(kindWatched, indexPolicies)
}

func setKindWatched(kind *PolicyKind, watched bool) {
	v := 0.0
	if watched {
		v = 1
	}
	kindWatched.WithLabelValues(kind.Name).Set(v)
}

// ServingIndexCounts is the number of policies of each kind the serving
// index holds (nil outside the server).
func ServingIndexCounts() map[string]int {
	ix := servingIndex.Load()
	if ix == nil {
		return nil
	}
	return ix.CountByKind()
}
