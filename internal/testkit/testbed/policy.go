package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/server"
)

// PolicyConfigMap is the policy ConfigMap the test bed's server watches.
var PolicyConfigMap = client.ObjectKey{Namespace: server.DefaultNamespace, Name: server.DefaultPolicyConfigMapName}

// WritePolicy creates or updates the policy ConfigMap with doc and returns
// its resourceVersion.
func WritePolicy(ctx context.Context, c client.Client, doc string) (string, error) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: PolicyConfigMap.Namespace, Name: PolicyConfigMap.Name}}
	err := c.Get(ctx, PolicyConfigMap, cm)
	cm.Data = map[string]string{config.ConfigMapKey: doc}
	switch {
	case apierrors.IsNotFound(err):
		err = c.Create(ctx, cm)
	case err == nil:
		err = c.Update(ctx, cm)
	}
	if err != nil {
		return "", fmt.Errorf("writing policy ConfigMap %s: %w", PolicyConfigMap, err)
	}
	return cm.ResourceVersion, nil
}

// PolicySource is the Policy.Source the watcher records for a version of
// the policy ConfigMap.
func PolicySource(resourceVersion string) string {
	return fmt.Sprintf("%s/%s@%s", PolicyConfigMap.Namespace, PolicyConfigMap.Name, resourceVersion)
}

// WaitForPolicy waits until the policy in store came from source.
func WaitForPolicy(store *config.Store, source string, timeout time.Duration) error {
	return Eventually(timeout, func() error {
		if got := store.Current().Source; got != source {
			return fmt.Errorf("the server uses the policy from %q, want %q", got, source)
		}
		return nil
	})
}

// pollInterval spaces the checks of Eventually.
const pollInterval = 50 * time.Millisecond

// Eventually calls check until it returns nil, and returns its last error
// if that does not happen within timeout.
func Eventually(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still failing after %s: %w", timeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// builds caches BuildBinary's result per -race setting for the process.
var builds = struct {
	sync.Mutex
	bin map[bool]string
}{bin: map[bool]string{}}

// BuildBinary builds the eksguard command once per process (with -race
// when race is set, as the tests themselves run) and returns its path.
func BuildBinary(race bool) (string, error) {
	builds.Lock()
	defer builds.Unlock()
	if bin, ok := builds.bin[race]; ok {
		return bin, nil
	}
	dir, err := os.MkdirTemp("", "eksguard-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "eksguard")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, "github.com/eksguard/eksguard")...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	builds.bin[race] = bin
	return bin, nil
}

// RemoveBuilds deletes what BuildBinary built; the suite calls it last.
func RemoveBuilds() {
	builds.Lock()
	defer builds.Unlock()
	for race, bin := range builds.bin {
		os.RemoveAll(filepath.Dir(bin))
		delete(builds.bin, race)
	}
}
