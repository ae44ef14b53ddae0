package cli

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/webhook/lbtls"
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

func TestSplitDocuments(t *testing.T) {
	data := "# lead\na: 1\n--- # second\nb: 2\n---\n---\n----\nc: 3\n"
	docs := splitDocuments("f.yaml", []byte(data))
	want := []struct {
		line int
		data string
	}{
		{1, "# lead\na: 1\n"},
		{4, "b: 2\n"},
		{6, ""},
		// "----" is not a separator.
		{7, "----\nc: 3\n"},
	}
	if len(docs) != len(want) {
		t.Fatalf("%d documents, want %d: %+v", len(docs), len(want), docs)
	}
	for i, w := range want {
		if docs[i].source.Document != i+1 || docs[i].source.Line != w.line || string(docs[i].data) != w.data {
			t.Errorf("document %d: %+v %q, want line %d %q", i+1, docs[i].source, docs[i].data, w.line, w.data)
		}
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
	for _, tt := range tests {
		if got := coveredByController(tt.obj, tt.kinds); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestObjectStore(t *testing.T) {
	ctx := context.Background()
	store := newObjectStore()
	store.addNamespace("team", map[string]string{"tier": "web"})
	store.addNetworkPolicy(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "a"}})
	store.addNetworkPolicy(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "b"}})
	store.addNetworkPolicy(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "c"}})
	grouped := func(ns, name, group string) *networkingv1.Ingress {
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if group != "" {
			ing.Annotations = map[string]string{lbtls.AnnotationGroupName: group}
		}
		return ing
	}
	store.addIngress(grouped("team", "web", "shared"))
	store.addIngress(grouped("other", "api", "shared"))
	store.addIngress(grouped("team", "alone", ""))

	var policies networkingv1.NetworkPolicyList
	if err := store.List(ctx, &policies, client.InNamespace("team")); err != nil {
		t.Fatal(err)
	}
	if names := policyNames(policies.Items); !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("NetworkPolicies of team: %v", names)
	}
	if policies.Items[0].UID == "" || policies.Items[0].UID == policies.Items[1].UID {
		t.Errorf("NetworkPolicies need distinct UIDs for the index: %q, %q", policies.Items[0].UID, policies.Items[1].UID)
	}

	var group networkingv1.IngressList
	if err := store.List(ctx, &group, client.MatchingFields{lbtls.IngressGroupNameField: "shared"}); err != nil {
		t.Fatal(err)
	}
	if len(group.Items) != 2 || group.Items[0].Name != "web" || group.Items[1].Name != "api" {
		t.Errorf("group shared: %+v", group.Items)
	}

	for name, labels := range map[string]map[string]string{
		"team":    {"tier": "web", corev1.LabelMetadataName: "team"},
		"unknown": {corev1.LabelMetadataName: "unknown"},
	} {
		ns := &metav1.PartialObjectMetadata{}
		ns.SetGroupVersionKind(gvkNamespace)
		if err := store.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(ns.Labels, labels) {
			t.Errorf("labels of namespace %s: %v, want %v", name, ns.Labels, labels)
		}
	}

	// Reads the handlers do not make fail instead of answering wrongly.
	for name, read := range map[string]func() error{
		"NetworkPolicies of every namespace": func() error { return store.List(ctx, &networkingv1.NetworkPolicyList{}) },
		"Ingresses without a group":          func() error { return store.List(ctx, &networkingv1.IngressList{}) },
		"Ingresses by label":                 func() error { return store.List(ctx, &networkingv1.IngressList{}, client.MatchingLabels{"a": "b"}) },
		"Deployments":                        func() error { return store.List(ctx, &appsv1.DeploymentList{}) },
		"a Pod":                              func() error { return store.Get(ctx, client.ObjectKey{Name: "p"}, &corev1.Pod{}) },
	} {
		if err := read(); err == nil || !strings.HasPrefix(err.Error(), "offline reader: ") {
			t.Errorf("%s: error %v, want an offline reader error", name, err)
		}
	}
}

func policyNames(items []networkingv1.NetworkPolicy) []string {
	names := make([]string, len(items))
	for i := range items {
		names[i] = items[i].Name
	}
	return names
}
