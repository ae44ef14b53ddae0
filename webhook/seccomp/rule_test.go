package seccomp

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	"github.com/eksguard/eksguard/internal/testkit/seccompcases"
	jsonpatchapply "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// The rule's table lives in seccompcases, where the envtest reads it too.
const (
	patchNoSecurityContext = seccompcases.PatchNoSecurityContext
	patchIntoSecurityCtx   = seccompcases.PatchIntoSecurityContext
	missingErr             = seccompcases.MissingErr
)

var (
	testPod            = seccompcases.Pod
	podSecurityContext = seccompcases.PodSecurityContext
	checkCases         = seccompcases.Cases
)

func TestCheck(t *testing.T) {
	for _, tc := range checkCases() {
		t.Run(tc.Name, func(t *testing.T) {
			before := tc.Pod.DeepCopy()
			got := Check(tc.Pod)
			if patch := patchJSON(t, got); patch != tc.WantPatch {
				t.Errorf("patch:\n got %s\nwant %s", patch, tc.WantPatch)
			}
			ruletest.AssertErrs(t, "Missing", got.Missing, tc.WantMissing)
			ruletest.AssertErrs(t, "Unconfined", got.Unconfined, tc.WantUnconfined)
			if !reflect.DeepEqual(before, tc.Pod) {
				t.Errorf("Check modified its input")
			}
		})
	}
}

// TestCheckIsIdempotent applies each patch to the pod's JSON as the API
// server would, checks that only the missing field changed, and that a
// second pass (reinvocationPolicy IfNeeded) asks for nothing more.
func TestCheckIsIdempotent(t *testing.T) {
	for _, tc := range checkCases() {
		t.Run(tc.Name, func(t *testing.T) {
			raw := mustJSON(t, tc.Pod)
			mutated := applyPatch(t, raw, Check(tc.Pod))

			want := tc.Pod.DeepCopy()
			if len(Check(tc.Pod).Patches) > 0 {
				if want.Spec.SecurityContext == nil {
					want.Spec.SecurityContext = &corev1.PodSecurityContext{}
				}
				want.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
			}
			if got := mustJSON(t, mutated); got != mustJSON(t, want) {
				t.Errorf("mutated pod:\n got %s\nwant %s", got, mustJSON(t, want))
			}
			if again := patchJSON(t, Check(mutated)); again != "" {
				t.Errorf("second pass patch = %s, want none", again)
			}
		})
	}
}

// TestMutatedPodsPassPodSecurityRestricted cross-checks with the real Pod
// Security Admission library at the latest policy version: every pod that
// is neither explicitly Unconfined nor deliberately skipped passes the
// restricted seccomp check after eksguard's patch, and the pods that fail
// it before are exactly the ones the patch fixes.
func TestMutatedPodsPassPodSecurityRestricted(t *testing.T) {
	evaluator, err := psapolicy.NewEvaluator([]psapolicy.Check{
		psapolicy.CheckSeccompBaseline(), psapolicy.CheckSeccompProfileRestricted(),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	restricted := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	passes := func(pod *corev1.Pod) (bool, string) {
		for _, r := range evaluator.EvaluatePod(restricted, &pod.ObjectMeta, &pod.Spec) {
			if !r.Allowed {
				return false, r.ForbiddenReason + ": " + r.ForbiddenDetail
			}
		}
		return true, ""
	}
	for _, tc := range checkCases() {
		t.Run(tc.Name, func(t *testing.T) {
			if ok, why := passes(tc.Pod); ok != tc.RestrictedBefore {
				t.Errorf("restricted before mutation = %t (%s), want %t", ok, why, tc.RestrictedBefore)
			}
			mutated := applyPatch(t, mustJSON(t, tc.Pod), Check(tc.Pod))
			if ok, why := passes(mutated); ok != tc.RestrictedAfter {
				t.Errorf("restricted after mutation = %t (%s), want %t", ok, why, tc.RestrictedAfter)
			}
		})
	}
}

func patchJSON(t *testing.T, r Violations) string {
	t.Helper()
	if len(r.Patches) == 0 {
		return ""
	}
	return mustJSON(t, r.Patches)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// applyPatch applies r's patches to raw with an RFC 6902 implementation and
// decodes the result.
func applyPatch(t *testing.T, raw string, r Violations) *corev1.Pod {
	t.Helper()
	out := []byte(raw)
	if len(r.Patches) > 0 {
		patch, err := jsonpatchapply.DecodePatch([]byte(mustJSON(t, r.Patches)))
		if err != nil {
			t.Fatal(err)
		}
		if out, err = patch.Apply(out); err != nil {
			t.Fatalf("applying the patch: %v", err)
		}
	}
	var pod corev1.Pod
	if err := json.Unmarshal(out, &pod); err != nil {
		t.Fatal(err)
	}
	return &pod
}

// TestCheckEphemeral: a new ephemeral container that would run Unconfined
// is a finding; containers already there, and profiles that confine, are
// not (ephemeralContainersStrategy takes only the ephemeral containers).
func TestCheckEphemeral(t *testing.T) {
	debug := func(sc *corev1.SecurityContext) corev1.EphemeralContainer {
		return corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox", SecurityContext: sc}}
	}
	profile := func(t corev1.SeccompProfileType) *corev1.SecurityContext {
		return &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: t}}
	}
	unconfinedPod := podSecurityContext(&corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}})
	withEphemeral := func(c corev1.EphemeralContainer) seccompcases.Option {
		return func(p *corev1.Pod) { p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, c) }
	}
	const path = "spec.ephemeralContainers[0].securityContext.seccompProfile.type"
	tests := []struct {
		name     string
		old, pod *corev1.Pod
		want     []string
	}{
		{name: "new Unconfined ephemeral container", old: testPod(), pod: testPod(withEphemeral(debug(profile(corev1.SeccompProfileTypeUnconfined)))),
			want: []string{path + `: Invalid value: "Unconfined": ephemeral container "debugger" runs Unconfined; use RuntimeDefault or a Localhost profile`}},
		{name: "new one without a profile under an Unconfined pod", old: testPod(unconfinedPod), pod: testPod(unconfinedPod, withEphemeral(debug(nil))),
			want: []string{path + `: Invalid value: "Unconfined": ephemeral container "debugger" runs Unconfined, as the pod does; use RuntimeDefault or a Localhost profile`}},
		{name: "new one with RuntimeDefault under an Unconfined pod", old: testPod(unconfinedPod),
			pod: testPod(unconfinedPod, withEphemeral(debug(profile(corev1.SeccompProfileTypeRuntimeDefault))))},
		{name: "new one without a profile under a confined pod", old: testPod(), pod: testPod(withEphemeral(debug(nil)))},
		{name: "an Unconfined one that was already there", old: testPod(withEphemeral(debug(profile(corev1.SeccompProfileTypeUnconfined)))),
			pod: testPod(withEphemeral(debug(profile(corev1.SeccompProfileTypeUnconfined))))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ruletest.AssertErrs(t, "CheckEphemeral", CheckEphemeral(tt.old, tt.pod), tt.want)
		})
	}
}

// TestDecodePodJudgesAlike is the differential test of decodePod: for every
// pod of checkCases, the rule finds the same on the pod the handler decodes
// (only the fields it reads) as on the whole pod.
func TestDecodePodJudgesAlike(t *testing.T) {
	for _, tc := range checkCases() {
		t.Run(tc.Name, func(t *testing.T) {
			decoded, err := decodePod(corev1.SchemeGroupVersion.WithKind("Pod"), []byte(mustJSON(t, tc.Pod)))
			if err != nil {
				t.Fatal(err)
			}
			want, got := Check(tc.Pod), Check(decoded)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded pod:\n got %+v\nwant %+v", got, want)
			}
			if mirrorFromItsNode(decoded, "system:node:"+tc.Pod.Spec.NodeName) != mirrorFromItsNode(tc.Pod, "system:node:"+tc.Pod.Spec.NodeName) {
				t.Error("the mirror-pod check differs")
			}
		})
	}
}
