package certs

import (
	"net/http"
	"testing"
	"time"
)

func validOptions() Options {
	return Options{
		Namespace:                       "eksguard-system",
		SecretName:                      "eksguard-webhook-tls",
		ServiceName:                     "eksguard",
		CertDir:                         "/etc/eksguard/tls",
		MutatingWebhookConfigurations:   []string{"eksguard"},
		ValidatingWebhookConfigurations: []string{"eksguard"},
		Ready:                           make(chan struct{}),
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(*Options)
		wantErr string
	}{
		{name: "defaults", modify: func(*Options) {}},
		{
			name:    "namespace not a DNS label",
			modify:  func(o *Options) { o.Namespace = "Eksguard" },
			wantErr: `namespace "Eksguard": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
		},
		{
			name:    "no webhook configurations",
			modify:  func(o *Options) { o.MutatingWebhookConfigurations, o.ValidatingWebhookConfigurations = nil, nil },
			wantErr: "name at least one webhook configuration to receive the CA bundle",
		},
		{
			name:    "no certificate directory",
			modify:  func(o *Options) { o.CertDir = "" },
			wantErr: "the certificate directory must be set",
		},
		{
			name:    "no ready channel",
			modify:  func(o *Options) { o.Ready = nil },
			wantErr: "the Ready channel must be set",
		},
		{
			name:    "renewal window as long as the certificate",
			modify:  func(o *Options) { o.ServerCertValidity = 90 * 24 * time.Hour },
			wantErr: "renew-before 2160h0m0s must be positive and shorter than the serving certificate (2160h0m0s) and CA (87600h0m0s) validity",
		},
		{
			name:    "check interval longer than the renewal window",
			modify:  func(o *Options) { o.RenewBefore = time.Hour },
			wantErr: "check interval 12h0m0s must be positive and shorter than renew-before 1h0m0s",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := validOptions()
			tc.modify(&opts)
			opts.defaults()
			err := opts.validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Fatalf("validate() = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestReadyChecker(t *testing.T) {
	ready := make(chan struct{})
	check := ReadyChecker(ready)
	req := &http.Request{}
	if err := check(req); err == nil || err.Error() != "webhook certificates are not in place yet" {
		t.Fatalf("before ready: got %v, want \"webhook certificates are not in place yet\"", err)
	}
	close(ready)
	if err := check(req); err != nil {
		t.Fatalf("after ready: got %v, want nil", err)
	}
}

func TestServiceDNSName(t *testing.T) {
	if got, want := ServiceDNSName("eksguard", "eksguard-system"), "eksguard.eksguard-system.svc"; got != want {
		t.Fatalf("ServiceDNSName() = %q, want %q", got, want)
	}
}
