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

func TestDecideWithPolicyNamespaceLabels(t *testing.T) {
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
			p := Decider{Source: fixedPolicy{pol}, Namespaces: tt.cached, LiveNamespaces: tt.live, Now: func() time.Time { return time.Unix(0, 0) }}
			got, err := p.DecideWithPolicy(context.Background(), pol, pod, config.RuleNetworkPolicy, config.ModeEnforce)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != tt.want {
				t.Fatalf("decision = %+v, want %+v", got[0], tt.want)
			}
		})
	}
}
