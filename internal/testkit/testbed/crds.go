package testbed

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ModuleCRDs are CustomResourceDefinitions that their owner's Go module
// ships: the test bed installs the real ones, taken from the module proxy
// (and checked against Sum), where test/crds holds minimal structural ones
// only for kinds whose owners publish none.
type ModuleCRDs struct {
	Module, Version string
	// Sum is the module's go.sum hash, so that a changed release fails.
	Sum string
	// Files are the CRD files' paths inside the module.
	Files []string
}

// UpstreamCRDs are the CRDs of the load balancer kinds eksguard judges.
var UpstreamCRDs = []ModuleCRDs{GatewayAPICRDs, {
	// ACK's elbv2 controller: its Listener, LoadBalancer and Rule (v1.5.2;
	// the v1.6 CRDs of these kinds are identical).
	Module: "github.com/aws-controllers-k8s/elbv2-controller", Version: "v1.5.2",
	Sum: "h1:WvPv10Xp0HeGTXAj0eJrp1gSlpuIhhfBnyMrQ7IfMaA=",
	Files: []string{
		"config/crd/bases/elbv2.services.k8s.aws_listeners.yaml",
		"config/crd/bases/elbv2.services.k8s.aws_loadbalancers.yaml",
		"config/crd/bases/elbv2.services.k8s.aws_rules.yaml",
	},
}}

// UpstreamCRDPaths downloads the modules of UpstreamCRDs (once: the module
// cache keeps them) and returns the paths of their CRD files.
func UpstreamCRDPaths() ([]string, error) {
	var paths []string
	for _, m := range UpstreamCRDs {
		dir, err := downloadModule(m)
		if err != nil {
			return nil, err
		}
		for _, f := range m.Files {
			p := filepath.Join(dir, filepath.FromSlash(f))
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("%s@%s has no %s: %w", m.Module, m.Version, f, err)
			}
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// downloadModule runs go mod download outside any module, so that no
// go.mod or go.sum changes, and returns the module's directory.
func downloadModule(m ModuleCRDs) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", m.Module+"@"+m.Version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var info struct{ Dir, Sum, Error string }
	if jsonErr := json.Unmarshal(out, &info); jsonErr != nil || info.Error != "" || err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v %s %v", m.Module, m.Version, err, info.Error, jsonErr)
	}
	if info.Sum != m.Sum {
		return "", fmt.Errorf("%s@%s has sum %s, want %s", m.Module, m.Version, info.Sum, m.Sum)
	}
	return info.Dir, nil
}

// GatewayAPICRDs are the Gateway API's standard channel (v1.6.3: TCPRoute,
// UDPRoute, TLSRoute and ListenerSet at v1 included), the one the AWS Load
// Balancer Controller's guide installs, for the kinds eksguard reads.
var GatewayAPICRDs = ModuleCRDs{
	Module: "sigs.k8s.io/gateway-api", Version: "v1.6.3",
	Sum: "h1:lKpJa5bGlraC/QeACvCpsHLdmO6y0iKfzVl6gzaFEYc=",
	Files: []string{
		"config/crd/standard/gateway.networking.k8s.io_gatewayclasses.yaml",
		"config/crd/standard/gateway.networking.k8s.io_gateways.yaml",
		"config/crd/standard/gateway.networking.k8s.io_listenersets.yaml",
		"config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
		"config/crd/standard/gateway.networking.k8s.io_grpcroutes.yaml",
		"config/crd/standard/gateway.networking.k8s.io_tcproutes.yaml",
		"config/crd/standard/gateway.networking.k8s.io_tlsroutes.yaml",
		"config/crd/standard/gateway.networking.k8s.io_udproutes.yaml",
	},
}

// GatewayAPICRDDir is the directory of GatewayAPICRDs' files.
func GatewayAPICRDDir() (string, error) {
	dir, err := downloadModule(GatewayAPICRDs)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "config", "crd", "standard"), nil
}
