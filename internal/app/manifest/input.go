package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// StdinName is how the command line names standard input.
const StdinName = "-"

// Source locates one object of the input: a document of a file and, for a
// List, an item of it.
type Source struct {
	File string `json:"file"`
	// Document is the 1-based position of the document in its file,
	// counting empty documents, so that it matches what an editor shows.
	Document int `json:"document"`
	// Line is the first line of the document.
	Line int `json:"line"`
	// Item is the 0-based index in a List's items; nil outside a List.
	Item *int `json:"item,omitempty"`
}

// displayFile is the file as messages name it.
func (s Source) displayFile() string {
	if s.File == StdinName {
		return "<stdin>"
	}
	return s.File
}

// String is the compact form used in tables: file#document, plus the
// List item.
func (s Source) String() string {
	out := fmt.Sprintf("%s#%d", s.displayFile(), s.Document)
	if s.Item != nil {
		out += fmt.Sprintf(".items[%d]", *s.Item)
	}
	return out
}

// Where is the long form used in error messages.
func (s Source) Where() string {
	out := fmt.Sprintf("%s: document %d (line %d)", s.displayFile(), s.Document, s.Line)
	if s.Item != nil {
		out += fmt.Sprintf(", items[%d]", *s.Item)
	}
	return out
}

// InputError is input that cannot be used, with where it is.
type InputError struct {
	Source Source
	Err    error
}

func (e *InputError) Error() string { return e.Source.Where() + ": " + e.Err.Error() }

func (e *InputError) Unwrap() error { return e.Err }

// Document is one YAML or JSON document of a file.
type Document struct {
	Source Source
	Data   []byte
}

// manifestExtensions are the files a directory contributes.
var manifestExtensions = []string{".yaml", ".yml", ".json"}

// expandPaths turns the -f arguments into files: a directory contributes its
// manifest files in lexical order (and those of its subdirectories when
// recursive), "-" is standard input, and anything else is read as given.
func expandPaths(paths []string, recursive bool) ([]string, error) {
	var files []string
	for _, p := range paths {
		if p == StdinName {
			files = append(files, p)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && !recursive {
					return filepath.SkipDir
				}
				return nil
			}
			if slices.Contains(manifestExtensions, strings.ToLower(filepath.Ext(path))) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// readFile reads a file, or standard input for "-".
func readFile(name string, stdin io.Reader) ([]byte, error) {
	if name == StdinName {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// SplitDocuments splits a YAML stream at "---" lines as kubectl does (a
// separator line may carry a trailing comment). Every document is returned,
// empty ones included, so that document numbers match the file.
func SplitDocuments(file string, data []byte) []Document {
	var docs []Document
	var current bytes.Buffer
	start, lineNo := 1, 0
	flush := func() {
		docs = append(docs, Document{
			Source: Source{File: file, Document: len(docs) + 1, Line: start},
			Data:   bytes.Clone(current.Bytes()),
		})
		current.Reset()
	}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for scanner.Scan() {
		lineNo++
		line := scanner.Bytes()
		if isSeparator(line) {
			flush()
			start = lineNo + 1
			continue
		}
		current.Write(line)
		current.WriteByte('\n')
	}
	flush()
	return docs
}

func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

// isBlank reports a document holding only whitespace and comments.
func isBlank(data []byte) bool {
	for line := range bytes.Lines(data) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			return false
		}
	}
	return true
}

// yamlLine finds the line numbers in YAML parser errors, which count from
// the start of the document.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// DecodeDocument reads one document into an object: JSON when it starts
// with "{", YAML otherwise (strictly, in both: a key given twice is an
// error, as kubectl's strict field validation has it). A blank document yields nil.
func DecodeDocument(doc Document) (*unstructured.Unstructured, error) {
	if isBlank(doc.Data) {
		return nil, nil
	}
	data := bytes.TrimSpace(doc.Data)
	if data[0] != '{' {
		converted, err := yaml.YAMLToJSONStrict(doc.Data)
		if err != nil {
			// Report file lines, not document lines.
			msg := yamlLine.ReplaceAllStringFunc(err.Error(), func(m string) string {
				n, _ := strconv.Atoi(yamlLine.FindStringSubmatch(m)[1])
				return fmt.Sprintf("line %d", n+doc.Source.Line-1)
			})
			return nil, errors.New(strings.ReplaceAll(msg, "\n  ", " "))
		}
		data = converted
	}
	var content map[string]any
	if err := utiljson.Unmarshal(data, &content); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	// A key given twice in JSON would otherwise be settled silently (the
	// last wins); the API server's strict field validation refuses it.
	var probe any
	if strictErrs, err := sigsjson.UnmarshalStrict(data, &probe); err == nil && len(strictErrs) > 0 {
		return nil, errors.Join(strictErrs...)
	}
	if content == nil {
		return nil, nil
	}
	return &unstructured.Unstructured{Object: content}, nil
}

// readDocuments reads every file into documents, in order.
func readDocuments(files []string, stdin io.Reader) ([]Document, error) {
	var docs []Document
	for _, f := range files {
		data, err := readFile(f, stdin)
		if err != nil {
			return nil, err
		}
		docs = append(docs, SplitDocuments(f, data)...)
	}
	return docs, nil
}

// Options say what Load reads.
type Options struct {
	// Paths are files, directories (their .yaml, .yml and .json files) or
	// StdinName; Recursive also reads subdirectories.
	Paths     []string
	Recursive bool
	Stdin     io.Reader
	// Namespace is given to namespaced objects that name none.
	Namespace string
	// IgnoreUnknownKinds skips kinds not built into Kubernetes.
	IgnoreUnknownKinds bool
}

// Load reads and decodes every path. Problems with single documents are
// returned as InputErrors; an unreadable path is an error.
func Load(opts Options) ([]*Object, []*InputError, error) {
	files, err := expandPaths(opts.Paths, opts.Recursive)
	if err != nil {
		return nil, nil, err
	}
	docs, err := readDocuments(files, opts.Stdin)
	if err != nil {
		return nil, nil, err
	}
	scheme := NewScheme()
	var objects []*Object
	var errs []*InputError
	for _, doc := range docs {
		u, err := DecodeDocument(doc)
		if err != nil {
			errs = append(errs, &InputError{Source: doc.Source, Err: err})
			continue
		}
		if u == nil {
			continue
		}
		objs, objErrs := decodeObjects(u, doc.Source, scheme, opts.Namespace)
		for _, e := range objErrs {
			if opts.IgnoreUnknownKinds && errors.Is(e.Err, ErrUnknownKind) {
				continue
			}
			if errors.Is(e.Err, ErrUnknownKind) {
				e.Err = fmt.Errorf("%w (pass --ignore-unknown-kinds to skip custom resources)", e.Err)
			}
			errs = append(errs, e)
		}
		objects = append(objects, objs...)
	}
	if len(objects) == 0 && len(errs) == 0 {
		return nil, nil, errors.New("the input holds no Kubernetes object")
	}
	return objects, errs, nil
}
