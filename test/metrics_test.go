package test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/eksguard/eksguard/internal/app/server"
)

// metricName finds the metric names in PromQL: every metric eksguard's
// rules and dashboard use has one of these prefixes, and up is the one
// Prometheus makes itself.
var metricName = regexp.MustCompile(`\b(eksguard_[a-z0-9_]+|controller_runtime_[a-z0-9_]+|go_[a-z0-9_]+|process_[a-z0-9_]+|up|` +
	strings.Join(kubeletMetrics, "|") + `)\b`)

// kubeletMetrics are the series a rule reads from the kubelet's cAdvisor
// endpoint, which every Prometheus that monitors Kubernetes scrapes: the
// pods' memory limits, that the cache alert compares eksguard's size to.
var kubeletMetrics = []string{"container_spec_memory_limit_bytes"}

// selectorName is any identifier followed by a label selector: a metric.
var selectorName = regexp.MustCompile(`\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)

// TestChartMonitoringReferencesServedMetrics: every metric the chart's
// PrometheusRule and Grafana dashboard query is served by a running
// eksguard (this suite's server, scraped over HTTP after it answered
// admissions), histograms by their _bucket, _sum and _count series.
func TestChartMonitoringReferencesServedMetrics(t *testing.T) {
	// A policy reload and an admission first, so that the series of
	// counters and histograms exist.
	applyPolicy(t, lbtlsStrongDefaultPolicy)
	ns := newNamespace(t, nil)
	_ = k8sClient.Create(context.Background(), seccompTestPod(ns))

	served := scrapeFamilies(t)
	for _, want := range []string{server.MetricCertificateExpiry, server.MetricCacheObjects} {
		if !served[want] {
			t.Errorf("the server does not serve %s", want)
		}
	}

	r := renderChart(t, chartRelease, server.DefaultNamespace, "metrics: {prometheusRule: {enabled: true}, dashboard: {enabled: true}}")
	var exprs []string
	rule := r.Find(t, "PrometheusRule", "eksguard")
	for _, g := range rule["spec"].(map[string]any)["groups"].([]any) {
		for _, ru := range g.(map[string]any)["rules"].([]any) {
			exprs = append(exprs, ru.(map[string]any)["expr"].(string))
		}
	}
	cm := r.Find(t, "ConfigMap", "eksguard-dashboard")
	var dashboard struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal([]byte(cm["data"].(map[string]any)["eksguard.json"].(string)), &dashboard); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	for _, p := range dashboard.Panels {
		for _, target := range p.Targets {
			exprs = append(exprs, target.Expr)
		}
	}
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions found", len(exprs))
	}
	for _, expr := range exprs {
		names := metricName.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("no metric found in %q", expr)
		}
		for _, m := range selectorName.FindAllStringSubmatch(expr, -1) {
			if !slices.Contains(names, m[1]) {
				t.Errorf("%q selects %s, which has none of the known prefixes", expr, m[1])
			}
		}
		for _, name := range names {
			if name == "up" || slices.Contains(kubeletMetrics, name) {
				continue
			}
			family := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if f, ok := strings.CutSuffix(name, suffix); ok && served[f] {
					family = f
				}
			}
			if !served[family] {
				t.Errorf("%q uses %s, which the server does not serve", expr, name)
			}
		}
	}
}

// scrapeFamilies reads the metric families the server exposes, over HTTP
// as Prometheus does (the suite's server serves the process registry).
func scrapeFamilies(t *testing.T) map[string]bool {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for name := range families {
		out[name] = true
	}
	return out
}
