package decision

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/eksguard/eksguard/config"
)

type fixedPolicy struct{ p *config.Policy }

func (f fixedPolicy) Current() *config.Policy { return f.p }

// TestSnapshotNamespaceLabels: a snapshot reads namespace labels from the
// cache, or live for a namespace the cache does not know yet, and only once.
func TestSnapshotNamespaceLabels(t *testing.T) {
	cfg := config.Defaults()
	cfg.Scope.ExcludedNamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"eksguard.io/skip": "true"}}
	pol, err := config.Compile(cfg, "eksguard-system")
	if err != nil {
		t.Fatal(err)
	}
	skipped := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Labels: map[string]string{"eksguard.io/skip": "true"}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "legacy"}}
	empty := fake.NewClientBuilder().Build()
	withNamespace := fake.NewClientBuilder().WithObjects(skipped).Build()

	tests := []struct {
		name         string
		cached, live client.Reader
		want         config.Decision
		wantErr      string
	}{
		{name: "labels from the cache", cached: withNamespace, want: config.Decision{Mode: config.ModeOff, Excluded: true}},
		{name: "namespace not cached yet is read live", cached: empty, live: withNamespace, want: config.Decision{Mode: config.ModeOff, Excluded: true}},
		{name: "namespace unknown everywhere", cached: empty, live: empty, wantErr: `reading labels of namespace "legacy": namespaces "legacy" not found`},
		{name: "no live reader", cached: empty, wantErr: `reading labels of namespace "legacy": namespaces "legacy" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cached := &countingReader{Reader: tt.cached}
			p := Decider{Policy: fixedPolicy{pol}, Namespaces: cached, LiveNamespaces: tt.live, Now: func() time.Time { return time.Unix(0, 0) }}
			snap := p.Snapshot()
			d, err := snap.Decide(context.Background(), pod, config.RuleNetworkPolicy)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := d.For(config.ModeEnforce); got != tt.want {
				t.Fatalf("decision = %+v, want %+v", got, tt.want)
			}
			if _, err := snap.Decide(context.Background(), pod, config.RuleSeccomp); err != nil || cached.gets != 1 {
				t.Errorf("a second decision read the namespace again (%d reads, error %v)", cached.gets, err)
			}
		})
	}
}

// countingReader counts the Gets it serves.
type countingReader struct {
	client.Reader
	gets int
}

func (r *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	r.gets++
	return r.Reader.Get(ctx, key, obj, opts...)
}
