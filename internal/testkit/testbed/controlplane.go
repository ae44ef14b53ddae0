package testbed

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControlPlane is a local kube-apiserver and etcd for a test that runs
// eksguard's binary: the REST config of the control plane and a kubeconfig
// file of an admin user the binary can use.
type ControlPlane struct {
	Env        *envtest.Environment
	Config     *rest.Config
	Kubeconfig string
}

// StartControlPlane starts the control plane built by hack/build-envtest.sh
// under repoRoot, with the client rate limits qps and burst, and stops it
// when the test ends.
func StartControlPlane(t *testing.T, repoRoot string, qps float32, burst int) *ControlPlane {
	t.Helper()
	assets, err := Assets(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	upstream, err := UpstreamCRDPaths()
	if err != nil {
		t.Fatal(err)
	}
	// The CRDs of the kinds eksguard reads (test/crds and the upstream ones).
	env := &envtest.Environment{BinaryAssetsDirectory: assets, ErrorIfCRDPathMissing: true,
		CRDDirectoryPaths: append([]string{filepath.Join(repoRoot, "test", "crds", "served")}, upstream...)}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	cfg.QPS, cfg.Burst = qps, burst
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "eksguard-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return &ControlPlane{Env: env, Config: cfg, Kubeconfig: kubeconfig}
}
