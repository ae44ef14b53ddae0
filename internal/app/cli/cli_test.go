package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/app/manifest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestDefaultToServe(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{args: nil, want: []string{"serve"}},
		// The command line of deployments older than the subcommands.
		{args: []string{"--webhook-port=9443", "--cert-dir", "/tls"}, want: []string{"serve", "--webhook-port=9443", "--cert-dir", "/tls"}},
		// Go's flag package accepted single-dash long flags.
		{args: []string{"-webhook-port=9443", "-zap-devel", "-help"}, want: []string{"serve", "--webhook-port=9443", "--zap-devel", "--help"}},
		{args: []string{"serve", "-cert-dir=/tls", "-x"}, want: []string{"serve", "--cert-dir=/tls", "-x"}},
		{args: []string{"--webhook-port=1", "--", "-cert-dir"}, want: []string{"serve", "--webhook-port=1", "--", "-cert-dir"}},
		{args: []string{"check", "-f", "-"}, want: []string{"check", "-f", "-"}},
		{args: []string{"audit"}, want: []string{"audit"}},
		{args: []string{"help", "check"}, want: []string{"help", "check"}},
		{args: []string{"--version"}, want: []string{"--version"}},
		{args: []string{"-h"}, want: []string{"-h"}},
		{args: []string{"--help"}, want: []string{"--help"}},
	}
	root := newRootCommand(Streams{}, nil)
	for _, tt := range tests {
		if got := defaultToServe(root, tt.args); !slices.Equal(got, tt.want) {
			t.Errorf("defaultToServe(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestRootCommand(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // prefix
		wantStderr string // prefix
	}{
		{name: "version", args: []string{"--version"}, wantStdout: "eksguard dev\n"},
		{name: "help lists the commands", args: []string{"--help"}, wantStdout: "eksguard enforces EKS runtime and network security practices"},
		{name: "serve help", args: []string{"serve", "--help"}, wantStdout: "Run the admission webhook server."},
		{name: "Go-style serve help", args: []string{"-help"}, wantStdout: "Run the admission webhook server."},
		{name: "unknown command", args: []string{"chekc"}, wantCode: ExitUnusable,
			wantStderr: "Error: unknown command \"chekc\" for \"eksguard\"\n\nDid you mean this?\n\tcheck\n\nRun 'eksguard --help' for usage.\n"},
		{name: "unknown flag", args: []string{"check", "--polcy", "x"}, wantCode: ExitUnusable,
			wantStderr: "Error: unknown flag: --polcy\nRun 'eksguard check --help' for usage.\n"},
		{name: "unknown server flag", args: []string{"--webhook-prot=1"}, wantCode: ExitUnusable,
			wantStderr: "Error: unknown flag: --webhook-prot\nRun 'eksguard serve --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if !strings.HasPrefix(stdout, tt.wantStdout) {
				t.Errorf("stdout %q, want prefix %q", stdout, tt.wantStdout)
			}
			if !strings.HasPrefix(stderr, tt.wantStderr) || (tt.wantStderr == "" && stderr != "") {
				t.Errorf("stderr %q, want %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestCoveredByController(t *testing.T) {
	owned := func(apiVersion, kind string, controller bool) *metav1.ObjectMeta {
		return &metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{
			{APIVersion: apiVersion, Kind: kind, Name: "owner", UID: "1", Controller: ptr.To(controller)},
		}}
	}
	tests := []struct {
		name  string
		obj   *metav1.ObjectMeta
		kinds []schema.GroupKind
		want  bool
	}{
		{"bare pod", &metav1.ObjectMeta{}, controlledBy[schema.GroupKind{Kind: "Pod"}], false},
		{"pod of a ReplicaSet", owned("apps/v1", "ReplicaSet", true), controlledBy[schema.GroupKind{Kind: "Pod"}], true},
		{"pod of a Job", owned("batch/v1", "Job", true), controlledBy[schema.GroupKind{Kind: "Pod"}], true},
		{"pod of a custom controller is judged itself", owned("example.com/v1", "Widget", true), controlledBy[schema.GroupKind{Kind: "Pod"}], false},
		{"mirror pod", owned("v1", "Node", true), controlledBy[schema.GroupKind{Kind: "Pod"}], false},
		{"a non-controller owner does not count", owned("apps/v1", "ReplicaSet", false), controlledBy[schema.GroupKind{Kind: "Pod"}], false},
		{"ReplicaSet of a Deployment", owned("apps/v1", "Deployment", true), []schema.GroupKind{gkDeployment}, true},
		{"ReplicaSet of an Argo Rollout", owned("argoproj.io/v1alpha1", "Rollout", true), []schema.GroupKind{gkDeployment}, false},
		{"Job of a CronJob", owned("batch/v1", "CronJob", true), []schema.GroupKind{gkCronJob}, true},
	}
	judged := map[types.UID]bool{"1": true}
	for _, tt := range tests {
		if got := coveredByController(tt.obj, tt.kinds, judged); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
		// A controller that was not judged (gone, or held in deletion)
		// covers nothing: what it made is judged itself.
		if coveredByController(tt.obj, tt.kinds, map[types.UID]bool{}) {
			t.Errorf("%s: covered by a controller the audit did not judge", tt.name)
		}
	}
}

// TestAuditKindsControllersFirst: every controller is listed before the
// kinds it controls, so that coveredByController can see it was judged.
func TestAuditKindsControllersFirst(t *testing.T) {
	kinds := auditKinds(manifest.NewScheme())
	position := map[schema.GroupKind]int{}
	for i, k := range kinds {
		position[k.gvk.GroupKind()] = i
	}
	for child, controllers := range controlledBy {
		for _, c := range controllers {
			if position[c] >= position[child] {
				t.Errorf("%s is listed at %d, after %s at %d, which it controls", c, position[c], child, position[child])
			}
		}
	}
}
