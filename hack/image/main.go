package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Facts of the image, which the Dockerfile repeats for Docker users.
const (
	binaryPath = "/eksguard"
	sbomPath   = "/usr/share/doc/eksguard/sbom.spdx.json"
	user       = "65532:65532"
	source     = "https://github.com/eksguard/eksguard"
	module     = "github.com/eksguard/eksguard"
	// versionVariable is set at link time, as make build does.
	versionVariable = module + "/internal/app/cli.Version"
)

// options say what to build.
type options struct {
	out, version, revision string
	platforms              []string
	// repoRoot is the module to build.
	repoRoot string
	// created is the image's creation time (the revision's commit time,
	// so that one revision builds one image).
	created time.Time
}

func main() {
	var opts options
	var platforms string
	flag.StringVar(&opts.out, "out", "bin/image", "Output directory: the OCI layout goes to OUT/oci, each platform's files for the Dockerfile to OUT/linux-ARCH.")
	flag.StringVar(&opts.version, "version", "dev", "Version: the binary's --version, the image label and the layout's tag.")
	flag.StringVar(&opts.revision, "revision", "", "Source revision for the label (default: git rev-parse HEAD).")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "Platforms, comma-separated.")
	flag.Parse()
	opts.platforms, opts.repoRoot = strings.Split(platforms, ","), "."
	if err := run(context.Background(), &opts); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("image: %s for %s in %s (tag %s)\n", module, platforms, filepath.Join(opts.out, "oci"), opts.version)
}

func run(ctx context.Context, opts *options) error {
	if opts.revision == "" {
		out, err := exec.CommandContext(ctx, "git", "-C", opts.repoRoot, "rev-parse", "HEAD").Output()
		if err != nil {
			return fmt.Errorf("reading the revision (pass -revision): %w", err)
		}
		opts.revision = strings.TrimSpace(string(out))
	}
	if opts.created.IsZero() {
		opts.created = commitTime(ctx, opts.repoRoot, opts.revision)
	}
	rootfs, err := rootfsLayer(filepath.Join(opts.repoRoot, "hack", "image", "rootfs"), opts.created)
	if err != nil {
		return err
	}
	index := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, platform := range opts.platforms {
		goos, goarch, ok := strings.Cut(platform, "/")
		if !ok || goos != "linux" {
			return fmt.Errorf("platform %q: want linux/ARCH", platform)
		}
		img, err := platformImage(ctx, opts, rootfs, goarch)
		if err != nil {
			return fmt.Errorf("%s: %w", platform, err)
		}
		index = mutate.AppendManifests(index, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: goos, Architecture: goarch}}})
	}
	dir := filepath.Join(opts.out, "oci")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	path, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return path.AppendIndex(index, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": opts.version,
	}))
}

// platformImage is the image of one architecture.
func platformImage(ctx context.Context, opts *options, rootfs v1.Layer, goarch string) (v1.Image, error) {
	binary, err := buildBinary(ctx, opts, goarch)
	if err != nil {
		return nil, err
	}
	sbom, err := spdxSBOM(binary, opts, goarch)
	if err != nil {
		return nil, err
	}
	files := []file{
		{name: binaryPath, mode: 0o755, data: binary},
		{name: sbomPath, mode: 0o644, data: sbom},
	}
	if err := writeFiles(filepath.Join(opts.out, dockerContext(goarch)), files); err != nil {
		return nil, err
	}
	app, err := layerOf(opts.created, files)
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, rootfs, app)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Created = "linux", goarch, v1.Time{Time: opts.created}
	cfg.Config = v1.Config{
		User:         user,
		Entrypoint:   []string{binaryPath},
		Cmd:          []string{"serve"},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"9443/tcp": {}, "8080/tcp": {}, "8081/tcp": {}},
		Labels: map[string]string{
			"org.opencontainers.image.source":   source,
			"org.opencontainers.image.version":  opts.version,
			"org.opencontainers.image.revision": opts.revision,
			"org.opencontainers.image.created":  opts.created.UTC().Format(time.RFC3339),
			"org.opencontainers.image.title":    "eksguard",
			"org.opencontainers.image.licenses": "Apache-2.0",
		},
	}
	return mutate.ConfigFile(img, cfg)
}

// dockerContext is where, under the output directory, the files of
// goarch's image layer are also written as a tree: the Dockerfile copies
// them onto scratch, so a Docker build pulls no image at all (neither a
// base nor a Go build image, which would have to be pinned by digest).
func dockerContext(goarch string) string { return "linux-" + goarch }

// writeFiles writes files under dir at their image paths.
func writeFiles(dir string, files []file) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, f.data, os.FileMode(f.mode)); err != nil {
			return err
		}
	}
	return nil
}

// buildBinary builds the static eksguard binary for goarch.
func buildBinary(ctx context.Context, opts *options, goarch string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "eksguard-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "eksguard")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X "+versionVariable+"="+opts.version, "-o", out, ".")
	cmd.Dir = opts.repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, output)
	}
	return os.ReadFile(out)
}

// file is one regular file of a layer.
type file struct {
	name string
	mode int64
	data []byte
}

// rootfsLayer is the files of dir (passwd and group), as the Dockerfile
// copies them.
func rootfsLayer(dir string, created time.Time) (v1.Layer, error) {
	var files []file
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files = append(files, file{name: "/" + filepath.ToSlash(rel), mode: 0o644, data: data})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	return layerOf(created, files)
}

// layerOf is a reproducible layer of files, owned by root, with mtime
// created, and their parent directories.
func layerOf(created time.Time, files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	seen := map[string]bool{}
	addDir := func(name string, mode int64) error {
		if seen[name] || name == "." || name == "/" {
			return nil
		}
		seen[name] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(name, "/") + "/", Mode: mode, ModTime: created})
	}
	for _, f := range files {
		parents := strings.Split(strings.TrimPrefix(filepath.Dir(f.name), "/"), "/")
		for i := range parents {
			if err := addDir("/"+strings.Join(parents[:i+1], "/"), 0o755); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.name, "/"), Mode: f.mode,
			Size: int64(len(f.data)), ModTime: created}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// spdxSBOM is an SPDX 2.3 document of the binary's Go modules, read from
// its build information.
func spdxSBOM(binary []byte, opts *options, goarch string) ([]byte, error) {
	info, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		return nil, fmt.Errorf("reading the build information: %w", err)
	}
	type ref struct {
		Category string `json:"referenceCategory"`
		Type     string `json:"referenceType"`
		Locator  string `json:"referenceLocator"`
	}
	type pkg struct {
		SPDXID           string `json:"SPDXID"`
		Name             string `json:"name"`
		Version          string `json:"versionInfo"`
		DownloadLocation string `json:"downloadLocation"`
		FilesAnalyzed    bool   `json:"filesAnalyzed"`
		ExternalRefs     []ref  `json:"externalRefs,omitempty"`
	}
	type relationship struct {
		Element string `json:"spdxElementId"`
		Type    string `json:"relationshipType"`
		Related string `json:"relatedSpdxElement"`
	}
	purl := func(path, version string) []ref {
		return []ref{{Category: "PACKAGE-MANAGER", Type: "purl", Locator: "pkg:golang/" + path + "@" + version}}
	}
	root := pkg{SPDXID: "SPDXRef-Package-eksguard", Name: module, Version: opts.version, DownloadLocation: source, ExternalRefs: purl(module, opts.version)}
	packages := []pkg{root, {SPDXID: "SPDXRef-Package-go", Name: "go", Version: info.GoVersion, DownloadLocation: "https://go.dev/dl/"}}
	relationships := []relationship{{Element: "SPDXRef-DOCUMENT", Type: "DESCRIBES", Related: root.SPDXID},
		{Element: root.SPDXID, Type: "DEPENDS_ON", Related: "SPDXRef-Package-go"}}
	for _, dep := range info.Deps {
		m := dep
		if dep.Replace != nil {
			m = dep.Replace
		}
		sum := sha256.Sum256([]byte(m.Path + "@" + m.Version))
		id := "SPDXRef-Package-" + hex.EncodeToString(sum[:8])
		packages = append(packages, pkg{SPDXID: id, Name: m.Path, Version: m.Version, DownloadLocation: "https://proxy.golang.org/" + m.Path,
			ExternalRefs: purl(m.Path, m.Version)})
		relationships = append(relationships, relationship{Element: root.SPDXID, Type: "DEPENDS_ON", Related: id})
	}
	doc := map[string]any{
		"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
		"name":              "eksguard-" + opts.version + "-linux-" + goarch,
		"documentNamespace": source + "/sbom/" + opts.revision + "/linux-" + goarch,
		"creationInfo":      map[string]any{"created": opts.created.UTC().Format(time.RFC3339), "creators": []string{"Tool: eksguard-hack-image"}},
		"packages":          packages,
		"relationships":     relationships,
	}
	return json.MarshalIndent(doc, "", "  ")
}

// commitTime is the revision's commit time, or the Unix epoch outside git.
func commitTime(ctx context.Context, repo, revision string) time.Time {
	out, err := exec.CommandContext(ctx, "git", "-C", repo, "show", "-s", "--format=%cI", revision).Output()
	if err != nil {
		return time.Unix(0, 0).UTC()
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(out)))
	if err != nil {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}
