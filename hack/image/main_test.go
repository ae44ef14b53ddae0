package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestImage builds the image for both architectures and inspects it as a
// registry or runtime would: an OCI index with linux/amd64 and linux/arm64,
// each running /eksguard serve as 65532, with the OCI labels, an SPDX SBOM
// and a static binary that prints its version on this machine's architecture.
func TestImage(t *testing.T) {
	const version = "v0.0.0-imagetest"
	opts := &options{out: t.TempDir(), version: version, revision: "0123456789abcdef0123456789abcdef01234567",
		platforms: []string{"linux/amd64", "linux/arm64"}, repoRoot: filepath.Join("..", ".."), created: time.Unix(1767225600, 0).UTC()}
	if err := run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	path, err := layout.FromPath(filepath.Join(opts.out, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := path.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	topManifest, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(topManifest.Manifests) != 1 || topManifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != version {
		t.Fatalf("layout index: %+v", topManifest.Manifests)
	}
	index, err := top.ImageIndex(topManifest.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, desc := range manifest.Manifests {
		platforms = append(platforms, desc.Platform.OS+"/"+desc.Platform.Architecture)
		img, err := index.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img, desc.Platform.Architecture, version, opts.revision)
		// What the Dockerfile copies is the image's own layer.
		files := imageFiles(t, img)
		for _, name := range []string{binaryPath, sbomPath} {
			onDisk, err := os.ReadFile(filepath.Join(opts.out, dockerContext(desc.Platform.Architecture), filepath.FromSlash(name)))
			if err != nil || !bytes.Equal(onDisk, files[strings.TrimPrefix(name, "/")]) {
				t.Errorf("%s: %s for the Dockerfile differs from the image's (%v)", desc.Platform.Architecture, name, err)
			}
		}
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v", platforms)
	}
}

func checkImage(t *testing.T, img v1.Image, arch, version, revision string) {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if cfg.OS != "linux" || cfg.Architecture != arch || c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/eksguard"}) ||
		!slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("%s config: os %s arch %s user %q entrypoint %v cmd %v", arch, cfg.OS, cfg.Architecture, c.User, c.Entrypoint, c.Cmd)
	}
	for key, want := range map[string]string{"org.opencontainers.image.source": source,
		"org.opencontainers.image.version": version, "org.opencontainers.image.revision": revision} {
		if c.Labels[key] != want {
			t.Errorf("%s label %s = %q, want %q", arch, key, c.Labels[key], want)
		}
	}
	files := imageFiles(t, img)
	if !strings.Contains(string(files["etc/passwd"]), "nonroot:x:65532:65532:") {
		t.Errorf("%s /etc/passwd: %q", arch, files["etc/passwd"])
	}
	var sbom struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct{ Name, VersionInfo string }
	}
	if err := json.Unmarshal(files[strings.TrimPrefix(sbomPath, "/")], &sbom); err != nil || sbom.SPDXVersion != "SPDX-2.3" {
		t.Fatalf("%s SBOM: %v (%s)", arch, err, sbom.SPDXVersion)
	}
	if !slices.ContainsFunc(sbom.Packages, func(p struct{ Name, VersionInfo string }) bool {
		return p.Name == "sigs.k8s.io/controller-runtime" && p.VersionInfo != ""
	}) {
		t.Errorf("%s SBOM lists no controller-runtime among %d packages", arch, len(sbom.Packages))
	}
	if arch != runtime.GOARCH {
		return
	}
	bin := filepath.Join(t.TempDir(), "eksguard")
	if err := os.WriteFile(bin, files["eksguard"], 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), version) {
		t.Errorf("%s --version: %v: %s", arch, err, out)
	}
}

// imageFiles reads every regular file of the image's layers.
func imageFiles(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				if h.Uid != 0 || h.Gid != 0 {
					t.Errorf("%s is owned by %d:%d", h.Name, h.Uid, h.Gid)
				}
				data, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				files[h.Name] = data
			}
		}
		rc.Close()
	}
	return files
}

// TestDockerfile holds the Dockerfile to the image hack/image builds: it
// pulls no image (every stage is scratch, no syntax directive fetching a
// frontend), copies the rootfs and the files run writes for each platform
// (which .dockerignore lets into the context), and repeats the image's
// user, ports, entrypoint, command and source label.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "# syntax=") {
			t.Errorf("a syntax directive pulls a frontend image: %q", line)
		}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, " ") {
			continue
		}
		instruction, args, _ := strings.Cut(line, " ")
		got[instruction] = append(got[instruction], args)
	}
	want := map[string][]string{
		"FROM":       {"scratch"},
		"COPY":       {"hack/image/rootfs/ /", "bin/image/" + dockerContext("${TARGETARCH}") + "/ /"},
		"USER":       {user},
		"EXPOSE":     {"9443 8080 8081"},
		"ENTRYPOINT": {`["` + binaryPath + `"]`},
		"CMD":        {`["serve"]`},
	}
	for instruction, args := range want {
		if !slices.Equal(got[instruction], args) {
			t.Errorf("Dockerfile %s %q, want %q", instruction, got[instruction], args)
		}
	}
	if !strings.Contains(string(data), `org.opencontainers.image.source="`+source+`"`) {
		t.Errorf("the Dockerfile's source label is not %s", source)
	}
	ignore, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(ignore), "\n")
	for _, line := range []string{"bin/*", "!bin/image/", "bin/image/oci/"} {
		if !slices.Contains(lines, line) {
			t.Errorf(".dockerignore lacks %q: the context must hold bin/image/linux-ARCH and nothing else of bin/", line)
		}
	}
}
