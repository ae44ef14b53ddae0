package lbtls

import (
	"reflect"
	"testing"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/ruletest"
)

const (
	certARN      = "arn:aws:acm:region:account:certificate/cert-id"
	otherCertARN = "arn:aws:acm:region:account:certificate/other-id"
	strongPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"
	weakPolicy   = "ELBSecurityPolicy-2016-08"
)

func defaultSettings() config.LoadBalancerTLSSettings {
	return config.Defaults().Rules.LoadBalancerTLS
}

func assertListeners(t *testing.T, got, want []Listener) {
	t.Helper()
	if (len(got) != 0 || len(want) != 0) && !reflect.DeepEqual(got, want) {
		t.Errorf("listeners:\n got: %s\nwant: %s", ruletest.Lines(got), ruletest.Lines(want))
	}
}
