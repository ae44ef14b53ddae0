package seccomp

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/eksguard/eksguard/internal/testkit/ruletest"
	jsonpatchapply "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"
)

const (
	patchNoSecurityContext = `[{"op":"add","path":"/spec/securityContext","value":{"seccompProfile":{"type":"RuntimeDefault"}}}]`
	patchIntoSecurityCtx   = `[{"op":"add","path":"/spec/securityContext/seccompProfile","value":{"type":"RuntimeDefault"}}]`

	missingErr = `spec.securityContext.seccompProfile: Required value: pod has no seccomp profile; ` +
		`enforce would set spec.securityContext.seccompProfile.type=RuntimeDefault`
)

// podOption changes the base test pod.
type podOption func(*corev1.Pod)

// testPod is a Linux pod with one container and no seccomp settings.
func testPod(opts ...podOption) *corev1.Pod {
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "registry.example/web:1.0"}},
		},
	}
	for _, o := range opts {
		o(pod)
	}
	return pod
}

func profile(t corev1.SeccompProfileType) *corev1.SeccompProfile {
	p := &corev1.SeccompProfile{Type: t}
	if t == corev1.SeccompProfileTypeLocalhost {
		p.LocalhostProfile = ptr.To("profiles/web.json")
	}
	return p
}

func podSecurityContext(sc *corev1.PodSecurityContext) podOption {
	return func(p *corev1.Pod) { p.Spec.SecurityContext = sc }
}

func podProfile(t corev1.SeccompProfileType) podOption {
	return podSecurityContext(&corev1.PodSecurityContext{SeccompProfile: profile(t)})
}

func containerProfile(i int, t corev1.SeccompProfileType) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Containers[i].SecurityContext = &corev1.SecurityContext{SeccompProfile: profile(t)}
	}
}

func extraContainer(name string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: name, Image: "registry.example/" + name + ":1.0"})
	}
}

func initContainer(name string, t corev1.SeccompProfileType) podOption {
	return func(p *corev1.Pod) {
		c := corev1.Container{Name: name, Image: "registry.example/" + name + ":1.0"}
		if t != "" {
			c.SecurityContext = &corev1.SecurityContext{SeccompProfile: profile(t)}
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
}

func ephemeralContainer(name string, t corev1.SeccompProfileType) podOption {
	return func(p *corev1.Pod) {
		c := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: name, Image: "registry.example/debug:1.0",
			SecurityContext: &corev1.SecurityContext{SeccompProfile: profile(t)},
		}}
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, c)
	}
}

func osName(name corev1.OSName) podOption {
	return func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: name} }
}

func annotation(key, value string) podOption {
	return func(p *corev1.Pod) { metav1.SetMetaDataAnnotation(&p.ObjectMeta, key, value) }
}

type checkCase struct {
	name           string
	pod            *corev1.Pod
	wantPatch      string // JSON of Violations.Patches; "" for none
	wantMissing    []string
	wantUnconfined []string
	// restrictedBefore and restrictedAfter are whether the pod passes Pod
	// Security Admission's restricted seccomp check before and after
	// eksguard's patch.
	restrictedBefore, restrictedAfter bool
}

func checkCases() []checkCase {
	return []checkCase{
		{
			name:            "no securityContext",
			pod:             testPod(),
			wantPatch:       patchNoSecurityContext,
			wantMissing:     []string{missingErr},
			restrictedAfter: true,
		},
		{
			name:            "empty securityContext, as the API server defaults it",
			pod:             testPod(podSecurityContext(&corev1.PodSecurityContext{})),
			wantPatch:       patchIntoSecurityCtx,
			wantMissing:     []string{missingErr},
			restrictedAfter: true,
		},
		{
			name: "other securityContext fields are kept",
			pod: testPod(podSecurityContext(&corev1.PodSecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000),
				SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c123,c456"},
			})),
			wantPatch:       patchIntoSecurityCtx,
			wantMissing:     []string{missingErr},
			restrictedAfter: true,
		},
		{
			name:            "explicit Linux OS",
			pod:             testPod(osName(corev1.Linux)),
			wantPatch:       patchNoSecurityContext,
			wantMissing:     []string{missingErr},
			restrictedAfter: true,
		},
		{
			name:             "pod-level Localhost is left alone",
			pod:              testPod(podProfile(corev1.SeccompProfileTypeLocalhost)),
			restrictedBefore: true,
			restrictedAfter:  true,
		},
		{
			name:             "already mutated pod (pod-level RuntimeDefault)",
			pod:              testPod(podProfile(corev1.SeccompProfileTypeRuntimeDefault)),
			restrictedBefore: true,
			restrictedAfter:  true,
		},
		{
			name:            "container-level profile still gets the pod-level default",
			pod:             testPod(extraContainer("sidecar"), containerProfile(0, corev1.SeccompProfileTypeLocalhost)),
			wantPatch:       patchNoSecurityContext,
			wantMissing:     []string{missingErr},
			restrictedAfter: true,
		},
		{
			name:             "every container sets its own profile: the pod level still gets the default",
			pod:              testPod(extraContainer("sidecar"), containerProfile(0, corev1.SeccompProfileTypeLocalhost), containerProfile(1, corev1.SeccompProfileTypeRuntimeDefault)),
			wantPatch:        patchNoSecurityContext,
			wantMissing:      []string{missingErr},
			restrictedBefore: true,
			restrictedAfter:  true,
		},
		{
			name:        "container-level Unconfined",
			pod:         testPod(extraContainer("sidecar"), containerProfile(1, corev1.SeccompProfileTypeUnconfined)),
			wantPatch:   patchNoSecurityContext,
			wantMissing: []string{missingErr},
			wantUnconfined: []string{`spec.containers[1].securityContext.seccompProfile.type: Invalid value: "Unconfined": ` +
				`container "sidecar" runs Unconfined; use RuntimeDefault or a Localhost profile`},
		},
		{
			name: "pod-level Unconfined is reported, not overwritten",
			pod:  testPod(podProfile(corev1.SeccompProfileTypeUnconfined)),
			wantUnconfined: []string{`spec.securityContext.seccompProfile.type: Invalid value: "Unconfined": ` +
				`pod runs Unconfined; use RuntimeDefault or a Localhost profile`},
		},
		{
			name: "init and ephemeral containers, pod level Unconfined too, in spec order",
			pod: testPod(podProfile(corev1.SeccompProfileTypeUnconfined),
				initContainer("migrate", corev1.SeccompProfileTypeRuntimeDefault),
				initContainer("init-db", corev1.SeccompProfileTypeUnconfined),
				ephemeralContainer("debugger", corev1.SeccompProfileTypeUnconfined)),
			wantUnconfined: []string{
				`spec.securityContext.seccompProfile.type: Invalid value: "Unconfined": pod runs Unconfined; use RuntimeDefault or a Localhost profile`,
				`spec.initContainers[1].securityContext.seccompProfile.type: Invalid value: "Unconfined": ` +
					`container "init-db" runs Unconfined; use RuntimeDefault or a Localhost profile`,
				`spec.ephemeralContainers[0].securityContext.seccompProfile.type: Invalid value: "Unconfined": ` +
					`container "debugger" runs Unconfined; use RuntimeDefault or a Localhost profile`,
			},
		},
		{
			name:            "init container without a profile is covered by the pod-level default",
			pod:             testPod(podSecurityContext(&corev1.PodSecurityContext{}), initContainer("migrate", "")),
			wantPatch:       patchIntoSecurityCtx,
			wantMissing:     []string{missingErr},
			restrictedAfter: true,
		},
		{
			name:             "Windows pod is left alone",
			pod:              testPod(osName(corev1.Windows)),
			restrictedBefore: true, // PSA exempts Windows pods from this check.
			restrictedAfter:  true,
		},
		{
			// Only the handler skips mirror pods, and only from their node.
			name:            "a mirror annotation alone changes nothing",
			pod:             testPod(annotation(corev1.MirrorPodAnnotationKey, "0f4e7c1b")),
			wantPatch:       patchNoSecurityContext,
			wantMissing:     []string{missingErr},
			restrictedAfter: true,
		},
		{
			name: "legacy annotation other than runtime/default blocks the patch",
			pod:  testPod(annotation(corev1.SeccompPodAnnotationKey, "unconfined")),
			wantMissing: []string{`metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: Invalid value: "unconfined": ` +
				`remove legacy annotation seccomp.security.alpha.kubernetes.io/pod (it has no effect since Kubernetes 1.27) so RuntimeDefault can be set, or give every container its own profile`},
		},
		{
			// validateSeccompAnnotationsAndFieldsMatch checks the pod-level
			// annotation against the pod-level field only; since 1.27 the
			// annotation has no effect, and every container is confined.
			name: "legacy annotation with every container setting its own profile: nothing is missing",
			pod: testPod(annotation(corev1.SeccompPodAnnotationKey, "localhost/legacy.json"), extraContainer("sidecar"),
				initContainer("migrate", corev1.SeccompProfileTypeRuntimeDefault),
				containerProfile(0, corev1.SeccompProfileTypeRuntimeDefault), containerProfile(1, corev1.SeccompProfileTypeLocalhost)),
			restrictedBefore: true,
			restrictedAfter:  true,
		},
		{
			name: "legacy annotation with one container falling back to the pod level still blocks the patch",
			pod: testPod(annotation(corev1.SeccompPodAnnotationKey, "unconfined"), extraContainer("sidecar"),
				containerProfile(0, corev1.SeccompProfileTypeRuntimeDefault)),
			wantMissing: []string{`metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: Invalid value: "unconfined": ` +
				`remove legacy annotation seccomp.security.alpha.kubernetes.io/pod (it has no effect since Kubernetes 1.27) so RuntimeDefault can be set, or give every container its own profile`},
		},
		{
			name:            "legacy annotation runtime/default agrees with the patch",
			pod:             testPod(annotation(corev1.SeccompPodAnnotationKey, corev1.SeccompProfileRuntimeDefault)),
			wantPatch:       patchNoSecurityContext,
			wantMissing:     []string{missingErr},
			restrictedAfter: true,
		},
		{
			name: "pod without containers is left to API validation",
			pod:  testPod(func(p *corev1.Pod) { p.Spec.Containers = nil }),
			// Nothing to confine: PSA passes it; the API server rejects it.
			restrictedBefore: true,
			restrictedAfter:  true,
		},
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range checkCases() {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.pod.DeepCopy()
			got := Check(tc.pod)
			if patch := patchJSON(t, got); patch != tc.wantPatch {
				t.Errorf("patch:\n got %s\nwant %s", patch, tc.wantPatch)
			}
			ruletest.AssertErrs(t, "Missing", got.Missing, tc.wantMissing)
			ruletest.AssertErrs(t, "Unconfined", got.Unconfined, tc.wantUnconfined)
			if !reflect.DeepEqual(before, tc.pod) {
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
		t.Run(tc.name, func(t *testing.T) {
			raw := mustJSON(t, tc.pod)
			mutated := applyPatch(t, raw, Check(tc.pod))

			want := tc.pod.DeepCopy()
			if len(Check(tc.pod).Patches) > 0 {
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
		t.Run(tc.name, func(t *testing.T) {
			if ok, why := passes(tc.pod); ok != tc.restrictedBefore {
				t.Errorf("restricted before mutation = %t (%s), want %t", ok, why, tc.restrictedBefore)
			}
			mutated := applyPatch(t, mustJSON(t, tc.pod), Check(tc.pod))
			if ok, why := passes(mutated); ok != tc.restrictedAfter {
				t.Errorf("restricted after mutation = %t (%s), want %t", ok, why, tc.restrictedAfter)
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
	withEphemeral := func(c corev1.EphemeralContainer) podOption {
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
		t.Run(tc.name, func(t *testing.T) {
			decoded, err := decodePod(corev1.SchemeGroupVersion.WithKind("Pod"), []byte(mustJSON(t, tc.pod)))
			if err != nil {
				t.Fatal(err)
			}
			want, got := Check(tc.pod), Check(decoded)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded pod:\n got %+v\nwant %+v", got, want)
			}
			if mirrorFromItsNode(decoded, "system:node:"+tc.pod.Spec.NodeName) != mirrorFromItsNode(tc.pod, "system:node:"+tc.pod.Spec.NodeName) {
				t.Error("the mirror-pod check differs")
			}
		})
	}
}
