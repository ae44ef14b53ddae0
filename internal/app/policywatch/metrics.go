package policywatch

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Values of the result label of eksguard_config_reloads_total.
const (
	ReloadLoaded  = "loaded"
	ReloadInvalid = "invalid"
	ReloadDeleted = "deleted"
)

var (
	configReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "eksguard_config_reloads_total",
		Help: "Changes of the policy ConfigMap seen, by result: loaded, invalid (rejected, the last good policy stays) or deleted (back to built-in defaults).",
	}, []string{"result"})

	configInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "eksguard_config_info",
		Help: "Always 1, labelled with the hash and source of the policy in force.",
	}, []string{"hash", "source"})

	configLastSuccessfulLoad = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "eksguard_config_last_successful_load_timestamp_seconds",
		Help: "Unix time at which the policy in force was put in force.",
	})

	// A gauge that only grows: the generation of the policy in force.
	configGeneration = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "eksguard_config_generation",
		Help: "Number of policies put in force by this process (the startup policy is 1).",
	})
)

func init() {
	metrics.Registry.MustRegister(configReloads, configInfo, configLastSuccessfulLoad, configGeneration)
}
