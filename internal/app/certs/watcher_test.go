package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eksguard/eksguard/internal/testkit/testbed/testcert"
)

// publishLikeKubelet writes the files the way kubelet updates a Secret
// volume: into a fresh timestamped directory, then swaps the ..data symlink
// that the visible file names point through.
func publishLikeKubelet(t *testing.T, dir string, generation int, certPEM, keyPEM []byte) {
	t.Helper()
	payload := filepath.Join(dir, "..gen"+string(rune('0'+generation)))
	if err := os.Mkdir(payload, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{CertFile: certPEM, KeyFile: keyPEM} {
		if err := os.WriteFile(filepath.Join(payload, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	tmpLink := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(payload), tmpLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

func servedName(t *testing.T, w *Watcher) (string, error) {
	t.Helper()
	cert, err := w.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		return "", err
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Subject.CommonName, nil
}

// eventually polls cond until it holds; the deadline only bounds a hang.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWatcherWaitsForFilesAndReloadsKubeletUpdates(t *testing.T) {
	dir := t.TempDir()
	w := NewWatcher(dir)
	w.pollInterval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()

	if _, err := servedName(t, w); err == nil || err.Error() != "no serving certificate in "+dir+" yet" {
		t.Fatalf("before the files exist: got error %v, want \"no serving certificate in %s yet\"", err, dir)
	}

	first, firstKey := testcert.Issue(t, testcert.Request{CommonName: "first.eksguard-system.svc", Hosts: []string{"first.eksguard-system.svc"}})
	publishLikeKubelet(t, dir, 1, first, firstKey)
	eventually(t, "the first certificate is served", func() bool {
		name, err := servedName(t, w)
		return err == nil && name == "first.eksguard-system.svc"
	})

	second, secondKey := testcert.Issue(t, testcert.Request{CommonName: "second.eksguard-system.svc", Hosts: []string{"second.eksguard-system.svc"}})
	publishLikeKubelet(t, dir, 2, second, secondKey)
	eventually(t, "the renewed certificate is served", func() bool {
		name, err := servedName(t, w)
		return err == nil && name == "second.eksguard-system.svc"
	})

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start returned %v after cancellation, want nil", err)
	}
}

func TestWatcherStopsWaitingOnCancel(t *testing.T) {
	w := NewWatcher(t.TempDir())
	w.pollInterval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Start(ctx); err != nil {
		t.Fatalf("Start with a cancelled context: got %v, want nil", err)
	}
}
