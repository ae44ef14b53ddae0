package cli

import "testing"

// TestGoMemoryLimit: the soft limit is the ratio of the container's limit
// the downward API gives, unless GOMEMLIMIT was set by hand (the runtime
// read it at start) or there is nothing to set; a value that is not bytes
// is an error, never a silent default.
func TestGoMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name, container, gomemlimit string
		ratio                       float64
		want                        int64
		wantErr                     bool
	}{
		{name: "the chart's 384Mi at the default ratio", container: "402653184", ratio: DefaultMemoryLimitRatio, want: 362387865},
		{name: "the whole limit", container: "1000", ratio: 1, want: 1000},
		{name: "GOMEMLIMIT set by hand wins", container: "402653184", gomemlimit: "200MiB", ratio: 0.9},
		{name: "no limit given", ratio: 0.9},
		{name: "ratio 0 turns it off", container: "402653184"},
		{name: "a quantity, not bytes", container: "384Mi", ratio: 0.9, wantErr: true},
		{name: "zero bytes", container: "0", ratio: 0.9, wantErr: true},
		{name: "a ratio above 1", container: "1000", ratio: 1.5, wantErr: true},
		{name: "a negative ratio", container: "1000", ratio: -0.1, wantErr: true},
	} {
		got, err := goMemoryLimit(tc.container, tc.gomemlimit, tc.ratio)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: %d, %v; want %d (error %t)", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}
