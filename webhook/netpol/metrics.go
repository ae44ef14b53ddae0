package netpol

import (
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

func init() {
	metrics.Registry.MustRegister(kindWatched)
}

func setKindWatched(kind *Kind, watched bool) {
	v := 0.0
	if watched {
		v = 1
	}
	kindWatched.WithLabelValues(kind.Name).Set(v)
}
