//go:build bench

package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
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
// round trip, the JSON patch) is in the figure. Six setups, in the same
// run: no webhooks; the allow-all baseline on eksguard's two pod paths
// (seccomp mutation, coverage); eksguard on both, mutating through the
// webhook; eksguard on both with the seccomp admission policy injecting
// in the API server (rendered from the same policy, as the reconciler
// renders it); eksguard's coverage webhook alone (no mutation at all, to
// separate what each way of mutating costs); the admission policy alone.
//
// Each setup has its own namespace, and every setup's webhooks and binding
// select only theirs, so all stay registered for the whole phase and the
// rounds alternate the setups: the machine's load drifts within a run, and
// a setup measured only at its start or end would carry the drift.

// apiCreates is how many pods each cell creates in each round.
const (
	apiCreates = 400
	apiRounds  = 3
)

var apiConcurrencies = []int{1, 8}

// apiSetup is one setup of the phase.
type apiSetup struct {
	name string
	// namespace is where the setup's pods are created; its webhooks and
	// the binding select it alone.
	namespace string
	// server is the webhook server the setup's webhooks call; nil
	// registers none.
	server *process
	// mutatingWebhook registers the seccomp mutation's webhook besides the
	// coverage one.
	mutatingWebhook bool
	// admissionPolicy binds the seccomp admission policy.
	admissionPolicy bool
}

// mutates is whether the setup's pods get their profile.
func (s apiSetup) mutates(eks *process) bool {
	return s.admissionPolicy || s.mutatingWebhook && s.server == eks
}

const (
	setupNone          = "no webhooks"
	setupPair          = "allow-all webhook pair"
	setupWebhook       = "eksguard, webhook mutation"
	setupPolicy        = "eksguard, admission policy"
	setupCoverageOnly  = "eksguard, coverage only"
	setupPolicyOnly    = "admission policy only"
	admissionPolicyKey = "eksguard-load/admission-policy"
)

type apiCell struct {
	setup       string
	concurrency int
	stats       stats
	// apiCPU is the API server's CPU over the cell's rounds.
	apiCPU time.Duration
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
	apiServer := apiServerPID(t, cfg)
	setups := []apiSetup{
		{name: setupNone},
		{name: setupPair, server: base, mutatingWebhook: true},
		{name: setupWebhook, server: eks, mutatingWebhook: true},
		{name: setupPolicy, server: eks, mutatingWebhook: true, admissionPolicy: true},
		{name: setupCoverageOnly, server: eks},
		// What the admission policy alone costs the API server.
		{name: setupPolicyOnly, admissionPolicy: true},
	}
	for i := range setups {
		setups[i].namespace = fmt.Sprintf("api-%d", i)
	}
	for _, setup := range setups {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: setup.namespace}}
		if setup.admissionPolicy {
			ns.Labels = map[string]string{admissionPolicyKey: "true"}
		}
		if err := c.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
		// The pods' policy, so that eksguard's coverage admits them.
		if err := c.Create(ctx, realisticPolicy(ns.Name, "web", "web")); err != nil {
			t.Fatal(err)
		}
		registerPodWebhooks(t, c, setup, caPEM)
	}
	name := "eksguard-load-api"
	ap := seccomp.RenderAdmissionPolicy(config.DefaultPolicy(server.DefaultNamespace), name, time.Now())
	ap.Binding.Spec.MatchResources = &admissionregistrationv1.MatchResources{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{admissionPolicyKey: "true"}}}
	for _, obj := range []client.Object{ap.Policy, ap.Binding} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	// The API server picks configurations up through informers, eksguard
	// the policies through its cache; the check proves each setup is in
	// place: admitted, mutated exactly where it should be, and judged by
	// eksguard's coverage exactly where it should be (a pod no policy
	// selects is denied there, admitted elsewhere).
	for _, setup := range setups {
		waitFor(t, setup.name+" in place", func() error {
			pod := realisticPod()
			pod.Namespace = setup.namespace
			if err := c.Create(ctx, pod, client.DryRunAll); err != nil {
				return err
			}
			mutated := pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.SeccompProfile != nil
			if want := setup.mutates(eks); mutated != want {
				return fmt.Errorf("%s: pod mutated %v, want %v", setup.name, mutated, want)
			}
			uncovered := realisticPod()
			uncovered.Namespace, uncovered.Labels["app"] = setup.namespace, "uncovered"
			err := c.Create(ctx, uncovered, client.DryRunAll)
			if err != nil && !strings.Contains(err.Error(), webhook.NetworkPolicyPods.Name) {
				return err
			}
			if denied, want := err != nil, setup.server == eks; denied != want {
				return fmt.Errorf("%s: uncovered pod denied %v, want %v", setup.name, denied, want)
			}
			return nil
		})
	}
	time.Sleep(time.Second)

	// cells are in setup order, then concurrency order.
	cells := make([]apiCell, 0, len(setups)*len(apiConcurrencies))
	for _, setup := range setups {
		for _, conc := range apiConcurrencies {
			cells = append(cells, apiCell{setup: setup.name, concurrency: conc})
		}
	}
	for round := range apiRounds {
		for k := range setups {
			// Each round starts one setup further on.
			i := (k + round) % len(setups)
			setup := setups[i]
			for j, conc := range apiConcurrencies {
				cell := &cells[i*len(apiConcurrencies)+j]
				profiled := func() {}
				if round == 0 {
					profiled = profileAPIServer(t, cfg, fmt.Sprintf("%s-c%d", setup.name, conc))
				}
				var serverBefore time.Duration
				if setup.server != nil {
					serverBefore = processCPU(t, setup.server)
				}
				apiBefore := pidCPU(t, apiServer)
				m := createPods(t, c, setup.namespace, conc)
				cell.apiCPU += pidCPU(t, apiServer) - apiBefore
				if setup.server != nil {
					m.cpu = processCPU(t, setup.server) - serverBefore
				}
				cell.stats.add(m)
				profiled()
			}
		}
	}
	return cells
}

// registerPodWebhooks registers eksguard's pod webhooks for setup, as its
// route table declares them (paths, rules, match conditions), calling
// setup.server for the pods of its namespace; none without a server.
func registerPodWebhooks(t *testing.T, c client.Client, setup apiSetup, caPEM []byte) {
	if setup.server == nil {
		return
	}
	ctx := context.Background()
	clientConfig := func(r *webhook.Route) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{URL: ptr.To(setup.server.url + r.Path), CABundle: caPEM}
	}
	inNamespace := &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: setup.namespace}}
	name := "eksguard-load-" + setup.namespace
	objs := []client.Object{&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: webhook.NetworkPolicyPods.Name, ClientConfig: clientConfig(webhook.NetworkPolicyPods),
			Rules: webhook.NetworkPolicyPods.Rules(), MatchConditions: webhook.NetworkPolicyPods.MatchConditions, NamespaceSelector: inNamespace,
			FailurePolicy: ptr.To(admissionregistrationv1.Fail), SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"}}}}}
	if setup.mutatingWebhook {
		objs = append(objs, &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
			Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: webhook.SeccompPods.Name, ClientConfig: clientConfig(webhook.SeccompPods),
				Rules: webhook.SeccompPods.Rules(), MatchConditions: webhook.SeccompPods.MatchConditions, NamespaceSelector: inNamespace,
				FailurePolicy: ptr.To(admissionregistrationv1.Ignore), SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
				AdmissionReviewVersions: []string{"v1"}, ReinvocationPolicy: ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy)}}})
	}
	for _, obj := range objs {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
}

// createPods makes apiCreates dry-run pod creates in namespace with conc
// workers.
func createPods(t *testing.T, c client.Client, namespace string, conc int) measurement {
	ctx := context.Background()
	var mu sync.Mutex
	var m measurement
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
				pod.Namespace = namespace
				t0 := time.Now()
				err := c.Create(ctx, pod, client.DryRunAll)
				d := time.Since(t0)
				if err != nil {
					t.Errorf("dry-run pod create: %v", err)
					return
				}
				mu.Lock()
				m.latencies = append(m.latencies, d)
				m.requests++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	m.elapsed = time.Since(start)
	return m
}

// apiServerPID is the process of the envtest API server cfg talks to: the
// kube-apiserver whose --secure-port is cfg's port.
func apiServerPID(t *testing.T, cfg *rest.Config) int {
	t.Helper()
	host, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	port := host.Port()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range dirs {
		data, err := os.ReadFile(file)
		if err != nil {
			continue // gone
		}
		args := strings.Split(string(bytes.TrimRight(data, "\x00")), "\x00")
		if filepath.Base(args[0]) == "kube-apiserver" && slices.Contains(args, "--secure-port="+port) {
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(file)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatalf("no kube-apiserver process with --secure-port=%s", port)
	return 0
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

// reportAPIServer prints the phase, with the two comparisons and
// what each way of mutating adds to eksguard's coverage webhook alone.
func reportAPIServer(w io.Writer, cells []apiCell) {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) }
	perCreate := func(cpu time.Duration, s *stats) time.Duration { return cpu / time.Duration(max(s.requests, 1)) }
	fmt.Fprintf(w, "\nThrough the API server: %d dry-run pod creates per cell, in %d alternating rounds (eksguard's two pod webhooks: seccomp mutation, coverage)\n",
		apiCreates*apiRounds, apiRounds)
	fmt.Fprintf(w, "%-30s %5s %9s %9s %9s %14s %14s\n", "SETUP", "CONC", "REQ/S", "P50 ms", "P99 ms", "API CPU ms/pod", "HOOK CPU ms/pod")
	by := map[string]*apiCell{}
	for i := range cells {
		cell := &cells[i]
		fmt.Fprintf(w, "%-30s %5d %9.0f %9s %9s %14s %14s\n", cell.setup, cell.concurrency, cell.stats.rps(),
			ms(cell.stats.percentile(0.5)), ms(cell.stats.percentile(0.99)), ms(perCreate(cell.apiCPU, &cell.stats)), ms(perCreate(cell.stats.cpu, &cell.stats)))
		by[fmt.Sprintf("%s/%d", cell.setup, cell.concurrency)] = cell
	}
	for _, conc := range apiConcurrencies {
		get := func(setup string) *apiCell { return by[fmt.Sprintf("%s/%d", setup, conc)] }
		none, pair, hook, policy, coverage := get(setupNone), get(setupPair), get(setupWebhook), get(setupPolicy), get(setupCoverageOnly)
		if none == nil || pair == nil || hook == nil || policy == nil || coverage == nil {
			continue
		}
		p50 := func(c *apiCell) time.Duration { return c.stats.percentile(0.5) }
		added := func(c *apiCell) time.Duration { return p50(c) - p50(none) }
		fmt.Fprintf(w, "concurrency %d: admission policy throughput %.2f of the allow-all pair's (target >= 1); p50 added over no webhooks %s ms against %s ms with the webhook mutation (ratio %.2f, target <= 0.5)\n",
			conc, policy.stats.rps()/pair.stats.rps(), ms(added(policy)), ms(added(hook)), float64(added(policy))/float64(added(hook)))
		apiPerPod := func(c *apiCell) time.Duration { return perCreate(c.apiCPU, &c.stats) }
		fmt.Fprintf(w, "concurrency %d: over eksguard's coverage webhook alone, the mutation adds p50 %s ms and API server CPU %s ms per pod through the webhook, %s and %s ms through the admission policy\n",
			conc, ms(p50(hook)-p50(coverage)), ms(apiPerPod(hook)-apiPerPod(coverage)), ms(p50(policy)-p50(coverage)), ms(apiPerPod(policy)-apiPerPod(coverage)))
	}
}
