package manifest

import "testing"

func TestSplitDocuments(t *testing.T) {
	data := "# lead\na: 1\n--- # second\nb: 2\n---\n---\n----\nc: 3\n"
	docs := SplitDocuments("f.yaml", []byte(data))
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
		if docs[i].Source.Document != i+1 || docs[i].Source.Line != w.line || string(docs[i].Data) != w.data {
			t.Errorf("document %d: %+v %q, want line %d %q", i+1, docs[i].Source, docs[i].Data, w.line, w.data)
		}
	}
}
