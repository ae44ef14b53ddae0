package cli

import (
	"fmt"
	"strconv"
)

// MemoryLimitEnv carries the container's memory limit in bytes; the chart
// fills it through the downward API (resourceFieldRef limits.memory).
const MemoryLimitEnv = "EKSGUARD_MEMORY_LIMIT"

// DefaultMemoryLimitRatio leaves a tenth of the container's limit to what
// the Go runtime's soft limit does not count (stacks, binary, OS buffers),
// as Prometheus's --auto-gomemlimit.ratio does.
const DefaultMemoryLimitRatio = 0.9

// goMemoryLimit is the soft memory limit for the Go runtime: ratio of the
// container's limit, in bytes; 0 when there is none to set (no limit
// given, ratio 0, or GOMEMLIMIT set by hand, which the runtime has read).
func goMemoryLimit(containerLimit, gomemlimit string, ratio float64) (int64, error) {
	if ratio < 0 || ratio > 1 {
		return 0, fmt.Errorf("--memory-limit-ratio %v: want a fraction between 0 and 1", ratio)
	}
	if gomemlimit != "" || containerLimit == "" || ratio == 0 {
		return 0, nil
	}
	n, err := strconv.ParseInt(containerLimit, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("$%s %q: want the container's memory limit in bytes", MemoryLimitEnv, containerLimit)
	}
	return int64(float64(n) * ratio), nil
}
