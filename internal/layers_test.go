package internal

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/eksguard/eksguard"

// floor names the layer of an eksguard package.
func floor(pkg string) string {
	rest := strings.TrimPrefix(pkg, module)
	for _, f := range []string{"/internal/lib/", "/internal/app/", "/internal/testkit/", "/webhook", "/config", "/hack/", "/test/"} {
		if strings.HasPrefix(rest+"/", f) || strings.HasPrefix(rest, f) {
			return strings.Trim(f, "/")
		}
	}
	if rest == "" {
		return "main"
	}
	return rest
}

// allowed are the floors each floor's non-test code may import.
var allowed = map[string][]string{
	"internal/lib":     {"internal/lib"},
	"config":           {"config", "internal/lib"},
	"webhook":          {"webhook", "config", "internal/lib"},
	"internal/app":     {"internal/app", "webhook", "config", "internal/lib"},
	"internal/testkit": {"internal/testkit", "internal/app", "webhook", "config", "internal/lib"},
	"main":             {"internal/app"},
}

// TestLayers: the imports of every package (tests aside) run one way:
// lib <- config <- webhook <- app <- main; testkit only for tests and tools.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		from := floor(p.ImportPath)
		may, ruled := allowed[from]
		if !ruled {
			continue // hack/ and test/ may import anything
		}
		checked++
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := floor(imp)
			ok := false
			for _, a := range may {
				ok = ok || a == to
			}
			if !ok {
				t.Errorf("%s (%s) imports %s (%s)", p.ImportPath, from, imp, to)
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked %d packages; the module has more", checked)
	}
}
