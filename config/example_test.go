package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The sample ConfigMap must load, and must show every setting, so that it
// cannot fall behind the schema.
func TestExampleConfigMap(t *testing.T) {
	raw, err := os.ReadFile("../examples/policy-configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(raw, &cm); err != nil {
		t.Fatalf("examples/policy-configmap.yaml is no ConfigMap: %v", err)
	}
	doc, ok := cm.Data[ConfigMapKey]
	if !ok {
		t.Fatalf("examples/policy-configmap.yaml has no data key %q", ConfigMapKey)
	}
	if _, err := Load([]byte(doc), "eksguard-system"); err != nil {
		t.Fatalf("examples/policy-configmap.yaml does not load: %v", err)
	}

	_, lines, err := parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	listIndex := regexp.MustCompile(`\[\d+\]`)
	for path := range lines {
		shown[listIndex.ReplaceAllString(path, "[*]")] = true
	}
	var missing []string
	for _, path := range settingPaths(reflect.TypeFor[Config](), "") {
		if !shown[path] {
			missing = append(missing, path)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Fatalf("examples/policy-configmap.yaml does not show: %s", strings.Join(missing, ", "))
	}
}

// settingPaths lists the field paths of every setting of t, with [*] for
// list items; a label selector counts as one setting.
func settingPaths(t reflect.Type, prefix string) []string {
	var paths []string
	for name, i := range fieldsOf(t) {
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		ft := t.Field(i).Type
		switch {
		case ft == reflect.TypeFor[*metav1.LabelSelector]():
			paths = append(paths, path)
		case ft.Kind() == reflect.Struct:
			paths = append(paths, settingPaths(ft, path)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			paths = append(paths, settingPaths(ft.Elem(), path+"[*]")...)
		default:
			paths = append(paths, path)
		}
	}
	return paths
}
