package jsonscan

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	sigsjson "sigs.k8s.io/json"
)

func TestValid(t *testing.T) {
	for _, doc := range []string{
		``, ` `, `{}`, `[]`, `{"a":1}`, `{"a":1,}`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`,
		`"x`, `"\x"`, `"\u12"`, `"\u12g4"`, `"\u00e9"`, "\"a\tb\"", `"\/\b\f\n\r\t\"\\"`, `"é"`, "\"\xff\"",
		`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1E-7`, `1e07`, `-1.0e+10`, `1x`,
		`true`, `tru`, `truex`, `false`, `null`, `nul`, `[true,false,null]`, `{"a":[{"b":[]}],"c":{}}`,
		`{} {}`, `{}x`, ` {"a" : [ 1 , 2 ] } `, `[[[[]]]]`, `[[[[]]]`, `[[[]]]]`, `{"a":[}`, `["a":1]`,
		strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
	} {
		if got, want := valid([]byte(doc)), json.Valid([]byte(doc)); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", doc, got, want)
		}
	}
	// Deeper than MaxDepth: left to full decoders.
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if valid([]byte(deep)) {
		t.Errorf("Valid accepted nesting deeper than MaxDepth")
	}
}

// FuzzValid: Valid agrees with encoding/json.Valid on every document no
// deeper than MaxDepth.
func FuzzValid(f *testing.F) {
	for _, seed := range []string{`{"a":[1,-2.5e3,"x\u00e9",true,null,{}]}`, `[`, `"\ud800"`, `{"a" :1 , "b":[ ]}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, want := valid(doc), json.Valid(doc)
		if got != want && (!want || depth(doc) <= MaxDepth) {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", doc, got, want)
		}
	})
}

// depth is the nesting of a valid document.
func depth(doc []byte) int {
	dec := json.NewDecoder(bytes.NewReader(doc))
	d, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return deepest
		}
		if delim, ok := tok.(json.Delim); ok {
			if delim == '{' || delim == '[' {
				d++
				deepest = max(deepest, d)
			} else {
				d--
			}
		}
	}
}

func TestFieldsOfTheObject(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		keys []string
		want []string // "" for absent; nil for false
	}{
		{`{"a":1,"b":{"c":[2]},"d":"x"}`, []string{"b", "d", "e"}, []string{`{"c":[2]}`, `"x"`, ""}},
		{` { "a" : [ 1 ] , "b" : null } `, []string{"a", "b"}, []string{`[ 1 ]`, `null`}},
		{`{}`, []string{"a"}, []string{""}},
		{`{"a":1,"a":2}`, []string{"a"}, nil},                 // a wanted key twice: decoders merge objects
		{`{"b":1,"b":2,"a":3}`, []string{"a"}, []string{"3"}}, // an unwanted one is no matter
		{`{"\u0061":1}`, []string{"a"}, nil},                  // an escaped key might spell a wanted one
		{`{"a":1`, []string{"a"}, nil},
		{`{"a":1} x`, []string{"a"}, nil},
		{`[{"a":1}]`, []string{"a"}, nil},
		{`{"a":[1,}`, []string{"a"}, nil},
		{`{"A":1}`, []string{"a"}, []string{""}}, // case-sensitive, as the API server reads
	} {
		got, ok := Fields([]byte(tc.doc), nil, tc.keys...)
		if ok != (tc.want != nil) {
			t.Errorf("Fields(%s, %v) ok = %v", tc.doc, tc.keys, ok)
			continue
		}
		for i := range tc.want {
			if string(got[i]) != tc.want[i] || (tc.want[i] == "") != (got[i] == nil) {
				t.Errorf("Fields(%s) %s = %q, want %q", tc.doc, tc.keys[i], got[i], tc.want[i])
			}
		}
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		path []string
		want string // "" for absent; "!" for false
	}{
		{`{"spec":{"template":{"a":1},"x":2},"status":{}}`, []string{"spec", "template"}, `{"a":1}`},
		{`{"spec":{"jobTemplate":{"spec":{"template":[ ]}}}}`, []string{"spec", "jobTemplate", "spec", "template"}, `[ ]`},
		{`{"spec":{"x":1}}`, []string{"spec", "template"}, ""},
		{`{"spec":null}`, []string{"spec", "template"}, ""},
		{`{"spec":"x"}`, []string{"spec", "template"}, ""},
		{`{"spec":{"template":1},"spec":{}}`, []string{"spec", "template"}, "!"},
		{`{"spec":{"template":1,"template":2}}`, []string{"spec", "template"}, "!"},
		{`{"spec":{"template":1}, "status":[}`, []string{"spec", "template"}, "!"},
		{`{"sp\u0065c":{"template":1}}`, []string{"spec", "template"}, "!"},
		{`{"spec":{"template":1}} {}`, []string{"spec", "template"}, "!"},
	} {
		got, ok := Lookup([]byte(tc.doc), tc.path...)
		if !ok != (tc.want == "!") || (ok && (string(got) != tc.want || (got == nil) != (tc.want == ""))) {
			t.Errorf("Lookup(%s, %v) = %q, %v; want %q", tc.doc, tc.path, got, ok, tc.want)
		}
	}
}

// projected exercises every shape compile knows: tags and Go names,
// dropped fields, pointers, slices of structs, maps, raw values, custom
// unmarshalers, embedded structs.
type projected struct {
	Embedded
	Name    string            `json:"name"`
	NoTag   int               //nolint:tagliatelle // the Go name is the key
	Dropped string            `json:"-"`
	hidden  string            //nolint:unused // unexported: not decoded
	Ptr     *inner            `json:"ptr"`
	Items   []inner           `json:"items"`
	PtrList []*inner          `json:"ptrList"`
	Map     map[string]string `json:"map"`
	Raw     json.RawMessage   `json:"raw"`
	Custom  custom            `json:"custom"`
	Bytes   []byte            `json:"bytes"`
	Any     any               `json:"any"`
	Self    *projected        `json:"self"`
}

type Embedded struct {
	Promoted string `json:"promoted"`
}

type inner struct {
	A    string  `json:"a"`
	B    *int    `json:"b"`
	Deep []inner `json:"deep"`
}

type custom struct{ V string }

func (c *custom) UnmarshalJSON(data []byte) error { c.V = string(data); return nil }

func TestProject(t *testing.T) {
	p := ProjectionOf(reflect.TypeFor[projected]())
	for _, tc := range []struct{ doc, want string }{
		{`{"name":"n","other":{"x":[1,2]},"promoted":"p","NoTag":3,"Dropped":"d","hidden":"h"}`, `{"name":"n","promoted":"p","NoTag":3}`},
		// inner is recursive through deep: deep is copied whole.
		{`{"ptr":{"a":"x","z":1,"deep":[{"a":"y","q":[]}]}}`, `{"ptr":{"a":"x","deep":[{"a":"y","q":[]}]}}`},
		{`{"items":[{"a":"1","drop":true},{"b":2}],"ptrList":[null,{"a":"x"}]}`, `{"items":[{"a":"1"},{"b":2}],"ptrList":[null,{"a":"x"}]}`},
		{`{"map":{"k":"v","k":"w"},"raw":{"any": [1]},"custom":{"v":1},"bytes":"AQ==","any":{"x":1}}`,
			`{"map":{"k":"v","k":"w"},"raw":{"any": [1]},"custom":{"v":1},"bytes":"AQ==","any":{"x":1}}`},
		{`{"items":"not a list","ptr":7}`, `{"items":"not a list","ptr":7}`}, // the decoder refuses them
		{` null `, `null`},
		{`{"self":{"name":"s","x":1}}`, `{"self":{"name":"s","x":1}}`}, // recursive: copied whole
	} {
		got, ok := p.Project(nil, []byte(tc.doc))
		if !ok || string(got) != tc.want {
			t.Errorf("Project(%s) = %s, %v; want %s", tc.doc, got, ok, tc.want)
		}
	}
	for _, doc := range []string{`{"name":"a","name":"b"}`, `{"n\u0061me":"a"}`, `{"name":"a"`, `{"x":[1,}`, `{} {}`} {
		if got, ok := p.Project(nil, []byte(doc)); ok {
			t.Errorf("Project(%s) = %s, want false", doc, got)
		}
	}
}

// FuzzProject: decoding a projection gives what decoding the whole
// document gives, and fails when it fails.
func FuzzProject(f *testing.F) {
	for _, seed := range []string{
		`{"name":"n","promoted":"p","ptr":{"a":"x","b":1,"deep":[{"a":"y"}]},"items":[{"a":"1"}],"map":{"k":"v"},"raw":[1],"custom":"c","bytes":"AQ==","any":1.5}`,
		`{"items":[{"b":"x"}],"other":[{"a":1}]}`,
		`{"NoTag":"x","self":{"self":{"name":1}}}`,
	} {
		f.Add([]byte(seed))
	}
	p := ProjectionOf(reflect.TypeFor[projected]())
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, ok := p.Project(nil, doc)
		if !ok {
			return
		}
		var fromWhole, fromProjection projected
		errWhole := sigsjson.UnmarshalCaseSensitivePreserveInts(doc, &fromWhole)
		errProjection := sigsjson.UnmarshalCaseSensitivePreserveInts(got, &fromProjection)
		if (errWhole != nil) != (errProjection != nil) {
			t.Fatalf("whole: %v, projection %s: %v", errWhole, got, errProjection)
		}
		if errWhole == nil && !reflect.DeepEqual(fromWhole, fromProjection) {
			t.Fatalf("decoded differently:\nwhole      %+v\nprojection %+v (%s)", fromWhole, fromProjection, got)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	doc := []byte(`{"metadata":{"name":"web-7d9f8b6c5d-x2k4p","labels":{"app":"web","pod-template-hash":"7d9f8b6c5d"}},"spec":{"containers":[` +
		strings.Repeat(`{"name":"web","image":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.42.0","env":[{"name":"LOG_LEVEL","value":"info"}],"ports":[{"containerPort":8080}]},`, 20) +
		`{"name":"last"}]}}`)
	for _, bc := range []struct {
		name  string
		valid func([]byte) bool
	}{{"jsonscan", valid}, {"encoding-json", json.Valid}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				bc.valid(doc)
			}
		})
	}
}
