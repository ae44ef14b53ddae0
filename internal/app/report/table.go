package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/eksguard/eksguard/internal/app/offline"
)

// Summary counts verdicts.
type Summary struct {
	Checked  int `json:"checked"`
	Admitted int `json:"admitted"`
	Mutated  int `json:"mutated"`
	Warned   int `json:"warned"`
	Denied   int `json:"denied"`
	Errors   int `json:"errors"`
	// Skipped objects are of kinds no eksguard webhook admits.
	Skipped int `json:"skipped"`
}

func (s *Summary) Add(v offline.Verdict) {
	if v == offline.VerdictSkipped {
		s.Skipped++
		return
	}
	s.Checked++
	switch v {
	case offline.VerdictAdmitted:
		s.Admitted++
	case offline.VerdictMutated:
		s.Mutated++
	case offline.VerdictWarned:
		s.Warned++
	case offline.VerdictDenied:
		s.Denied++
	case offline.VerdictError:
		s.Errors++
	}
}

func (s *Summary) Merge(o Summary) {
	s.Checked += o.Checked
	s.Admitted += o.Admitted
	s.Mutated += o.Mutated
	s.Warned += o.Warned
	s.Denied += o.Denied
	s.Errors += o.Errors
	s.Skipped += o.Skipped
}

// String is the one-line form: "3 admitted, 1 mutated, 2 denied".
func (s Summary) String() string {
	parts := []string{fmt.Sprintf("%d admitted", s.Admitted)}
	for _, c := range []struct {
		n    int
		verb string
	}{{s.Mutated, "mutated"}, {s.Warned, "warned"}, {s.Denied, "denied"}, {s.Errors, "failed"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.verb))
		}
	}
	return strings.Join(parts, ", ")
}

func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// details are the lines under a result row: why it was denied, what the
// patch does, the warnings.
func Details(r offline.Result) []string {
	var lines []string
	if r.Denial != "" {
		lines = append(lines, r.Denial)
	}
	if r.Error != "" {
		lines = append(lines, r.Error)
	}
	for _, p := range r.Patches {
		value, _ := json.Marshal(p.Value)
		lines = append(lines, fmt.Sprintf("patch: %s %s %s", p.Operation, p.Path, value))
	}
	for _, w := range r.Warnings {
		lines = append(lines, "warning: "+w)
	}
	return lines
}

// table writes aligned columns; detail lines go under their row, indented
// to the second column.
type Table struct {
	Header []string
	rows   [][]string
	notes  [][]string
}

func (t *Table) Add(row []string, notes []string) {
	t.rows = append(t.rows, row)
	t.notes = append(t.notes, notes)
}

func (t *Table) Write(w io.Writer, indent string) {
	widths := make([]int, len(t.Header))
	for _, row := range append([][]string{t.Header}, t.rows...) {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		b.WriteString(indent)
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		fmt.Fprintln(w, b.String())
	}
	line(t.Header)
	noteIndent := indent + strings.Repeat(" ", widths[0]+2)
	for i, row := range t.rows {
		line(row)
		for _, n := range t.notes[i] {
			fmt.Fprintln(w, noteIndent+n)
		}
	}
}

func writeCheckTable(w io.Writer, report Check) {
	t := Table{Header: []string{"RESULT", "KIND", "NAMESPACE", "NAME", "SOURCE"}}
	var skippedKinds []string
	for _, r := range report.Results {
		if r.Verdict == offline.VerdictSkipped {
			if !slices.Contains(skippedKinds, r.Kind) {
				skippedKinds = append(skippedKinds, r.Kind)
			}
			continue
		}
		t.Add([]string{string(r.Verdict), r.Kind, r.Namespace, r.Name, r.Source.String()}, Details(r))
	}
	if len(t.rows) > 0 {
		t.Write(w, "")
		fmt.Fprintln(w)
	}
	s := report.Summary
	fmt.Fprintf(w, "%d checked under policy %s: %s.", s.Checked, report.Policy, s)
	if s.Skipped > 0 {
		fmt.Fprintf(w, " %d not checked (%s).", s.Skipped, strings.Join(skippedKinds, ", "))
	}
	fmt.Fprintln(w)
	for _, a := range report.Assumptions {
		fmt.Fprintf(w, "Assumed: %s.\n", a)
	}
}
