package lbtls

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/eksguard/eksguard/config"
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

// render shows errors as a denial lists them: "field: detail".
func render(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Detail)
	}
	return out
}

func assertErrs(t *testing.T, what string, got field.ErrorList, want []string) {
	t.Helper()
	if g := render(got); !reflect.DeepEqual(g, want) {
		t.Errorf("%s errors:\n got: %s\nwant: %s", what, lines(g), lines(want))
	}
}

func assertListeners(t *testing.T, got, want []Listener) {
	t.Helper()
	if (len(got) != 0 || len(want) != 0) && !reflect.DeepEqual(got, want) {
		t.Errorf("listeners:\n got: %s\nwant: %s", lines(got), lines(want))
	}
}

// lines prints one element per line, so that a failing comparison is readable.
func lines[T any](items []T) string {
	var b strings.Builder
	for _, item := range items {
		fmt.Fprintf(&b, "\n\t%+v", item)
	}
	if b.Len() == 0 {
		return "(none)"
	}
	return b.String()
}
