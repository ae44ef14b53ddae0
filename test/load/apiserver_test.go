//go:build bench

package load

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/webhook"
	"github.com/eksguard/eksguard/webhook/seccomp"
)

// The API server phase (issue 26): dry-run pod creates through the real
// API server, so that what the API server pays for each webhook call (the
// round trip, the JSON patch) is in the figure. Four setups, in the same
// run: no webhooks; the allow-all baseline on eksguard's two pod paths
// (seccomp mutation, coverage); eksguard on both, mutating through the
// webhook; eksguard on both with the seccomp admission policy injecting
// in the API server (rendered from the same policy, as the reconciler
// renders it).

// apiCreates is how many pods each cell creates.
const apiCreates = 1000

var apiConcurrencies = []int{1, 8}

// apiSetup is one setup of the phase.
type apiSetup struct {
	name string
	// url is the server the two webhooks call; "" registers none.
	url string
	// admissionPolicy binds the seccomp admission policy.
	admissionPolicy bool
}

type apiCell struct {
	setup       string
	concurrency int
	stats       stats
}

// apiServerPhase runs the phase; eks must run with --seccomp-admission-policy=false
// (the phase writes the admission policy itself).
func apiServerPhase(t *testing.T, cfg *rest.Config, eks, base *process, caPEM []byte) []apiCell {
	ctx := context.Background()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 5000, 10000
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	name := "eksguard-load-api"
	ap := seccomp.RenderAdmissionPolicy(config.DefaultPolicy(server.DefaultNamespace), name, time.Now())
	var cells []apiCell
	for _, setup := range []apiSetup{
		{name: "no webhooks"},
		{name: "allow-all webhook pair", url: base.url},
		{name: "eksguard, webhook mutation", url: eks.url},
		{name: "eksguard, admission policy", url: eks.url, admissionPolicy: true},
		// What the admission policy alone costs the API server.
		{name: "admission policy only", admissionPolicy: true},
	} {
		cleanup := registerPodWebhooks(t, c, name, setup.url, caPEM)
		if setup.admissionPolicy {
			for _, obj := range []client.Object{ap.Policy.DeepCopy(), ap.Binding.DeepCopy()} {
				if err := c.Create(ctx, obj); err != nil {
					t.Fatal(err)
				}
			}
		}
		// The API server picks configurations up through informers; and
		// the check below proves the mutation is in place.
		waitFor(t, setup.name+" in place", func() error {
			pod := realisticPod()
			if err := c.Create(ctx, pod, client.DryRunAll); err != nil {
				return err
			}
			mutated := pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.SeccompProfile != nil
			if want := setup.url == eks.url || setup.admissionPolicy; mutated != want {
				return fmt.Errorf("%s: pod mutated %v, want %v", setup.name, mutated, want)
			}
			return nil
		})
		time.Sleep(time.Second)
		for _, conc := range apiConcurrencies {
			profiled := profileAPIServer(t, cfg, fmt.Sprintf("%s-c%d", setup.name, conc))
			cells = append(cells, apiCell{setup: setup.name, concurrency: conc, stats: createPods(t, c, conc)})
			profiled()
		}
		if setup.admissionPolicy {
			for _, obj := range []client.Object{ap.Binding, ap.Policy} {
				if err := c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
					t.Fatal(err)
				}
			}
		}
		cleanup()
	}
	return cells
}

// registerPodWebhooks registers eksguard's two pod webhooks, as its route
// table declares them (paths, rules, match conditions), calling url; none
// when url is "". It returns their removal.
func registerPodWebhooks(t *testing.T, c client.Client, name, url string, caPEM []byte) func() {
	if url == "" {
		return func() {}
	}
	ctx := context.Background()
	clientConfig := func(r *webhook.Route) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url + r.Path), CABundle: caPEM}
	}
	m := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: webhook.SeccompPods.Name, ClientConfig: clientConfig(webhook.SeccompPods),
			Rules: webhook.SeccompPods.Rules(), MatchConditions: webhook.SeccompPods.MatchConditions,
			FailurePolicy: ptr.To(admissionregistrationv1.Ignore), SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"}, ReinvocationPolicy: ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy)}}}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: webhook.NetworkPolicyPods.Name, ClientConfig: clientConfig(webhook.NetworkPolicyPods),
			Rules: webhook.NetworkPolicyPods.Rules(), MatchConditions: webhook.NetworkPolicyPods.MatchConditions,
			FailurePolicy: ptr.To(admissionregistrationv1.Fail), SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"}}}}
	for _, obj := range []client.Object{m, v} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		for _, obj := range []client.Object{m, v} {
			if err := c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Second) // for the API server's informers
	}
}

// createPods makes apiCreates dry-run pod creates with conc workers.
func createPods(t *testing.T, c client.Client, conc int) stats {
	ctx := context.Background()
	var mu sync.Mutex
	var s stats
	work := make(chan struct{}, apiCreates)
	for range apiCreates {
		work <- struct{}{}
	}
	close(work)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				pod := realisticPod()
				t0 := time.Now()
				err := c.Create(ctx, pod, client.DryRunAll)
				d := time.Since(t0)
				if err != nil {
					t.Errorf("dry-run pod create: %v", err)
					return
				}
				mu.Lock()
				s.latencies = append(s.latencies, d)
				s.requests++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s.elapsed = time.Since(start)
	return s
}

// profileAPIServer, when LOAD_APISERVER_PROFILE names a directory, takes a
// CPU profile of the API server (its /debug/pprof, on by default) for the
// first seconds of a cell into DIR/<name>.pprof; the returned func waits
// for it. Read one with go tool pprof -top.
func profileAPIServer(t *testing.T, cfg *rest.Config, name string) func() {
	dir := os.Getenv("LOAD_APISERVER_PROFILE")
	if dir == "" {
		return func() {}
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := httpClient.Get(strings.TrimSuffix(cfg.Host, "/") + "/debug/pprof/profile?seconds=2")
		if err != nil {
			t.Errorf("profiling the API server: %v", err)
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".pprof"), data, 0o644)
		}
		if err != nil {
			t.Errorf("profiling the API server: %v", err)
		}
	}()
	return func() { <-done }
}

// reportAPIServer prints the phase, with the two comparisons.
func reportAPIServer(w io.Writer, cells []apiCell) {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) }
	fmt.Fprintf(w, "\nThrough the API server: %d dry-run pod creates per cell (eksguard's two pod webhooks: seccomp mutation, coverage)\n", apiCreates)
	fmt.Fprintf(w, "%-30s %5s %9s %9s %9s\n", "SETUP", "CONC", "REQ/S", "P50 ms", "P99 ms")
	by := map[string]*stats{}
	for i := range cells {
		cell := &cells[i]
		fmt.Fprintf(w, "%-30s %5d %9.0f %9s %9s\n", cell.setup, cell.concurrency, cell.stats.rps(), ms(cell.stats.percentile(0.5)), ms(cell.stats.percentile(0.99)))
		by[fmt.Sprintf("%s/%d", cell.setup, cell.concurrency)] = &cell.stats
	}
	for _, conc := range apiConcurrencies {
		get := func(setup string) *stats { return by[fmt.Sprintf("%s/%d", setup, conc)] }
		none, pair, hook, policy := get("no webhooks"), get("allow-all webhook pair"), get("eksguard, webhook mutation"), get("eksguard, admission policy")
		if none == nil || pair == nil || hook == nil || policy == nil {
			continue
		}
		added := func(s *stats) time.Duration { return s.percentile(0.5) - none.percentile(0.5) }
		fmt.Fprintf(w, "concurrency %d: admission policy throughput %.2f of the allow-all pair's (target >= 1); p50 added over no webhooks %s ms against %s ms with the webhook mutation (ratio %.2f, target <= 0.5)\n",
			conc, policy.rps()/pair.rps(), ms(added(policy)), ms(added(hook)), float64(added(policy))/float64(added(hook)))
	}
}
