package netpol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/testkit/ruletest"
)

func TestMain(m *testing.M) {
	// Handlers log through controller-runtime, which prints a warning with
	// a stack trace into benchmark output when no logger is set.
	logf.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

// liveReader is the API server as the handlers see it: it serves
// NetworkPolicy lists and paginated metadata-only pod lists, and records
// every List call's options.
type liveReader struct {
	policies []networkingv1.NetworkPolicy
	pods     []metav1.PartialObjectMetadata
	err      error
	lists    []client.ListOptions
}

func (r *liveReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errors.New("unexpected Get")
}

func (r *liveReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	o := client.ListOptions{}
	o.ApplyOptions(opts)
	r.lists = append(r.lists, o)
	if r.err != nil {
		return r.err
	}
	switch l := list.(type) {
	case *networkingv1.NetworkPolicyList:
		l.Items = nil
		for _, np := range r.policies {
			if np.Namespace == o.Namespace {
				l.Items = append(l.Items, np)
			}
		}
	case *metav1.PartialObjectMetadataList:
		start := 0
		if o.Continue != "" {
			start, _ = strconv.Atoi(o.Continue)
		}
		var page []metav1.PartialObjectMetadata
		for _, p := range r.pods[start:] {
			if int64(len(page)) == o.Limit {
				break
			}
			start++
			if p.Namespace == o.Namespace {
				page = append(page, p)
			}
		}
		l.Items = page
		l.Continue = ""
		if start < len(r.pods) {
			l.Continue = strconv.Itoa(start)
		}
	default:
		return fmt.Errorf("unexpected list type %T", list)
	}
	return nil
}

// netpolObject builds a NetworkPolicy as the API server stores it.
func netpolObject(namespace, name string, sel metav1.LabelSelector, types ...networkingv1.PolicyType) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: name, UID: uid(namespace, name), ResourceVersion: "1",
		},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: sel, PolicyTypes: types},
	}
}

func uid(namespace, name string) types.UID { return types.UID(namespace + "/" + name) }

// newTestChecker builds a Checker whose index holds indexed and whose live
// reader holds live.
func newTestChecker(pol *config.Policy, indexed []*networkingv1.NetworkPolicy, live *liveReader) *Checker {
	ix := NewIndex()
	for _, np := range indexed {
		ix.OnAdd(np, true)
	}
	return &Checker{Decider: ruletest.Decider(pol), Index: ix, Live: live}
}

func mustJSON(t testing.TB, obj runtime.Object) []byte {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

func admissionRequest(op admissionv1.Operation, gvk metav1.GroupVersionKind, namespace, name string, object, oldObject []byte) admission.Request {
	return ruletest.Req{GVK: schema.GroupVersionKind(gvk), Op: op, Namespace: namespace, Name: name,
		Object: string(object), OldObject: string(oldObject)}.Request()
}

// lookup is the index's answer for a pod with podLabels in namespace, and
// how many indexed policies can apply there.
func lookupIndex(ix *Index, namespace string, podLabels labels.Set, coverage config.Coverage) (bool, int) {
	r := ix.CheckCoverage(&Pod{Namespace: namespace, Labels: podLabels}, Want{Coverage: coverage})
	return r.Covered, len(ix.Snapshot(namespace))
}

// covers is the pure rule's answer for a pod with podLabels in the
// policies' own namespace.
func covers(policies []*Compiled, podLabels labels.Set, coverage config.Coverage) bool {
	return CheckCoverage(&Pod{Namespace: policyNamespace(policies), Labels: podLabels}, policies, Want{Coverage: coverage}, nil).Covered
}

// isolate is the isolation the pure rule finds for such a pod, asking for
// both directions so that it never stops early.
func isolate(policies []*Compiled, podLabels labels.Set) Isolation {
	return CheckCoverage(&Pod{Namespace: policyNamespace(policies), Labels: podLabels}, policies, Want{Coverage: config.CoverageBoth}, nil).Isolation
}

func policyNamespace(policies []*Compiled) string {
	for _, p := range policies {
		if p.Namespace != "" {
			return p.Namespace
		}
	}
	return ""
}
