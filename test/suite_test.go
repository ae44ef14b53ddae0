// Package test runs eksguard against a real kube-apiserver and etcd
// (controller-runtime envtest): the API server calls the in-process webhook
// server over TLS, exactly as in a cluster.
//
// TestMain starts the control plane once, installs eksguard's webhook
// configurations (built from webhook.Routes by internal/testkit/testbed) and the
// test-only ones in testdata/webhooks (each clientConfig.service is
// rewritten to the local server), and runs the manager built by
// internal/app/server.
// Tests share one policy ConfigMap, so they must not call t.Parallel.
//
// The control plane binaries come from KUBEBUILDER_ASSETS, or else from
// hack/build-envtest.sh (built from source once, then cached). Set
// EKSGUARD_TEST_LOG=1 to see the server's logs.
package test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/eksguard/eksguard/internal/app/server"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
	"github.com/eksguard/eksguard/webhook/lbtls"
)

// eksguardNamespace is the namespace the server runs in and reads its
// policy ConfigMap from, as installed by the chart.
const eksguardNamespace = server.DefaultNamespace

var (
	// restConfig is the admin configuration of the envtest API server.
	restConfig *rest.Config
	// k8sClient is an uncached admin client.
	k8sClient client.Client
	// testServer is the running eksguard server.
	testServer *server.Server
	// testEnv is the control plane; its WebhookInstallOptions say where it
	// expects the webhook server.
	testEnv *envtest.Environment
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "envtest suite:", err)
		code = 1
	}
	os.Exit(code)
}

func runSuite(m *testing.M) (int, error) {
	if os.Getenv("EKSGUARD_TEST_LOG") != "" {
		logf.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	} else {
		logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	}

	assets, err := testbed.Assets("..")
	if err != nil {
		return 1, err
	}
	upstream, err := testbed.UpstreamCRDPaths()
	if err != nil {
		return 1, err
	}
	testEnv = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		// The CRDs of the other policy kinds eksguard counts (test/crds),
		// and the real ones of the kinds whose owners ship them.
		CRDDirectoryPaths:     append([]string{filepath.Join("crds", "served")}, upstream...),
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: testbed.WebhookInstallOptions(filepath.Join("testdata", "webhooks")),
	}
	cfg, err := testEnv.Start()
	if err != nil {
		return 1, fmt.Errorf("starting the control plane from %s: %w", assets, err)
	}
	defer func() {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "envtest suite: stopping the control plane:", err)
		}
	}()
	cfg.QPS, cfg.Burst = 200, 400
	restConfig = cfg

	if k8sClient, err = client.New(cfg, client.Options{}); err != nil {
		return 1, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: eksguardNamespace}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		return 1, fmt.Errorf("creating namespace %s: %w", eksguardNamespace, err)
	}

	// The IngressClass the LBC's Helm chart creates, which the Ingress
	// tests name.
	alb := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"},
		Spec: networkingv1.IngressClassSpec{Controller: lbtls.IngressClassControllerALB}}
	if err := k8sClient.Create(context.Background(), alb); err != nil {
		return 1, fmt.Errorf("creating IngressClass alb: %w", err)
	}

	srv, err := testbed.NewServer(cfg, testEnv.WebhookInstallOptions)
	if err != nil {
		return 1, err
	}
	testServer = srv.Server
	registerRoundTripWebhook(testServer.Manager.GetWebhookServer())
	if err := srv.Start(context.Background()); err != nil {
		return 1, err
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "envtest suite: eksguard server:", err)
		}
	}()
	defer testbed.RemoveBuilds()
	return m.Run(), nil
}
