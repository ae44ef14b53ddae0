package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	sigsjson "sigs.k8s.io/json"
)

// TestFieldsAgreesWithTheAPIServerDecoder: Fields reads what
// sigs.k8s.io/json (the API server's case-sensitive decoder) reads, and
// gives its error for bad input.
func TestFieldsAgreesWithTheAPIServerDecoder(t *testing.T) {
	type fields struct {
		Meta `json:"metadata"`
		Spec struct {
			Port     int32   `json:"port"`
			Class    *string `json:"class"`
			Names    []string
			Disabled bool `json:"disabled"`
		} `json:"spec"`
	}
	for _, tt := range []struct{ name, doc, wantErr string }{
		{name: "plain", doc: `{"metadata":{"name":"a","namespace":"n","labels":{"app":"web"},"annotations":{"k":"v"}},"spec":{"port":443,"class":"x"}}`},
		{name: "field names are case-sensitive", doc: `{"Metadata":{"name":"a"},"spec":{"Port":80,"PORT":81,"port":82,"Class":"y"}}`},
		{name: "a key given twice: the last wins", doc: `{"metadata":{"name":"a","name":"b"}}`},
		{name: "unknown fields and nesting are skipped", doc: `{"status":{"x":[1,{"y":[null,true,"\u00e9"]}]},"metadata":{"managedFields":[{"a":{"b":{}}}],"uid":"u"}}`},
		{name: "null and empty", doc: `{"metadata":null,"spec":{"class":null,"Names":[]}}`},
		// What Unmarshal refuses, and sigs.k8s.io/json reads.
		{name: "a key given twice in a map", doc: `{"metadata":{"labels":{"app":"web","app":"db","tier":"a","tier":null}}}`},
		{name: "a key given twice, then null", doc: `{"spec":{"port":443,"port":null}}`},
		{name: "invalid UTF-8", doc: "{\"metadata\":{\"name\":\"a\xffb\",\"labels\":{\"\xf3\":\"\"}}}"},
		{name: "a lone surrogate", doc: `{"metadata":{"name":"a\ud800b"}}`},
		{name: "wrong type", doc: `{"metadata":{"labels":["app"]}}`,
			wantErr: "json: cannot unmarshal array into Go struct field Meta.metadata.labels of type map[string]string"},
		{name: "fractional port", doc: `{"spec":{"port":443.5}}`,
			wantErr: "json: cannot unmarshal number 443.5 into Go struct field .spec.port of type int32"},
		{name: "truncated", doc: `{"metadata":{"name":"a"`, wantErr: "unexpected end of JSON input"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Fields[fields]([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want fields
			if err := sigsjson.UnmarshalCaseSensitivePreserveInts([]byte(tt.doc), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("decoded:\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}

// TestUnmarshalRefusesWhatItWouldReadDifferently: allowed to, the
// encoding/json/v2 decoder would read a key given twice otherwise than
// sigs.k8s.io/json (a null after a value would zero it; a map entry given
// twice would be merged, not replaced), so Unmarshal refuses it, and
// invalid UTF-8 and lone surrogates too, for callers to take
// sigs.k8s.io/json. What the API server writes, it reads, case-sensitively.
func TestUnmarshalRefusesWhatItWouldReadDifferently(t *testing.T) {
	for _, doc := range []string{
		`{"spec":{"port":443,"port":null}}`,
		`{"metadata":{"labels":{"app":"web","app":null}}}`,
		"{\"metadata\":{\"name\":\"a\xffb\"}}",
		`{"metadata":{"name":"a\ud800b"}}`,
	} {
		var got fuzzFields
		if err := Unmarshal([]byte(doc), &got); err == nil {
			t.Errorf("Unmarshal(%s) = %+v, want an error", doc, got)
		}
	}
	doc := `{"metadata":{"name":"a","labels":{"app":"web"},"managedFields":[{"x":1}]},"Spec":{},"spec":{"port":443,"class":"\u00e9","items":[{"name":"n"}]}}`
	var got, want fuzzFields
	if err := Unmarshal([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts([]byte(doc), &want); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("decoded:\n got %+v\nwant %+v (%v)", got, want, err)
	}
}

// TestUnmarshalLeavesInterfacesToTheAPIServerDecoder: v2 reads a number
// into an interface as float64 where sigs.k8s.io/json reads int64, so
// Unmarshal refuses every type that can hold an interface value, however
// deep, unless a type with its own UnmarshalJSON holds it; and Fields,
// falling back, reads such a type exactly as the API server's decoder.
func TestUnmarshalLeavesInterfacesToTheAPIServerDecoder(t *testing.T) {
	type withAny struct {
		Spec struct {
			Values []map[string]any `json:"values"`
		} `json:"spec"`
	}
	type selfDecoded struct {
		Raw runtime.RawExtension `json:"raw"`
		At  metav1.Time          `json:"at"`
	}
	type recursive struct {
		Next *recursive `json:"next"`
		Name string     `json:"name"`
	}
	for _, tc := range []struct {
		name string
		v    any
		free bool
	}{
		{"an interface deep in slices and maps", &withAny{}, false},
		{"a bare interface", new(any), false},
		{"interfaces only behind UnmarshalJSON", &selfDecoded{}, true},
		{"a recursive type", &recursive{}, true},
		{"the AdmissionReview, which the transport decodes", &admissionv1.AdmissionReview{}, true},
		{"the fuzz struct", &fuzzFields{}, true},
	} {
		err := Unmarshal([]byte(`{}`), tc.v)
		if free := err == nil; free != tc.free {
			t.Errorf("%s: Unmarshal error %v, want interface-free %v", tc.name, err, tc.free)
		}
	}
	doc := []byte(`{"spec":{"values":[{"port":443,"ratio":0.5}]}}`)
	got, err := Fields[withAny](doc)
	if err != nil {
		t.Fatal(err)
	}
	if port := got.Spec.Values[0]["port"]; port != int64(443) {
		t.Errorf("port read as %T %v, want int64 443, as sigs.k8s.io/json reads it", port, port)
	}
}

// fuzzFields is a purpose-built struct with the field types the handlers'
// structs use.
type fuzzFields struct {
	Meta `json:"metadata"`
	Spec struct {
		Type  string            `json:"type"`
		Port  int32             `json:"port"`
		Class *string           `json:"class"`
		Flag  bool              `json:"flag"`
		Map   map[string]string `json:"map"`
		Items []struct {
			Name string  `json:"name"`
			Ref  *string `json:"ref"`
		} `json:"items"`
	} `json:"spec"`
}

// FuzzFields: on valid JSON (every object a handler decodes is part
// of an AdmissionReview already parsed), Fields (a projection decoded by
// Unmarshal, or the fallbacks) decodes exactly what sigs.k8s.io/json does
// with the whole object, and fails exactly when it fails.
func FuzzFields(f *testing.F) {
	for _, seed := range []string{
		`{"metadata":{"name":"a","labels":{"app":"web"}},"spec":{"type":"LoadBalancer","port":443,"class":"x","items":[{"name":"n","ref":null}]}}`,
		`{"Metadata":{},"spec":{"Port":1,"port":2,"map":{"a":"b","a":"c"}}}`,
		`{"spec":{"port":1e3,"flag":"true","items":{}}}`,
		`{"metadata":{"annotations":{"k":"\u00e9\ud800"}},"status":[1,2,{"x":null}]}`,
		`{"metadata":{"labels":{"a":"1","a":null}},"spec":{"port":1,"port":null,"items":[{"name":"n","name":null}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !json.Valid(doc) {
			return
		}
		got, err := Fields[fuzzFields](doc)
		var want fuzzFields
		wantErr := sigsjson.UnmarshalCaseSensitivePreserveInts(doc, &want)
		trimmed := bytes.TrimSpace(doc)
		if bytes.Equal(trimmed, []byte("null")) {
			return // both "no object"
		}
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("Fields error %v, sigs.k8s.io/json error %v", err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(*got, want) {
			t.Fatalf("decoded:\n got %+v\nwant %+v", *got, want)
		}
	})
}

// TestFieldsConcurrently: the pooled projection buffers are never
// shared by two decodes, and nothing decoded refers to one (run with -race).
func TestFieldsConcurrently(t *testing.T) {
	const workers, decodes = 8, 200
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range decodes {
				name := fmt.Sprintf("pod-%d-%d", w, i)
				doc := fmt.Sprintf(`{"metadata":{"name":%q,"labels":{"app":%q},"managedFields":[{"manager":"kubectl"}]},`+
					`"spec":{"port":%d,"items":[{"name":%q,"extra":[1,2,3]}]},"status":{"phase":"Running"}}`, name, name, i, name)
				got, err := Fields[fuzzFields]([]byte(doc))
				if err != nil {
					errs <- err
					return
				}
				// Decode more before checking, so that a result that refers to
				// a reused buffer shows.
				if _, err := Fields[fuzzFields]([]byte(`{"metadata":{"name":"other-object-of-the-same-size-xxxxxxx"}}`)); err != nil {
					errs <- err
					return
				}
				if got.Name != name || got.Labels["app"] != name || got.Spec.Port != int32(i) || len(got.Spec.Items) != 1 || got.Spec.Items[0].Name != name {
					errs <- fmt.Errorf("decoded %+v for %s", *got, doc)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// Meta stands for the metadata struct handlers embed (admit.Meta), so that
// decode errors name the field as they do in the handlers.
type Meta struct {
	Name      string            `json:"name,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}
