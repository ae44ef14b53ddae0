package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/eksguard/eksguard/internal/certs"
)

// TestChartSelfManagedCertificates runs certificate rotation as the chart
// installs it: the chart's empty Secret, RBAC and webhook configurations,
// and the rotator acting as the chart's ServiceAccount (impersonated), so
// the chart's RBAC must be enough. A stand-in for kubelet copies the Secret
// into the certificate directory.
func TestChartSelfManagedCertificates(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	const fullname = "rot-eksguard"
	secretName := fullname + "-webhook-tls"
	r := renderChart(t, "rot", ns, "{}")

	for _, obj := range [][2]string{
		{"ClusterRole", fullname}, {"ClusterRoleBinding", fullname}, {"Role", fullname}, {"RoleBinding", fullname},
		{"Secret", secretName},
	} {
		createForTest(t, r.object(t, obj[0], obj[1]).DeepCopy())
	}
	// The webhook configurations as rendered, made unable to match anything
	// so they cannot disturb other tests.
	var m admissionregistrationv1.MutatingWebhookConfiguration
	r.get(t, "MutatingWebhookConfiguration", fullname, &m)
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.get(t, "ValidatingWebhookConfiguration", fullname, &v)
	matchNothing := &metav1.LabelSelector{MatchLabels: map[string]string{chartTestLabel: "never"}}
	for i := range m.Webhooks {
		m.Webhooks[i].ObjectSelector = matchNothing
	}
	for i := range v.Webhooks {
		v.Webhooks[i].ObjectSelector = matchNothing
	}
	createForTest(t, &m)
	createForTest(t, &v)

	// Run the rotator as the chart's ServiceAccount.
	cfg := rest.CopyConfig(restConfig)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + ns + ":" + fullname,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	mgr, err := manager.New(cfg, manager.Options{
		Scheme:                 clientgoscheme.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	certDir := t.TempDir()
	ready := make(chan struct{})
	if err := certs.SetupWithManager(mgr, certs.Options{
		Namespace:                       ns,
		SecretName:                      secretName,
		ServiceName:                     fullname,
		CertDir:                         certDir,
		MutatingWebhookConfigurations:   []string{fullname},
		ValidatingWebhookConfigurations: []string{fullname},
		Ready:                           ready,
	}); err != nil {
		t.Fatal(err)
	}
	watcher := certs.NewWatcher(certDir)
	if err := mgr.Add(watcher); err != nil {
		t.Fatal(err)
	}
	mgrCtx, stop := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- mgr.Start(mgrCtx) }()
	go mirrorSecret(mgrCtx, t, client.ObjectKey{Namespace: ns, Name: secretName}, certDir)
	t.Cleanup(func() {
		stop()
		if err := <-stopped; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	select {
	case <-ready:
	case err := <-stopped:
		t.Fatalf("the rotator stopped before it was ready: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("certificates not ready after 2 minutes")
	}
	if err := certs.ReadyChecker(ready)(nil); err != nil {
		t.Fatalf("ReadyChecker after Ready: %v", err)
	}

	secret := getSecret(t, ns, secretName)
	ca := parseCert(t, secret.Data["ca.crt"])
	serving := parseCert(t, secret.Data["tls.crt"])
	verifyServing(t, ca, serving, ns, fullname)
	if left := time.Until(ca.NotAfter); left < 9*365*24*time.Hour {
		t.Errorf("the CA expires in %s, want about 10 years", left)
	}
	if left := time.Until(serving.NotAfter); left < 364*24*time.Hour {
		t.Errorf("the serving certificate expires in %s, want about 1 year", left)
	}
	checkCABundles(t, fullname, secret.Data["ca.crt"])
	eventually(t, 30*time.Second, func() error { return serves(watcher, serving) })

	// Plant a serving certificate of the same CA that expires in 30 days,
	// inside the 90-day renewal window: the rotator replaces it at once
	// (it watches the Secret) and keeps the CA.
	expiring, expiringKey := signWithCA(t, secret.Data["ca.crt"], secret.Data["ca.key"], certs.ServiceDNSName(fullname, ns), 30*24*time.Hour)
	secret.Data["tls.crt"], secret.Data["tls.key"] = expiring, expiringKey
	if err := k8sClient.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		s := getSecret(t, ns, secretName)
		if bytes.Equal(s.Data["tls.crt"], expiring) {
			return fmt.Errorf("the expiring serving certificate is still in the Secret")
		}
		return nil
	})
	renewed := getSecret(t, ns, secretName)
	if !bytes.Equal(renewed.Data["ca.crt"], secret.Data["ca.crt"]) {
		t.Errorf("renewing the serving certificate replaced the CA")
	}
	renewedCert := parseCert(t, renewed.Data["tls.crt"])
	verifyServing(t, ca, renewedCert, ns, fullname)
	checkCABundles(t, fullname, secret.Data["ca.crt"])
	// Served without a restart once "kubelet" has updated the files.
	eventually(t, 30*time.Second, func() error { return serves(watcher, renewedCert) })
}

// createForTest creates obj and deletes it when the test ends.
func createForTest(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	if err := k8sClient.Create(ctx, obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
	t.Cleanup(func() {
		if err := k8sClient.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting %T %s: %v", obj, obj.GetName(), err)
		}
	})
}

// mirrorSecret plays kubelet: it copies the Secret's tls.crt and tls.key
// into dir whenever they change, swapping them in atomically.
func mirrorSecret(ctx context.Context, t *testing.T, key client.ObjectKey, dir string) {
	var last string
	for ctx.Err() == nil {
		var s corev1.Secret
		if err := k8sClient.Get(ctx, key, &s); err == nil && s.ResourceVersion != last && len(s.Data["tls.crt"]) > 0 {
			for _, name := range []string{"tls.key", "tls.crt"} {
				tmp := filepath.Join(dir, "."+name)
				if err := os.WriteFile(tmp, s.Data[name], 0o600); err != nil {
					t.Errorf("writing %s: %v", name, err)
					return
				}
				if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
					t.Errorf("renaming %s: %v", name, err)
					return
				}
			}
			last = s.ResourceVersion
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("not a PEM certificate: %q", data)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// verifyServing checks that serving chains to ca for both Service names.
func verifyServing(t *testing.T, ca, serving *x509.Certificate, ns, service string) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, name := range []string{service + "." + ns + ".svc", service + "." + ns + ".svc.cluster.local"} {
		if _, err := serving.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("the serving certificate is not valid for %s: %v", name, err)
		}
	}
}

// checkCABundles checks that every entry of both webhook configurations
// trusts caPEM.
func checkCABundles(t *testing.T, name string, caPEM []byte) {
	t.Helper()
	ctx := context.Background()
	eventually(t, 30*time.Second, func() error {
		var m admissionregistrationv1.MutatingWebhookConfiguration
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, &m); err != nil {
			return err
		}
		var v admissionregistrationv1.ValidatingWebhookConfiguration
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, &v); err != nil {
			return err
		}
		var bundles [][]byte
		for _, w := range m.Webhooks {
			bundles = append(bundles, w.ClientConfig.CABundle)
		}
		for _, w := range v.Webhooks {
			bundles = append(bundles, w.ClientConfig.CABundle)
		}
		for i, b := range bundles {
			if !bytes.Equal(b, caPEM) {
				return fmt.Errorf("webhook entry %d of %d has caBundle %q, want the CA of the Secret", i, len(bundles), b)
			}
		}
		return nil
	})
}

// serves checks that the watcher hands out want.
func serves(w *certs.Watcher, want *x509.Certificate) error {
	got, err := w.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		return err
	}
	if !bytes.Equal(got.Certificate[0], want.Raw) {
		return fmt.Errorf("the watcher serves another certificate (serial %s) than %s", got.Leaf.SerialNumber, want.SerialNumber)
	}
	return nil
}

// signWithCA issues a serving certificate for dnsName from the CA in the
// Secret (cert-controller stores a PKCS#1 RSA key), valid for validity.
func signWithCA(t *testing.T, caPEM, caKeyPEM []byte, dnsName string, validity time.Duration) (certPEM, keyPEM []byte) {
	t.Helper()
	ca := parseCert(t, caPEM)
	block, _ := pem.Decode(caKeyPEM)
	if block == nil {
		t.Fatal("the CA key is not PEM")
	}
	caKey, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: dnsName},
		DNSNames:     []string{dnsName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}
