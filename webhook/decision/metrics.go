package decision

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	admissionDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "eksguard_admission_decisions_total",
		Help: "Admission decisions by rule, resource kind, effective mode and outcome.",
	}, []string{"rule", "kind", "mode", "outcome"})

	exemptionsApplied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "eksguard_exemptions_applied_total",
		Help: "Admissions in which an exemption lifted a rule, by rule and exemption name.",
	}, []string{"rule", "exemption"})
)

func init() {
	metrics.Registry.MustRegister(admissionDecisions, exemptionsApplied)
}
