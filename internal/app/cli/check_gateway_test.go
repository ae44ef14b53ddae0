package cli

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/eksguard/eksguard/internal/app/report"
)

// TestCheckGatewayAPIKinds: check knows every Gateway API kind: those with
// no listener of their own (ReferenceGrant, BackendTLSPolicy) are not
// checked instead of exit 2, a route at an older version (TCPRoute
// v1alpha2) is read as v1, and Gateways are judged with the routes before
// them, as kubectl apply creates them.
func TestCheckGatewayAPIKinds(t *testing.T) {
	input, err := os.ReadFile("testdata/gateway-api-kinds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, string(input), "check", "-f", "-", "-o", "json")
	if code != ExitViolations || stderr != "" {
		t.Fatalf("exit code %d, want %d; stderr %s", code, ExitViolations, stderr)
	}
	var rep report.Check
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rep.Results {
		got[r.Kind+" "+r.Name] = string(r.Verdict)
	}
	want := map[string]string{"ReferenceGrant rg": "skipped", "GatewayClass aws-nlb": "skipped", "Gateway db": "warned",
		"TCPRoute pg": "denied", "BackendTLSPolicy b": "skipped"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
}
