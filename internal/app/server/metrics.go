package server

// Metrics of the server's state that the chart's alerts and dashboard read:
// when the serving certificate expires, and how many objects the caches
// hold, by kind. Both are read at scrape time, never on an admission.

import (
	"context"
	"crypto/x509"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/eksguard/eksguard/webhook/netpol"
)

// Metric names, for the chart's rules and dashboard and their test.
const (
	MetricCertificateExpiry = "eksguard_certificate_expiry_timestamp_seconds"
	MetricCacheObjects      = "eksguard_cache_objects"
)

// serving is the state of the running server the metrics read (nil
// before one runs; the last one started in a process with several).
var serving atomic.Pointer[servingState]

type servingState struct {
	certificates certificateSource
	cache        client.Reader
}

var certificateExpiry = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
	Name: MetricCertificateExpiry,
	Help: "Unix time at which the webhook serving certificate expires (0 until one is loaded).",
}, func() float64 {
	s := serving.Load()
	if s == nil || s.certificates == nil {
		return 0
	}
	cert, err := s.certificates.GetCertificate(nil)
	if err != nil || cert == nil || len(cert.Certificate) == 0 {
		return 0
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return 0
		}
	}
	return float64(leaf.NotAfter.Unix())
})

// cacheObjects counts, at scrape time, the objects the caches hold: the
// policy objects of the coverage index by kind, and the Ingresses,
// IngressClasses and Namespaces of the manager's cache.
type cacheObjects struct{ desc *prometheus.Desc }

func (c cacheObjects) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c cacheObjects) Collect(ch chan<- prometheus.Metric) {
	for kind, n := range netpol.ServingIndexCounts() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), kind)
	}
	s := serving.Load()
	if s == nil || s.cache == nil {
		return
	}
	namespaces := &metav1.PartialObjectMetadataList{}
	namespaces.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	for kind, list := range map[string]client.ObjectList{
		"Ingress": &networkingv1.IngressList{}, "IngressClass": &networkingv1.IngressClassList{}, "Namespace": namespaces,
	} {
		if err := s.cache.List(context.Background(), list, client.UnsafeDisableDeepCopy); err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(itemCount(list)), kind)
	}
}

func itemCount(list client.ObjectList) int {
	switch l := list.(type) {
	case *networkingv1.IngressList:
		return len(l.Items)
	case *networkingv1.IngressClassList:
		return len(l.Items)
	case *metav1.PartialObjectMetadataList:
		return len(l.Items)
	}
	return 0
}

func init() {
	metrics.Registry.MustRegister(certificateExpiry, cacheObjects{desc: prometheus.NewDesc(MetricCacheObjects,
		"Objects held by eksguard's caches, by kind (policy kinds as the coverage index holds them).", []string{"kind"}, nil)})
}
