package cli

import (
	"context"
	"testing"

	"github.com/eksguard/eksguard/internal/app/manifest"
	"github.com/eksguard/eksguard/internal/app/offline"
)

// BenchmarkCheckExamples measures a whole check of examples/manifests:
// reading, decoding, building the engine and judging every object.
func BenchmarkCheckExamples(b *testing.B) {
	discardLogs()
	opts := checkOptions{files: []string{examplesDir}, namespace: "default", ownNamespace: "eksguard-system"}
	policy, err := checkPolicy(opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		objects, inputErrs, err := manifest.Load(opts.input(nil))
		if err != nil || len(inputErrs) > 0 {
			b.Fatal(err, inputErrs)
		}
		engine := offline.New(policy, storeFor(objects))
		for _, obj := range objects {
			if obj.Obj != nil {
				engine.Evaluate(ctx, obj.GVK, obj.Obj)
			}
		}
	}
}

// BenchmarkEvaluatePod measures judging one Pod: the seccomp mutation, the
// patch applied, and the NetworkPolicy coverage check on the patched pod.
func BenchmarkEvaluatePod(b *testing.B) {
	discardLogs()
	opts := checkOptions{files: []string{examplesDir + "/11-shop-pods.yaml", examplesDir + "/01-shop-networkpolicies.yaml"},
		namespace: "default", ownNamespace: "eksguard-system"}
	policy, _ := checkPolicy(opts)
	objects, _, err := manifest.Load(opts.input(nil))
	if err != nil {
		b.Fatal(err)
	}
	engine := offline.New(policy, storeFor(objects))
	pod := objects[0]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := engine.Evaluate(ctx, pod.GVK, pod.Obj); r.Verdict != offline.VerdictMutated {
			b.Fatalf("verdict %s", r.Verdict)
		}
	}
}
