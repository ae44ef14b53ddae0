package test

import (
	"path/filepath"
	"testing"

	"github.com/eksguard/eksguard/internal/testkit/charttest"
)

// chart is the chart these envtest suites install.
var chart = charttest.Chart{Dir: filepath.Join("..", "charts", "eksguard"), RepoRoot: ".."}

const chartRelease = charttest.Release

// renderChart renders the chart, failing the test on a helm error.
func renderChart(t *testing.T, release, namespace, values string) charttest.Rendered {
	t.Helper()
	return chart.Render(t, release, namespace, values)
}
