package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/cli"
	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
	"github.com/eksguard/eksguard/webhook/lbtls"
	"github.com/eksguard/eksguard/webhook/netpol"
)

func main() {
	examples := flag.String("examples", "examples", "Directory with policy-configmap.yaml and manifests/.")
	flag.Parse()
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	// The webhook server's TLS handshake errors while its certificate loads.
	log.SetOutput(io.Discard)
	if err := run(*examples); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	fmt.Println("    stopped")
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

func run(examples string) error {
	policyFile := filepath.Join(examples, "policy-configmap.yaml")
	manifests, err := filepath.Glob(filepath.Join(examples, "manifests", "*.yaml"))
	if err != nil || len(manifests) == 0 {
		return fmt.Errorf("no manifests in %s/manifests: run the demo from the repository root", examples)
	}
	slices.Sort(manifests)

	step("Local control plane: kube-apiserver and etcd 1.37.2 from hack/build-envtest.sh")
	fmt.Println("    (the first run builds them from source, about 10 minutes on 2 cores; later runs use the cache)")
	assets, err := testbed.Assets(".")
	if err != nil {
		return err
	}
	upstream, err := testbed.UpstreamCRDPaths()
	if err != nil {
		return err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		WebhookInstallOptions: testbed.WebhookInstallOptions(),
		// The policy kinds' and load balancer kinds' CRDs, so that every
		// example applies.
		CRDDirectoryPaths:     append([]string{filepath.Join("test", "crds", "served")}, upstream...),
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "demo: stopping the control plane:", err)
		}
	}()
	fmt.Printf("    API server at %s\n", cfg.Host)

	step("eksguard server (in-process, as deployed by the chart) with its webhooks registered")
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: server.DefaultNamespace}}); err != nil {
		return err
	}
	srv, err := testbed.NewServer(cfg, env.WebhookInstallOptions)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "demo: eksguard server:", err)
		}
	}()
	fmt.Printf("    ready: webhooks on %s:%d, policy %s\n",
		env.WebhookInstallOptions.LocalServingHost, env.WebhookInstallOptions.LocalServingPort, srv.Store.Current().Source)

	policyDoc, err := policyDocument(policyFile)
	if err != nil {
		return err
	}
	step("Policy: %s", policyFile)
	if err := applyPolicy(ctx, c, srv.Server, policyDoc); err != nil {
		return err
	}

	step("kubectl apply, one object at a time, of %s/manifests", examples)
	warnings := &testbed.WarningRecorder{}
	wcfg := rest.CopyConfig(cfg)
	wcfg.WarningHandler = warnings
	wc, err := client.New(wcfg, client.Options{})
	if err != nil {
		return err
	}
	var denied []*unstructured.Unstructured
	for _, file := range manifests {
		objs, err := readManifests(file)
		if err != nil {
			return err
		}
		fmt.Printf("  %s\n", file)
		for _, obj := range objs {
			if apply(ctx, wc, warnings, obj) {
				denied = append(denied, obj)
				continue
			}
			// The webhook reads these from its informers: the routes
			// that follow need them there.
			switch obj.GroupVersionKind() {
			case lbtls.GatewayClassKind.GVK:
				err = testbed.WaitForGatewayClassCached(ctx, cfg, "shop", obj.GetName(), 20*time.Second)
			case lbtls.GatewayKind.GVK:
				err = testbed.WaitForGatewayCached(ctx, c, obj.GetNamespace(), obj.GetName(), "http", 20*time.Second)
			}
			if err != nil {
				return err
			}
		}
	}

	step("Objects from before eksguard: the %d denied above, created while the policy has dryRun: true", len(denied))
	dryRun, err := withDryRun(policyDoc)
	if err != nil {
		return err
	}
	if err := applyPolicy(ctx, c, srv.Server, dryRun); err != nil {
		return err
	}
	for _, obj := range denied {
		apply(ctx, wc, warnings, obj)
	}
	step("Back to the sample policy (enforcing)")
	if err := applyPolicy(ctx, c, srv.Server, policyDoc); err != nil {
		return err
	}

	kubeconfig := filepath.Join(os.TempDir(), fmt.Sprintf("eksguard-demo-%d.kubeconfig", os.Getpid()))
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		return err
	}
	defer os.Remove(kubeconfig)
	step("eksguard audit (what the cluster runs that eksguard would not admit today)")
	code := cli.Main(ctx, []string{"audit", "--kubeconfig", kubeconfig}, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	fmt.Printf("    exit status %d (1: some objects would be denied)\n", code)

	step("Stopping eksguard and the control plane")
	return nil
}

// policyDocument reads the config.yaml of the sample ConfigMap.
func policyDocument(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(data, &cm); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	doc, ok := cm.Data[config.ConfigMapKey]
	if !ok {
		return "", fmt.Errorf("%s: no data.%s", path, config.ConfigMapKey)
	}
	return doc, nil
}

// withDryRun is doc with dryRun set.
func withDryRun(doc string) (string, error) {
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		return "", err
	}
	cfg.DryRun = true
	out, err := yaml.Marshal(cfg)
	return string(out), err
}

// applyPolicy writes the policy ConfigMap and waits until eksguard uses it.
func applyPolicy(ctx context.Context, c client.Client, srv *server.Server, doc string) error {
	rv, err := testbed.WritePolicy(ctx, c, doc)
	if err != nil {
		return err
	}
	if err := testbed.WaitForPolicy(srv.Store, testbed.PolicySource(rv), 20*time.Second); err != nil {
		return err
	}
	fmt.Printf("    in force: %s\n", srv.Store.Current().Summary(time.Now()))
	return nil
}

// readManifests decodes every object of a multi-document YAML file.
func readManifests(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var content map[string]any
		if err := yaml.Unmarshal(doc, &content); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if content != nil {
			objs = append(objs, &unstructured.Unstructured{Object: content})
		}
	}
	return objs, nil
}

// apply creates obj and prints what eksguard did with it; it reports
// whether the API server denied it.
func apply(ctx context.Context, c client.Client, warnings *testbed.WarningRecorder, obj *unstructured.Unstructured) (denied bool) {
	sent := obj.DeepCopy()
	created := obj.DeepCopy()
	warnings.Reset()
	name := obj.GetName()
	if ns := obj.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	kind := obj.GetKind()
	if k := netpol.KindFor(obj.GroupVersionKind()); k != nil {
		kind = k.Name // unique where kinds share a name
	}
	// Short kinds keep their column; the long policy kind names run on.
	fmt.Printf("    %-44s ", fmt.Sprintf("%-13s %s", kind, name))
	err := c.Create(ctx, created)
	switch {
	case apierrors.IsForbidden(err):
		fmt.Printf("DENIED\n        %s\n", err)
		return true
	case err != nil:
		fmt.Printf("FAILED\n        %s\n", err)
		return false
	}
	var outcome []string
	if mutation := seccompMutation(sent, created); mutation != "" {
		outcome = append(outcome, "MUTATED")
		defer fmt.Printf("        %s\n", mutation)
	}
	msgs := warnings.Messages()
	if len(msgs) > 0 {
		outcome = append(outcome, "WARNED")
	}
	if len(outcome) == 0 {
		outcome = append(outcome, "admitted")
	}
	fmt.Println(strings.Join(outcome, ", "))
	for _, w := range msgs {
		fmt.Printf("        Warning: %s\n", w)
	}
	return false
}

// seccompMutation describes the pod-level seccomp profile eksguard added.
func seccompMutation(sent, created *unstructured.Unstructured) string {
	if sent.GetKind() != "Pod" {
		return ""
	}
	path := []string{"spec", "securityContext", "seccompProfile", "type"}
	before, _, _ := unstructured.NestedString(sent.Object, path...)
	after, _, _ := unstructured.NestedString(created.Object, path...)
	if before == after {
		return ""
	}
	return fmt.Sprintf("spec.securityContext.seccompProfile.type set to %s", after)
}
