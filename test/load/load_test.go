//go:build bench

// Package load is the load and scale test of make bench (build tag bench,
// so that make test leaves it out). On loopback only, and bounded in time:
//
//   - throughput: eksguard's real binary (eksguard serve against a local
//     control plane, with a realistic cache: 100 NetworkPolicies in the
//     pod's namespace, only the last selecting it, 10 other namespaces of
//     100, an ALB IngressGroup) and, in the same run, the allow-all
//     baseline (test/load/baseline: the same controller-runtime
//     webhook.Server, certificate and paths) are driven with real
//     AdmissionReview bodies over HTTP/1.1 keep-alive TLS at concurrency
//     1, 8, 32 and 128, in alternating rounds; every answer is checked.
//     Per path and concurrency it prints requests/s, p50/p99/p99.9, the
//     server's CPU per 1,000 requests (from /proc), and eksguard/baseline.
//   - scale: Go heap (go_gc_heap_live_bytes) and RSS of the running server
//     with 0, 10,000 and 30,000 NetworkPolicies (kubectl's last-applied
//     annotation included) over 100 namespaces, as bytes per policy.
//   - through the API server (apiserver_test.go; LOAD_PATHS=apiserver
//     alone): dry-run pod creates with no webhooks, the baseline on
//     eksguard's two pod paths, eksguard mutating through its webhook,
//     eksguard with the seccomp admission policy, and eksguard's coverage
//     webhook alone, in alternating rounds, with the API server's CPU per
//     pod (from /proc).
//
// The machine is shared and noisy: nothing here asserts a speed; the
// figures are reported, as ratios against the baseline measured in the
// same run.
package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
	"github.com/eksguard/eksguard/internal/testkit/testbed/testcert"
	"github.com/eksguard/eksguard/webhook"
	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
)

// Bounds of the run; LOAD_ROUND overrides the round length.
var (
	concurrencies = []int{1, 8, 32, 128}
	rounds        = 2
	roundLength   = envDuration("LOAD_ROUND", time.Second)
	// profileDir, when LOAD_PROFILE names a directory, receives a CPU and
	// an allocation profile of eksguard for each path at concurrency 32
	// (pprof format).
	profileDir = os.Getenv("LOAD_PROFILE")
	// pathFilter, when LOAD_PATHS is set, keeps only the paths whose name
	// contains one of its comma-separated words (for profiling one path).
	pathFilter  = os.Getenv("LOAD_PATHS")
	scaleLevels = []int{0, 10000, 30000}
	// skipScale, when LOAD_SCALE=off, leaves the memory scale test out.
	skipScale = os.Getenv("LOAD_SCALE") == "off"
)

// selected reports whether the path named name is in LOAD_PATHS.
func selected(name string) bool {
	if pathFilter == "" {
		return true
	}
	for word := range strings.SplitSeq(pathFilter, ",") {
		if word != "" && strings.Contains(name, word) {
			return true
		}
	}
	return false
}

const (
	podNamespace   = "load"
	namespaceCount = 100
	readyTimeout   = 2 * time.Minute
)

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// process is one server under test.
type process struct {
	name string
	cmd  *exec.Cmd
	url  string
	// metrics is eksguard's /metrics, "" for the baseline.
	metrics string
	// pprof is eksguard's /debug/pprof/ when profiling.
	pprof string
}

func TestLoad(t *testing.T) {
	// The clients' warnings (eksguard's answers carry some) are not the
	// figures; without a logger controller-runtime prints a stack for them.
	logf.SetLogger(logr.Discard())
	ctx := context.Background()
	cp := testbed.StartControlPlane(t, filepath.Join("..", ".."), 2000, 4000)
	kubeconfig := cp.Kubeconfig
	c, err := client.New(cp.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	namespaces := []string{server.DefaultNamespace, podNamespace}
	for i := range namespaceCount {
		namespaces = append(namespaces, fmt.Sprintf("ns-%03d", i))
	}
	for _, ns := range namespaces {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}

	caPEM, caKeyPEM := testcert.Issue(t, testcert.Request{CommonName: "eksguard-load-ca", IsCA: true, Validity: 24 * time.Hour})
	ca, caKey := testcert.Parse(t, caPEM, caKeyPEM)
	certPEM, keyPEM := testcert.Issue(t, testcert.Request{CommonName: "eksguard", Hosts: []string{"127.0.0.1"}, CA: ca, CAKey: caKey})
	certDir := t.TempDir()
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(certDir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	bin, err := testbed.BuildBinary(false)
	if err != nil {
		t.Fatal(err)
	}
	defer testbed.RemoveBuilds()
	baselineBin := filepath.Join(t.TempDir(), "baseline")
	if out, err := exec.Command("go", "build", "-o", baselineBin, "github.com/eksguard/eksguard/test/load/baseline").CombinedOutput(); err != nil {
		t.Fatalf("building the baseline: %v\n%s", err, out)
	}

	eks := startEksguard(t, bin, kubeconfig, certDir)
	base := startBaseline(t, baselineBin, certDir)
	httpClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 256, ForceAttemptHTTP2: false, DisableCompression: true,
	}}
	waitFor(t, "baseline serving", func() error {
		_, err := httpClient.Post(base.url+webhook.SeccompPods.Path, "application/json", strings.NewReader("{}"))
		return err
	})

	// Scale level 0: the server with no NetworkPolicy.
	scale := []scalePoint{measureScale(t, eks, 0)}

	// The throughput cache.
	if err := c.Create(ctx, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"},
		Spec: networkingv1.IngressClassSpec{Controller: lbtls.IngressClassControllerALB}}); err != nil {
		t.Fatal(err)
	}
	var policies []*networkingv1.NetworkPolicy
	for i := range 100 {
		app := fmt.Sprintf("other-%d", i)
		if i == 99 {
			app = "web"
		}
		policies = append(policies, realisticPolicy(podNamespace, fmt.Sprintf("policy-%03d", i), app))
	}
	for n := range 10 {
		for i := range 100 {
			policies = append(policies, realisticPolicy(fmt.Sprintf("ns-%03d", n), fmt.Sprintf("policy-%03d", i), fmt.Sprintf("app-%d", i)))
		}
	}
	createAll(t, c, policies)
	for i, name := range []string{"storefront", "api", "admin"} {
		ing := albIngress(name, i)
		if err := c.Create(ctx, ing); err != nil {
			t.Fatal(err)
		}
	}
	for _, obj := range gatewayObjects() {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	waitForIndex(t, eks, len(policies))
	time.Sleep(2 * time.Second) // the Ingress cache

	bodies := requestBodies(t)
	var rows []row
	for _, b := range bodies {
		if !selected(b.name) {
			continue
		}
		for _, conc := range concurrencies {
			r := row{path: b.name, concurrency: conc}
			for round := range rounds {
				order := []*process{eks, base}
				if round%2 == 1 {
					order = []*process{base, eks}
				}
				for _, p := range order {
					stopProfile := func() {}
					if p == eks && profileDir != "" && conc == 32 && round == 0 {
						stopProfile = profile(t, p, filepath.Join(profileDir, strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(b.name)+".pprof"))
					}
					m := drive(t, httpClient, p, b, conc)
					stopProfile()
					if p == eks {
						r.eks.add(m)
					} else {
						r.base.add(m)
					}
				}
			}
			rows = append(rows, r)
		}
	}

	// The peak RSS under the load above, with the throughput cache.
	peak := procStatus(t, eks, "VmHWM:")

	// Scale: NetworkPolicies over 100 namespaces, on top of the 1,100 above.
	for _, level := range scaleLevels[1:] {
		if skipScale {
			break
		}
		var more []*networkingv1.NetworkPolicy
		for i := len(policies); i < level; i++ {
			ns := fmt.Sprintf("ns-%03d", i%namespaceCount)
			more = append(more, realisticPolicy(ns, fmt.Sprintf("scale-%05d", i), fmt.Sprintf("app-%d", i%50)))
		}
		createAll(t, c, more)
		policies = append(policies, more...)
		waitForIndex(t, eks, len(policies))
		scale = append(scale, measureScale(t, eks, len(policies)))
	}

	var api []apiCell
	if selected("apiserver") {
		api = apiServerPhase(t, cp.Config, eks, base, caPEM)
	}

	report(os.Stdout, rows, scale)
	fmt.Printf("peak RSS (VmHWM) after the throughput run, %d policies cached: %.1f MiB\n", 1100, peak/(1<<20))
	if len(api) > 0 {
		reportAPIServer(os.Stdout, api)
	}
}

// startEksguard runs eksguard serve and waits until it is ready.
func startEksguard(t *testing.T, bin, kubeconfig, certDir string) *process {
	t.Helper()
	webhookAddr, _ := testbed.FreeLocalAddress()
	_, port, _ := strings.Cut(webhookAddr, ":")
	healthAddr, _ := testbed.FreeLocalAddress()
	metricsAddr, _ := testbed.FreeLocalAddress()
	pprofAddr := "0"
	if profileDir != "" {
		pprofAddr, _ = testbed.FreeLocalAddress()
	}
	cmd := exec.Command(bin, "serve", "--kubeconfig="+kubeconfig, "--webhook-port="+port, "--cert-dir="+certDir,
		"--health-probe-bind-address="+healthAddr, "--metrics-bind-address="+metricsAddr, "--pprof-bind-address="+pprofAddr,
		// The test reads the heap gauges; TestChartServerRunsUnderChartRBAC
		// holds the shipped HTTPS and authorization of the metrics.
		"--metrics-secure=false",
		// The API server phase writes the seccomp admission policy itself,
		// to measure the webhook mutation and the policy in one run.
		"--seccomp-admission-policy=false",
		"--webhook-configuration-name=eksguard-load")
	cmd.Env = append(os.Environ(), "POD_NAMESPACE="+server.DefaultNamespace)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := &process{name: "eksguard", cmd: cmd, url: "https://127.0.0.1:" + port, metrics: "http://" + metricsAddr + "/metrics",
		pprof: "http://" + pprofAddr + "/debug/pprof/"}
	waitFor(t, "eksguard ready", func() error { return testbed.Probe(context.Background(), "http://"+healthAddr+"/readyz") })
	return p
}

func startBaseline(t *testing.T, bin, certDir string) *process {
	t.Helper()
	addr, _ := testbed.FreeLocalAddress()
	_, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(bin, "--port="+port, "--cert-dir="+certDir)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return &process{name: "baseline", cmd: cmd, url: "https://127.0.0.1:" + port}
}

func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	if err := testbed.Eventually(readyTimeout, check); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// realisticPolicy is a NetworkPolicy as kubectl apply leaves it: selecting
// app, with ingress and egress rules and the last-applied annotation.
func realisticPolicy(ns, name, app string) *networkingv1.NetworkPolicy {
	tcp := corev1.ProtocolTCP
	np := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl", "team": "platform"}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{
					{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "frontend"}}},
					{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}},
				},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(8080))}},
			}},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.0.0.0/24"}}}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(5432))}}},
				{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}, PodSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{"k8s-app": "kube-dns"}}}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromInt32(53))}}},
			},
		},
	}
	applied, _ := json.Marshal(np)
	np.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(applied) + "\n"}
	np.TypeMeta = metav1.TypeMeta{}
	return np
}

// createAll creates objs with 32 clients at once.
func createAll(t *testing.T, c client.Client, objs []*networkingv1.NetworkPolicy) {
	t.Helper()
	if err := testbed.Parallel(len(objs), 32, func(i int) error { return c.Create(context.Background(), objs[i]) }); err != nil {
		t.Fatal(err)
	}
}

// albIngress is member i of the ALB group shop: HTTPS:443 with a strong
// policy, the first member also redirecting HTTP:80.
func albIngress(name string, i int) *networkingv1.Ingress {
	ann := map[string]string{
		lbtls.AnnotationGroupName:                    "shop",
		lbtls.AnnotationALBScheme:                    "internet-facing",
		lbtls.AnnotationListenPorts:                  `[{"HTTPS":443}]`,
		lbtls.AnnotationCertificateARN:               "arn:aws:acm:eu-west-1:111122223333:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
		lbtls.AnnotationSSLPolicy:                    "ELBSecurityPolicy-TLS13-1-2-2021-06",
		"alb.ingress.kubernetes.io/target-type":      "ip",
		"alb.ingress.kubernetes.io/healthcheck-path": "/healthz",
	}
	if i == 0 {
		ann[lbtls.AnnotationListenPorts] = `[{"HTTP":80},{"HTTPS":443}]`
		ann[lbtls.AnnotationSSLRedirect] = "443"
	}
	pathType := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: podNamespace, Name: name, Annotations: ann},
		Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("alb"), Rules: []networkingv1.IngressRule{{
			Host: name + ".example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pathType,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
	}
}

// body is one AdmissionReview request for one path, and the answer it must get.
type body struct {
	name, path string
	data       []byte
	// patched: eksguard must answer with a patch.
	patched bool
}

func requestBodies(t *testing.T) []body {
	t.Helper()
	pod := realisticPod()
	deployment := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Namespace: podNamespace, Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: pod.Spec}},
	}
	svc := &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Namespace: podNamespace, Name: "web-nlb", Annotations: map[string]string{
			lbtls.AnnotationLoadBalancerType: "external", "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
			lbtls.AnnotationScheme: "internet-facing", lbtls.AnnotationSSLCert: "arn:aws:acm:eu-west-1:111122223333:certificate/0b1c2d3e",
			lbtls.AnnotationSSLPorts: "443", lbtls.AnnotationSSLNegotiation: "ELBSecurityPolicy-TLS13-1-2-2021-06",
		}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}}},
	}
	ing := albIngress("storefront", 0)
	ing.TypeMeta = metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"}
	gateway, route := gatewayObjects()[2], gatewayObjects()[4]
	return []body{
		{name: "seccomp (Pod)", path: webhook.SeccompPods.Path, data: review(t, pod, "pods"), patched: true},
		{name: "networkpolicy (Pod)", path: webhook.NetworkPolicyPods.Path, data: review(t, pod, "pods")},
		{name: "networkpolicy (Deployment)", path: webhook.NetworkPolicyWorkloads.Path, data: review(t, deployment, "deployments")},
		{name: "loadBalancerTLS (Service)", path: webhook.LoadBalancerTLSServices.Path, data: review(t, svc, "services")},
		{name: "loadBalancerTLS (Ingress)", path: webhook.LoadBalancerTLSIngresses.Path, data: review(t, ing, "ingresses")},
		{name: "loadBalancerTLS (Gateway)", path: webhook.LoadBalancerTLSGateways.Path, data: review(t, gateway, "gateways")},
		{name: "loadBalancerTLS (HTTPRoute)", path: webhook.LoadBalancerTLSGatewayRoutes.Path, data: review(t, route, "httproutes")},
	}
}

// gatewayObjects are an ALB Gateway of the AWS Load Balancer Controller
// with its class and configuration (HTTPS:443 under a TLS 1.2/1.3 policy),
// a route redirecting HTTP:80 to HTTPS, and three routes on HTTPS: what
// the Gateway and HTTPRoute paths read.
func gatewayObjects() []client.Object {
	obj := testbed.GatewayAPIObject
	route := func(name, section string, redirect bool) *unstructured.Unstructured {
		rule := map[string]any{"matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/" + name}}},
			"backendRefs": []any{map[string]any{"name": name, "port": int64(80)}}}
		if redirect {
			rule = map[string]any{"filters": []any{map[string]any{"type": "RequestRedirect",
				"requestRedirect": map[string]any{"scheme": "https", "statusCode": int64(301)}}}}
		}
		return obj("HTTPRoute", podNamespace, name, map[string]any{"parentRefs": []any{map[string]any{"name": "web", "sectionName": section}},
			"hostnames": []any{"shop.example.com"}, "rules": []any{rule}})
	}
	return []client.Object{
		obj("GatewayClass", "", "aws-alb", map[string]any{"controllerName": lbtls.GatewayControllerALB}),
		obj("LoadBalancerConfiguration", podNamespace, "tls", map[string]any{"scheme": "internet-facing",
			"listenerConfigurations": []any{map[string]any{"protocolPort": "HTTPS:443", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
				"defaultCertificate": "arn:aws:acm:eu-west-1:111122223333:certificate/0b1c2d3e"}}}),
		obj("Gateway", podNamespace, "web", map[string]any{"gatewayClassName": "aws-alb",
			"infrastructure": map[string]any{"parametersRef": map[string]any{"group": "gateway.k8s.aws", "kind": "LoadBalancerConfiguration", "name": "tls"}},
			"listeners": []any{map[string]any{"name": "http", "protocol": "HTTP", "port": int64(80)},
				map[string]any{"name": "https", "protocol": "HTTPS", "port": int64(443), "hostname": "shop.example.com"}}}),
		route("redirect", "http", true),
		route("storefront", "https", false),
		route("api", "https", false),
		route("admin", "https", false),
	}
}

// realisticPod is a 3-container Deployment pod of about 6 KB, as the
// ReplicaSet controller sends it.
func realisticPod() *corev1.Pod {
	container := func(name, image string, port int32) corev1.Container {
		return corev1.Container{
			Name: name, Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/" + image,
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}},
			Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "AWS_REGION", Value: "eu-west-1"},
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
				{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Value: "http://otel-collector.observability.svc:4317"}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}},
				PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
				PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
			VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app", ReadOnly: true},
				{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			ImagePullPolicy: corev1.PullIfNotPresent,
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), RunAsNonRoot: ptr.To(true),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		}
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: podNamespace, GenerateName: "web-7d9f8b6c5d-",
			Labels:      map[string]string{"app": "web", "pod-template-hash": "7d9f8b6c5d", "app.kubernetes.io/version": "1.42.0"},
			Annotations: map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-30T10:00:00Z", "prometheus.io/scrape": "true"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f8b6c5d",
				UID: "8d5a7c3e-1f2b-4c6d-9e8f-0a1b2c3d4e5f", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{container("web", "web:1.42.0", 8080), container("envoy", "envoy:1.31.2", 9901),
				container("log-router", "fluent-bit:3.1", 2020)},
			Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}},
				{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
						Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}}}}}}},
			ServiceAccountName: "web", RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst,
			TerminationGracePeriodSeconds: ptr.To[int64](30), SchedulerName: "default-scheduler",
			Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone",
				WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}},
		},
	}
}

func review(t *testing.T, obj runtime.Object, resourceName string) []byte {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	meta := obj.(metav1.Object)
	ar := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID("d9b5e3f2-6a4c-4b8e-9f1d-2c3a4b5c6d7e"),
			Kind:      metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
			Resource:  metav1.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: resourceName},
			Namespace: meta.GetNamespace(), Name: meta.GetName(), Operation: admissionv1.Create,
			UserInfo: authenticationUser(), Object: runtime.RawExtension{Raw: raw}, DryRun: ptr.To(false),
			Options: runtime.RawExtension{Raw: []byte(`{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}`)},
		},
	}
	data, err := json.Marshal(ar)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// measurement is what one round against one server gave.
type measurement struct {
	requests  int
	elapsed   time.Duration
	latencies []time.Duration
	cpu       time.Duration
}

// drive sends b to p with conc workers for roundLength, after a warm-up,
// checking every answer.
func drive(t *testing.T, c *http.Client, p *process, b body, conc int) measurement {
	t.Helper()
	send := func() (time.Duration, error) {
		start := time.Now()
		resp, err := c.Post(p.url+b.path, "application/json", bytes.NewReader(b.data))
		if err != nil {
			return 0, err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		elapsed := time.Since(start)
		if err != nil {
			return 0, err
		}
		return elapsed, check(p, b, resp.StatusCode, data)
	}
	for range 2 * conc {
		if _, err := send(); err != nil {
			t.Fatalf("%s %s warm-up: %v", p.name, b.name, err)
		}
	}
	cpuBefore := processCPU(t, p)
	deadline := time.Now().Add(roundLength)
	var mu sync.Mutex
	var m measurement
	var failure atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for time.Now().Before(deadline) {
				d, err := send()
				if err != nil {
					failure.CompareAndSwap(nil, &err)
					break
				}
				local = append(local, d)
			}
			mu.Lock()
			m.latencies = append(m.latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	m.elapsed = time.Since(start)
	m.cpu = processCPU(t, p) - cpuBefore
	m.requests = len(m.latencies)
	if err := failure.Load(); err != nil {
		t.Fatalf("%s %s at concurrency %d: %v", p.name, b.name, conc, *err)
	}
	return m
}

// check validates one answer: an AdmissionReview that echoes the UID and
// admits (with a patch where eksguard must patch).
func check(p *process, b body, status int, data []byte) error {
	if status != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", status, data)
	}
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &ar); err != nil || ar.Response == nil {
		return fmt.Errorf("not an AdmissionReview answer: %v: %s", err, data)
	}
	if ar.Response.UID != "d9b5e3f2-6a4c-4b8e-9f1d-2c3a4b5c6d7e" || !ar.Response.Allowed {
		return fmt.Errorf("unexpected answer: %s", data)
	}
	if p.metrics != "" && b.patched && len(ar.Response.Patch) == 0 {
		return fmt.Errorf("eksguard answered without its patch: %s", data)
	}
	if p.metrics != "" && !b.patched && len(ar.Response.Patch) != 0 {
		return fmt.Errorf("unexpected patch: %s", data)
	}
	return nil
}

// processCPU is the user and system CPU time of p so far.
func processCPU(t *testing.T, p *process) time.Duration {
	t.Helper()
	return pidCPU(t, p.cmd.Process.Pid)
}

// pidCPU is the user and system CPU time of process pid so far
// (/proc/PID/stat).
func pidCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the parenthesised command name; utime and stime are 14 and 15.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// profile records a CPU and an allocation profile of p for the length of
// a round into file and file's .allocs sibling; the returned func waits for
// them.
func profile(t *testing.T, p *process, file string) func() {
	t.Helper()
	seconds := max(1, int(roundLength.Seconds()))
	done := make(chan error, 2)
	for kind, out := range map[string]string{"profile": file, "allocs": strings.TrimSuffix(file, ".pprof") + ".allocs.pprof"} {
		go func() {
			resp, err := http.Get(fmt.Sprintf("%s%s?seconds=%d", p.pprof, kind, seconds))
			if err != nil {
				done <- err
				return
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			if err == nil {
				err = os.WriteFile(out, data, 0o644)
			}
			done <- err
		}()
	}
	return func() {
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("profiling %s: %v", file, err)
			}
		}
	}
}

// scalePoint is the server's memory with some NetworkPolicies cached.
type scalePoint struct {
	policies  int
	heap, rss float64
}

func measureScale(t *testing.T, p *process, policies int) scalePoint {
	t.Helper()
	time.Sleep(5 * time.Second) // let the GC run after the load
	metrics := scrape(t, p)
	heap, ok := metrics["go_gc_heap_live_bytes"]
	if !ok {
		t.Fatal("eksguard exports no go_gc_heap_live_bytes")
	}
	return scalePoint{policies: policies, heap: heap, rss: procStatus(t, p, "VmRSS:")}
}

// procStatus reads one memory line of /proc/PID/status, in bytes.
func procStatus(t *testing.T, p *process, key string) float64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, p.cmd.Process.Pid)
	return 0
}

// scrape reads eksguard's unlabelled metrics.
func scrape(t *testing.T, p *process) map[string]float64 {
	t.Helper()
	resp, err := http.Get(p.metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out
}

func waitForIndex(t *testing.T, p *process, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("eksguard's index holding %d policies", n), func() error {
		if got := scrape(t, p)[netpol.MetricIndexPolicies]; int(got) < n {
			return fmt.Errorf("%v policies indexed", got)
		}
		return nil
	})
}

// stats aggregates the rounds of one server.
type stats struct {
	requests  int
	elapsed   time.Duration
	cpu       time.Duration
	latencies []time.Duration
}

func (s *stats) add(m measurement) {
	s.requests += m.requests
	s.elapsed += m.elapsed
	s.cpu += m.cpu
	s.latencies = append(s.latencies, m.latencies...)
}

func (s *stats) rps() float64 { return float64(s.requests) / s.elapsed.Seconds() }

func (s *stats) percentile(q float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	slices.Sort(s.latencies)
	return s.latencies[min(len(s.latencies)-1, int(q*float64(len(s.latencies))))]
}

// cpuPerThousand is the server's CPU per 1,000 requests.
func (s *stats) cpuPerThousand() time.Duration {
	if s.requests == 0 {
		return 0
	}
	return s.cpu * 1000 / time.Duration(s.requests)
}

type row struct {
	path        string
	concurrency int
	eks, base   stats
}

func report(w io.Writer, rows []row, scale []scalePoint) {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) }
	fmt.Fprintf(w, "\nThroughput: eksguard vs the allow-all baseline, %d rounds of %s each per cell, alternating\n", rounds, roundLength)
	fmt.Fprintf(w, "%-27s %4s %9s %9s %5s  %-13s %-13s %5s  %-13s  %-13s %5s\n",
		"PATH", "CONC", "REQ/S", "BASE", "RATIO", "P50 ms", "P99 ms", "RATIO", "P99.9 ms", "CPU ms/1k", "RATIO")
	var tputRatios, p99Ratios, cpuRatios []float64
	for _, r := range rows {
		tput := r.eks.rps() / r.base.rps()
		p99 := float64(r.eks.percentile(0.99)) / float64(r.base.percentile(0.99))
		cpu := float64(r.eks.cpuPerThousand()) / float64(max(r.base.cpuPerThousand(), time.Millisecond))
		tputRatios, p99Ratios, cpuRatios = append(tputRatios, tput), append(p99Ratios, p99), append(cpuRatios, cpu)
		fmt.Fprintf(w, "%-27s %4d %9.0f %9.0f %5.2f  %-13s %-13s %5.2f  %-13s  %-13s %5.2f\n",
			r.path, r.concurrency, r.eks.rps(), r.base.rps(), tput,
			ms(r.eks.percentile(0.5))+"/"+ms(r.base.percentile(0.5)),
			ms(r.eks.percentile(0.99))+"/"+ms(r.base.percentile(0.99)), p99,
			ms(r.eks.percentile(0.999))+"/"+ms(r.base.percentile(0.999)),
			ms(r.eks.cpuPerThousand())+"/"+ms(r.base.cpuPerThousand()), cpu)
	}
	median := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	if len(rows) > 0 { // LOAD_PATHS may select no throughput path
		fmt.Fprintf(w, "median over %d cells: throughput %.2f of the baseline, p99 %.2fx, CPU per request %.2fx; worst throughput %.2f, worst p99 %.2fx\n",
			len(rows), median(tputRatios), median(p99Ratios), median(cpuRatios), slices.Min(tputRatios), slices.Max(p99Ratios))
	}

	fmt.Fprintf(w, "\nMemory of eksguard serve with NetworkPolicies cached (kubectl last-applied annotations included)\n")
	fmt.Fprintf(w, "%9s %12s %12s %16s %16s\n", "POLICIES", "HEAP MiB", "RSS MiB", "HEAP B/POLICY", "RSS B/POLICY")
	base := scale[0]
	for _, s := range scale {
		perHeap, perRSS := "-", "-"
		if s.policies > 0 {
			perHeap = strconv.FormatFloat((s.heap-base.heap)/float64(s.policies), 'f', 0, 64)
			perRSS = strconv.FormatFloat((s.rss-base.rss)/float64(s.policies), 'f', 0, 64)
		}
		fmt.Fprintf(w, "%9d %12.1f %12.1f %16s %16s\n", s.policies, s.heap/(1<<20), s.rss/(1<<20), perHeap, perRSS)
	}
}

// authenticationUser is who sends the requests: the ReplicaSet controller.
func authenticationUser() authenticationv1.UserInfo {
	return authenticationv1.UserInfo{Username: "system:serviceaccount:kube-system:replicaset-controller",
		UID: "2f5c1a7e-9b3d-4e6f-8a1c-0d2e3f4a5b6c", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}}
}
