//go:build soak

// Package soak is the soak test of make soak (build tag soak, so that
// make test leaves it out): dry-run admissions through a real API server
// at steady concurrency, while faults come one after another, counted per
// fault. Everything runs on loopback and ends by itself within minutes.
//
//	steady                 no fault, the reference
//	certificate rotation   a new serving certificate (same CA) in both replicas' cert dirs
//	replica SIGTERM        one of two replicas behind the balancer is sent SIGTERM, then started again
//	API server restart     kube-apiserver sent SIGTERM (killed if still draining
//	                       after 10 s) and started again with the same command
//	                       line and certificates, then 4 s of admissions against it
//	policy flapping        the policy ConfigMap rewritten 30 times a second (verdicts unchanged)
//
// Two eksguard binaries serve behind a local TCP balancer that plays the
// Service: it sends each new connection to a replica whose /readyz passes.
// A failed admission is an answer that is neither the expected admission nor
// the expected denial (the API server could not call eksguard, or a replica
// cut a request off); a wrong verdict is the other answer.
package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
	"github.com/eksguard/eksguard/internal/testkit/testbed/testcert"
)

// Bounds of the soak.
const (
	workers      = 8
	phaseLength  = 8 * time.Second
	readyTimeout = time.Minute
	// configurationName names the soak's webhook configurations.
	configurationName = "eksguard-soak"
)

// replica is one eksguard process.
type replica struct {
	name       string
	port       string
	healthAddr string
	certDir    string
	cmd        *exec.Cmd
	exited     chan error
	ready      atomic.Bool
}

func TestSoak(t *testing.T) {
	// The clients' warnings are not the verdicts counted; without a logger
	// controller-runtime prints a stack for them.
	logf.SetLogger(logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cp := testbed.StartControlPlane(t, filepath.Join("..", ".."), 500, 1000)
	cfg, kubeconfig := cp.Config, cp.Kubeconfig
	apiURL, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{server.DefaultNamespace, "soak-covered", "soak-open"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "soak-covered", Name: "deny"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}); err != nil {
		t.Fatal(err)
	}

	// One CA; each replica serves a certificate it signed.
	caPEM, caKeyPEM := testcert.Issue(t, testcert.Request{CommonName: "eksguard-soak-ca", IsCA: true, Validity: 24 * time.Hour})
	ca, caKey := testcert.Parse(t, caPEM, caKeyPEM)
	issue := func(dir string) {
		certPEM, keyPEM := testcert.Issue(t, testcert.Request{CommonName: "eksguard", Hosts: []string{"127.0.0.1"}, CA: ca, CAKey: caKey})
		for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM} {
			tmp := filepath.Join(dir, "."+name)
			if err := os.WriteFile(tmp, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}

	bin, err := testbed.BuildBinary(false)
	if err != nil {
		t.Fatal(err)
	}
	defer testbed.RemoveBuilds()
	var replicas []*replica
	for _, name := range []string{"replica-1", "replica-2"} {
		r := &replica{name: name, certDir: t.TempDir()}
		issue(r.certDir)
		addr, err := testbed.FreeLocalAddress()
		if err != nil {
			t.Fatal(err)
		}
		_, r.port, _ = strings.Cut(addr, ":")
		if r.healthAddr, err = testbed.FreeLocalAddress(); err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, r)
	}
	start := func(r *replica) {
		r.cmd = exec.Command(bin, "serve", "--kubeconfig="+kubeconfig, "--webhook-port="+r.port, "--cert-dir="+r.certDir,
			"--health-probe-bind-address="+r.healthAddr, "--metrics-bind-address=0", "--webhook-configuration-name="+configurationName,
			"--drain-period=2s", "--graceful-shutdown-timeout=10s")
		r.cmd.Env = append(os.Environ(), "POD_NAMESPACE="+server.DefaultNamespace)
		r.cmd.Stdout, r.cmd.Stderr = io.Discard, io.Discard
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.exited = make(chan error, 1)
		go func(cmd *exec.Cmd, exited chan error) { exited <- cmd.Wait() }(r.cmd, r.exited)
	}
	for _, r := range replicas {
		start(r)
	}
	defer func() {
		for _, r := range replicas {
			if r.cmd.ProcessState == nil {
				_ = r.cmd.Process.Kill()
			}
		}
	}()
	// Readiness of each replica, as the endpoints controller sees it.
	go func() {
		for ctx.Err() == nil {
			for _, r := range replicas {
				r.ready.Store(testbed.Probe(ctx, "http://"+r.healthAddr+"/readyz") == nil)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	balancer := newBalancer(t, replicas)
	defer balancer.Close()
	waitUntil(t, "both replicas ready", func() bool { return replicas[0].ready.Load() && replicas[1].ready.Load() })

	// The webhook configurations, pointing at the balancer, trusting the CA.
	mutating, validating := testbed.WebhookConfigurations()
	url := func(path *string) *string { return ptr.To("https://" + balancer.Addr().String() + *path) }
	mutating.Name, validating.Name = configurationName, configurationName
	for i := range mutating.Webhooks {
		w := &mutating.Webhooks[i]
		w.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: url(w.ClientConfig.Service.Path), CABundle: caPEM}
	}
	for i := range validating.Webhooks {
		w := &validating.Webhooks[i]
		w.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: url(w.ClientConfig.Service.Path), CABundle: caPEM}
	}
	if err := c.Create(ctx, mutating); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, validating); err != nil {
		t.Fatal(err)
	}

	// Load.
	var phase atomic.Pointer[counts]
	phase.Store(&counts{name: "warm-up"})
	var wg sync.WaitGroup
	loadCtx, stopLoad := context.WithCancel(ctx)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; loadCtx.Err() == nil; i++ {
				ns := "soak-covered"
				if (w+i)%2 == 1 {
					ns = "soak-open"
				}
				admit(loadCtx, c, ns, &phase)
			}
		}()
	}
	time.Sleep(2 * time.Second)

	var results []*counts
	run := func(name string, fault func()) {
		p := &counts{name: name}
		phase.Store(p)
		done := make(chan struct{})
		go func() { defer close(done); fault() }()
		time.Sleep(phaseLength)
		<-done
		results = append(results, p)
	}
	run("steady", func() {})
	run("certificate rotation", func() {
		for _, r := range replicas {
			issue(r.certDir)
		}
	})
	run("replica SIGTERM", func() {
		r := replicas[0]
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		if err := <-r.exited; err != nil {
			t.Errorf("%s after SIGTERM: %v, want exit 0", r.name, err)
		}
		start(r)
		waitUntil(t, r.name+" ready again", r.ready.Load)
	})
	run("API server restart", func() {
		restartAPIServer(t, apiURL.Port())
		waitUntil(t, "the restarted API server", func() bool {
			return c.Get(ctx, client.ObjectKey{Name: "soak-covered"}, &corev1.Namespace{}) == nil
		})
		waitUntil(t, "replicas ready after the restart", func() bool { return replicas[0].ready.Load() && replicas[1].ready.Load() })
		// Judge for a while against the restarted API server, whose
		// watches eksguard has just re-established.
		time.Sleep(phaseLength / 2)
	})
	run("policy flapping", func() {
		docs := []string{
			"apiVersion: eksguard.io/v1alpha1\nkind: PolicyConfig\n",
			"apiVersion: eksguard.io/v1alpha1\nkind: PolicyConfig\nscope: {excludedNamespaces: [kube-system, kube-public, kube-node-lease, elsewhere]}\n",
		}
		deadline := time.Now().Add(phaseLength - time.Second)
		for i := 0; time.Now().Before(deadline); i++ {
			if _, err := testbed.WritePolicy(ctx, c, docs[i%2]); err != nil && !apierrors.IsConflict(err) {
				t.Errorf("writing the policy: %v", err)
			}
			time.Sleep(time.Second / 30)
		}
	})
	stopLoad()
	wg.Wait()

	fmt.Printf("\n%-22s %10s %10s %10s %14s\n", "FAULT", "ADMISSIONS", "FAILED", "WRONG", "API SERVER DOWN")
	for _, p := range results {
		fmt.Printf("%-22s %10d %10d %10d %14d\n", p.name, p.total.Load(), p.failed.Load(), p.wrong.Load(), p.unreachable.Load())
		if p.unreachable.Load() != 0 {
			t.Logf("%s: the API server did not answer %d requests (examples: %v)", p.name, p.unreachable.Load(), p.examples(&p.unreachable))
		}
		if p.failed.Load() != 0 || p.wrong.Load() != 0 {
			t.Errorf("%s: %d failed admissions, %d wrong verdicts (examples: %v)", p.name, p.failed.Load(), p.wrong.Load(), p.examples(&p.failed, &p.wrong))
		}
	}
}

// counts are one phase's outcomes.
type counts struct {
	name                              string
	total, failed, wrong, unreachable atomic.Int64
	mu                                sync.Mutex
	samples                           map[*atomic.Int64][]string
}

// note counts one outcome of kind and keeps the first few of each kind.
func (c *counts) note(kind *atomic.Int64, sample string) {
	kind.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.samples == nil {
		c.samples = map[*atomic.Int64][]string{}
	}
	if len(c.samples[kind]) < 3 {
		c.samples[kind] = append(c.samples[kind], sample)
	}
}

func (c *counts) examples(kinds ...*atomic.Int64) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, k := range kinds {
		out = append(out, c.samples[k]...)
	}
	return out
}

// admit sends one dry-run pod create and classifies the answer: in
// soak-covered the pod is admitted with RuntimeDefault patched in; in
// soak-open the NetworkPolicy webhook denies it. The answer counts in the
// phase it arrives in, so that requests a fault cuts off are the fault's.
func admit(ctx context.Context, c client.Client, ns string, phase *atomic.Pointer[counts]) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "soak-", Labels: map[string]string{"app": "soak"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}}}
	err := c.Create(ctx, pod, client.DryRunAll)
	if ctx.Err() != nil {
		return
	}
	p := phase.Load()
	p.total.Add(1)
	switch {
	case err != nil && strings.Contains(err.Error(), "failed calling webhook"):
		// The API server could not get an answer from eksguard.
		p.note(&p.failed, err.Error())
	case err != nil && isUnreachable(err):
		p.total.Add(-1)
		p.note(&p.unreachable, "API server unreachable: "+err.Error())
	case ns == "soak-covered" && err == nil:
		if sc := pod.Spec.SecurityContext; sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			p.note(&p.wrong, "admitted without the RuntimeDefault mutation")
		}
	case ns == "soak-open" && apierrors.IsForbidden(err) && strings.Contains(err.Error(), `"networkpolicy.pods.eksguard.io" denied the request`):
	case err == nil:
		p.note(&p.wrong, "admitted in "+ns)
	default:
		p.note(&p.failed, err.Error())
	}
}

// isUnreachable reports that the API server itself did not answer (its
// restart), which is not an admission eksguard failed.
func isUnreachable(err error) bool {
	var netErr net.Error
	msg := err.Error()
	if strings.Contains(msg, "denied the request") {
		return false // eksguard answered
	}
	return errors.As(err, &netErr) || strings.Contains(msg, "connection refused") || strings.Contains(msg, "EOF") ||
		strings.Contains(msg, "connection reset") || apierrors.IsServiceUnavailable(err) || strings.Contains(msg, "the server is currently unable")
}

// balancer plays the Service: each new connection goes, round robin, to a
// replica whose /readyz passes.
type balancer struct {
	net.Listener
	replicas []*replica
	next     atomic.Int64
}

func newBalancer(t *testing.T, replicas []*replica) *balancer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{Listener: l, replicas: replicas}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go b.forward(conn)
		}
	}()
	return b
}

func (b *balancer) forward(conn net.Conn) {
	defer conn.Close()
	var backend net.Conn
	for tries := 0; tries < 2*len(b.replicas) && backend == nil; tries++ {
		r := b.replicas[int(b.next.Add(1))%len(b.replicas)]
		if !r.ready.Load() {
			continue
		}
		backend, _ = net.DialTimeout("tcp", "127.0.0.1:"+r.port, time.Second)
	}
	if backend == nil {
		return
	}
	defer backend.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(backend, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, backend); done <- struct{}{} }()
	<-done
}

// restartAPIServer stops the kube-apiserver serving on port and starts it
// again with the same command line, as a control-plane upgrade does:
// the same certificates (in its --cert-dir), the same etcd, every
// connection and watch gone meanwhile. envtest's own restart would issue a
// new CA and users, so the process is found and run again here; envtest
// still owns the directory and etcd and cleans them up.
func restartAPIServer(t *testing.T, port string) {
	t.Helper()
	pid, argv := findAPIServer(t, port)
	proc, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// envtest reaps its child only in Stop: a zombie has exited.
	stat := fmt.Sprintf("/proc/%d/stat", pid)
	exited := func() bool {
		raw, err := os.ReadFile(stat)
		return err != nil || strings.Contains(string(raw), ") Z ")
	}
	for deadline := time.Now().Add(10 * time.Second); !exited() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if !exited() {
		t.Logf("kube-apiserver still draining 10 s after SIGTERM: killed")
		_ = proc.Kill()
		waitUntil(t, "kube-apiserver to exit", exited)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// After envtest has stopped etcd, nothing is left to drain.
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

// findAPIServer returns the pid and command line of the kube-apiserver
// listening on port.
func findAPIServer(t *testing.T, port string) (int, []string) {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range procs {
		raw, err := os.ReadFile(path)
		if err != nil || len(raw) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if filepath.Base(argv[0]) != "kube-apiserver" || !slices.Contains(argv, "--secure-port="+port) {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(path, "/proc/%d/cmdline", &pid); err != nil {
			t.Fatal(err)
		}
		return pid, argv
	}
	t.Fatalf("no kube-apiserver with --secure-port=%s in /proc", port)
	return 0, nil
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
