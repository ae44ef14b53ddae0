package test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/eksguard/eksguard/internal/app/certs"
	"github.com/eksguard/eksguard/internal/testkit/testbed"
	"github.com/eksguard/eksguard/internal/testkit/testbed/testcert"
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
		createForTest(t, r.Object(t, obj[0], obj[1]).DeepCopy())
	}
	// The webhook configurations as charttest.Rendered, made unable to match anything
	// so they cannot disturb other tests.
	var m admissionregistrationv1.MutatingWebhookConfiguration
	r.Get(t, "MutatingWebhookConfiguration", fullname, &m)
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.Get(t, "ValidatingWebhookConfiguration", fullname, &v)
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

// signWithCA issues a serving certificate for dnsName signed by the CA
// that eksguard generated (cert-controller writes an RSA PKCS #1 key).
func signWithCA(t *testing.T, caPEM, caKeyPEM []byte, dnsName string, validity time.Duration) (certPEM, keyPEM []byte) {
	t.Helper()
	block, _ := pem.Decode(caKeyPEM)
	if block == nil {
		t.Fatal("the CA key is not PEM")
	}
	caKey, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return testcert.Issue(t, testcert.Request{CommonName: dnsName, Hosts: []string{dnsName}, Validity: validity,
		CA: parseCert(t, caPEM), CAKey: caKey})
}

// TestChartServerRunsUnderChartRBAC runs the eksguard binary with the
// arguments of the chart's Deployment, as the chart's ServiceAccount
// (impersonated), against the chart's RBAC, empty certificate Secret, policy
// ConfigMap and webhook configurations. It must turn ready (informers
// synced, certificate generated and served, CA bundle injected), load the
// charttest.Rendered policy and record its Event, serve a certificate the injected CA
// bundle trusts, and stop cleanly on SIGTERM.
func TestChartServerRunsUnderChartRBAC(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	const fullname = "full-eksguard"
	secretName, policyName := fullname+"-webhook-tls", fullname+"-policy"
	r := renderChart(t, "full", ns, "policy: {rules: {networkPolicy: {mode: enforce, coverage: both}}}")
	for _, obj := range [][2]string{
		{"ClusterRole", fullname}, {"ClusterRoleBinding", fullname}, {"Role", fullname}, {"RoleBinding", fullname},
		{"Secret", secretName}, {"ConfigMap", policyName}, {"ClusterRole", fullname + "-metrics-reader"},
	} {
		createForTest(t, r.Object(t, obj[0], obj[1]).DeepCopy())
	}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	r.Get(t, "MutatingWebhookConfiguration", fullname, &m)
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.Get(t, "ValidatingWebhookConfiguration", fullname, &v)
	matchNothing := &metav1.LabelSelector{MatchLabels: map[string]string{chartTestLabel: "never"}}
	for i := range m.Webhooks {
		m.Webhooks[i].ObjectSelector = matchNothing
	}
	for i := range v.Webhooks {
		v.Webhooks[i].ObjectSelector = matchNothing
	}
	createForTest(t, &m)
	createForTest(t, &v)
	// The server writes its seccomp admission policy, owned by the mutating
	// webhook configuration.
	seccompPolicy := &admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: fullname + "-seccomp"}}
	seccompBinding := &admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: fullname + "-seccomp"}}
	removeSeccompAdmissionPolicy(t, fullname+"-seccomp")

	var d appsv1.Deployment
	r.Get(t, "Deployment", fullname, &d)
	webhookAddr, healthAddr, metricsAddr := freeAddress(t), freeAddress(t), freeAddress(t)
	_, webhookPort, _ := net.SplitHostPort(webhookAddr)
	certDir := t.TempDir()
	// The Deployment's arguments; then what a pod gets from its volumes and
	// network namespace (certificate directory, ports), and the credentials.
	args := append(d.Spec.Template.Spec.Containers[0].Args,
		"--cert-dir="+certDir,
		"--webhook-port="+webhookPort,
		"--health-probe-bind-address="+healthAddr,
		"--metrics-bind-address="+metricsAddr,
		"--kubeconfig="+serviceAccountKubeconfig(t, ns, fullname),
	)
	cmd := exec.Command(buildBinary(t), args...)
	cmd.Env = append(os.Environ(), "POD_NAMESPACE="+ns)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed when the process has exited, with its error in exitErr.
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	mirrorCtx, stopMirror := context.WithCancel(ctx)
	t.Cleanup(func() {
		stopMirror()
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("eksguard output:\n%s", output.String())
		}
	})

	// Not ready while the generated certificate is only in the Secret, not
	// yet in the certificate directory ("kubelet" has not copied it).
	certificatesCheck := "http://" + healthAddr + "/readyz/certificates"
	// The chart's Role lets it list and watch that one Secret by name, so
	// this also proves the rotator's cache asks for it by name.
	eventually(t, time.Minute, func() error {
		if len(getSecret(t, ns, secretName).Data["tls.crt"]) == 0 {
			return fmt.Errorf("eksguard has not generated the certificate yet")
		}
		return nil
	})
	eventually(t, time.Minute, func() error {
		err := testbed.Probe(ctx, certificatesCheck)
		if err == nil {
			t.Fatalf("%s passes before the certificate is in the certificate directory", certificatesCheck)
		}
		if !strings.Contains(err.Error(), "500 Internal Server Error") {
			return err // the health endpoint is not up yet
		}
		return nil
	})
	go mirrorSecret(mirrorCtx, t, client.ObjectKey{Namespace: ns, Name: secretName}, certDir)

	serverStopped := make(chan error, 1)
	go func() { <-exited; serverStopped <- fmt.Errorf("eksguard exited: %v", exitErr) }()
	if err := testbed.WaitUntilReady(ctx, "http://"+healthAddr+"/readyz", serverStopped); err != nil {
		t.Fatal(err)
	}

	checkMetricsAccess(t, ns, fullname+"-metrics-reader", metricsAddr)

	// Under the chart's RBAC it writes its seccomp admission policy and
	// binding, owned by its mutating webhook configuration.
	eventually(t, policyTimeout, func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(seccompBinding), seccompBinding); err != nil {
			return err
		}
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(seccompPolicy), seccompPolicy); err != nil {
			return err
		}
		if owners := seccompPolicy.OwnerReferences; len(owners) != 1 || owners[0].Kind != "MutatingWebhookConfiguration" || owners[0].Name != fullname {
			return fmt.Errorf("the seccomp admission policy's owners: %+v", owners)
		}
		return nil
	})

	// The charttest.Rendered policy was loaded and recorded as an Event on its ConfigMap.
	eventually(t, policyTimeout, func() error {
		var events eventsv1.EventList
		if err := k8sClient.List(ctx, &events, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Regarding.Kind == "ConfigMap" && e.Regarding.Name == policyName && e.Type == corev1.EventTypeNormal {
				for _, want := range []string{ns + "/" + policyName + "@", "networkPolicy=enforce (coverage=both)", "loadBalancerTLS=warn"} {
					if !strings.Contains(e.Note, want) {
						return fmt.Errorf("the policy Event %q does not contain %q", e.Note, want)
					}
				}
				return nil
			}
		}
		return fmt.Errorf("no Event about ConfigMap %s among %d Events", policyName, len(events.Items))
	})

	// The API server, trusting the injected CA bundle, can connect.
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := k8sClient.Get(ctx, client.ObjectKey{Name: fullname}, &vwc); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(vwc.Webhooks[0].ClientConfig.CABundle) {
		t.Fatalf("the injected caBundle is not PEM: %q", vwc.Webhooks[0].ClientConfig.CABundle)
	}
	conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", webhookPort),
		&tls.Config{RootCAs: roots, ServerName: certs.ServiceDNSName(fullname, ns), MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS to the webhook server with the injected CA bundle: %v", err)
	}
	conn.Close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Errorf("eksguard exited with %v after SIGTERM, want 0", exitErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("eksguard did not stop within 30s of SIGTERM")
	}
}

// checkMetricsAccess: the metrics as the chart serves them answer over
// HTTPS only, only to a caller the API server authenticates, and only to
// one bound to the chart's metrics-reader ClusterRole. Each caller is a
// ServiceAccount of its own, with a real token (TokenRequest), since the
// server caches each caller's answer.
func checkMetricsAccess(t *testing.T, ns, readerRole, addr string) {
	t.Helper()
	ctx := context.Background()
	token := func(name string) string {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		createForTest(t, sa)
		tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}
		if err := k8sClient.SubResource("token").Create(ctx, sa, tr); err != nil {
			t.Fatalf("requesting a token for %s: %v", name, err)
		}
		return tr.Status.Token
	}
	reader, stranger := token("prometheus"), token("stranger")
	createForTest(t, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: readerRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "prometheus"}},
	})
	// The certificate is self-signed: what is checked is who may read.
	httpsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // self-signed by design
	}}
	get := func(scheme, bearer string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := httpsClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s://%s/metrics: %v", scheme, addr, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct {
		name, scheme, bearer string
		want                 int
	}{
		{"plain HTTP", "http", "", http.StatusBadRequest},
		{"no token", "https", "", http.StatusUnauthorized},
		{"a token the API server does not know", "https", "not-a-token", http.StatusUnauthorized},
		{"a ServiceAccount without the reader role", "https", stranger, http.StatusForbidden},
	} {
		if code, body := get(tc.scheme, tc.bearer); code != tc.want {
			t.Errorf("metrics, %s: HTTP %d, want %d (%.200s)", tc.name, code, tc.want, body)
		}
	}
	eventually(t, 30*time.Second, func() error {
		code, body := get("https", reader)
		if code != http.StatusOK {
			return fmt.Errorf("metrics with the reader's token: HTTP %d (%.200s)", code, body)
		}
		if !strings.Contains(body, "eksguard_") {
			return fmt.Errorf("metrics with the reader's token: no eksguard series in %.200s", body)
		}
		return nil
	})
}

func freeAddress(t *testing.T) string {
	t.Helper()
	addr, err := testbed.FreeLocalAddress()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// serviceAccountKubeconfig writes a kubeconfig for the envtest API server
// that acts as ServiceAccount name in namespace ns.
func serviceAccountKubeconfig(t *testing.T, ns, name string) string {
	t.Helper()
	return writeKubeconfig(t, &clientcmdapi.AuthInfo{
		Impersonate:       "system:serviceaccount:" + ns + ":" + name,
		ImpersonateGroups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	})
}

// writeKubeconfig writes a kubeconfig for the envtest API server with the
// admin's client certificate and the impersonation of user.
func writeKubeconfig(t *testing.T, user *clientcmdapi.AuthInfo) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: restConfig.Host, CertificateAuthorityData: restConfig.CAData}
	user.ClientCertificateData, user.ClientKeyData = restConfig.CertData, restConfig.KeyData
	cfg.AuthInfos["user"] = user
	cfg.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "user"}
	cfg.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestChartAdmissionPolicies: the chart's ValidatingAdmissionPolicy lets
// eksguard's ServiceAccount (impersonated, with the chart's RBAC) change
// the failure policies and CA bundle of its webhook configurations, and
// refuses any other change it could make to them.
func TestChartAdmissionPolicies(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	const fullname = "vap-eksguard"
	r := renderChart(t, "vap", ns, "{}")
	for _, obj := range [][2]string{
		{"ClusterRole", fullname}, {"ClusterRoleBinding", fullname},
		{"ValidatingAdmissionPolicy", fullname + "-webhook-configurations"},
		{"ValidatingAdmissionPolicyBinding", fullname + "-webhook-configurations"},
	} {
		createForTest(t, r.Object(t, obj[0], obj[1]).DeepCopy())
	}
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.Get(t, "ValidatingWebhookConfiguration", fullname, &v)
	for i := range v.Webhooks {
		v.Webhooks[i].ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{chartTestLabel: "never"}}
	}
	createForTest(t, &v)

	cfg := rest.CopyConfig(restConfig)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + ns + ":" + fullname,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	eksguard, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	change := func(edit func(*admissionregistrationv1.ValidatingWebhook), opts ...client.PatchOption) error {
		var live admissionregistrationv1.ValidatingWebhookConfiguration
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: fullname}, &live); err != nil {
			return err
		}
		before := live.DeepCopy()
		edit(&live.Webhooks[0])
		return eksguard.Patch(ctx, &live, client.MergeFrom(before), opts...)
	}
	const refusal = "eksguard's ServiceAccount may change only the caBundle and failurePolicy of its own webhook configurations"
	// The API server enforces the policy once its informers have it (a
	// dry run until then, so that nothing changes meanwhile).
	newPath := func(w *admissionregistrationv1.ValidatingWebhook) { w.ClientConfig.Service.Path = ptr.To("/elsewhere") }
	eventually(t, policyTimeout, func() error {
		if err := change(newPath, client.DryRunAll); err == nil || !strings.Contains(err.Error(), refusal) {
			return fmt.Errorf("a new webhook path: %v, want the policy's refusal", err)
		}
		return nil
	})
	if err := change(newPath); err == nil || !strings.Contains(err.Error(), refusal) {
		t.Errorf("a new webhook path: %v, want the policy's refusal", err)
	}
	if err := change(func(w *admissionregistrationv1.ValidatingWebhook) { w.NamespaceSelector = &metav1.LabelSelector{} }); err == nil ||
		!strings.Contains(err.Error(), refusal) {
		t.Errorf("a widened namespace selector: %v, want the policy's refusal", err)
	}
	if err := change(func(w *admissionregistrationv1.ValidatingWebhook) {
		w.FailurePolicy = ptr.To(admissionregistrationv1.Ignore)
		w.ClientConfig.CABundle = []byte("-----BEGIN CERTIFICATE-----\n")
	}); err != nil {
		t.Errorf("a new failure policy and CA bundle: %v", err)
	}
	// The report Job's policy compiles (the API server type-checks it).
	reports := renderChart(t, "vap", ns, "reports: {enabled: true}").Object(t, "ValidatingAdmissionPolicy", fullname+"-reports").DeepCopy()
	if err := k8sClient.Create(ctx, reports, client.DryRunAll); err != nil {
		t.Errorf("the report Job's ValidatingAdmissionPolicy: %v", err)
	}
}

// TestChartNamespaceLabelPolicy: with admissionPolicies.namespaceLabels,
// a tenant allowed to patch its namespace cannot label it into an
// exclusion or an exemption (eksguard.io/ labels), but may set other labels.
func TestChartNamespaceLabelPolicy(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	const fullname = "nsl-eksguard"
	r := renderChart(t, "nsl", ns, "admissionPolicies: {namespaceLabels: {enabled: true}}")
	for _, kind := range []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		createForTest(t, r.Object(t, kind, fullname+"-namespace-labels").DeepCopy())
	}
	tenantRole := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenant-" + ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{ns},
			Verbs: []string{"get", "patch", "update"}}}}
	createForTest(t, tenantRole)
	createForTest(t, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "tenant-" + ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: tenantRole.Name},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "tenant"}}})
	cfg := rest.CopyConfig(restConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "tenant", Groups: []string{"system:authenticated"}}
	tenant, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	label := func(key string, opts ...client.PatchOption) error {
		var namespace corev1.Namespace
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &namespace); err != nil {
			return err
		}
		before := namespace.DeepCopy()
		if namespace.Labels == nil {
			namespace.Labels = map[string]string{}
		}
		namespace.Labels[key] = "true"
		return tenant.Patch(ctx, &namespace, client.MergeFrom(before), opts...)
	}
	const refusal = "only its admin groups may change them"
	eventually(t, policyTimeout, func() error {
		if err := label("eksguard.io/ignore", client.DryRunAll); err == nil || !strings.Contains(err.Error(), refusal) {
			return fmt.Errorf("a tenant labelling its namespace eksguard.io/ignore: %v, want the policy's refusal", err)
		}
		return nil
	})
	if err := label("team-owned"); err != nil {
		t.Errorf("a tenant setting another label: %v", err)
	}
}
