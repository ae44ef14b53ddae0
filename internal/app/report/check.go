package report

import (
	"io"

	"github.com/eksguard/eksguard/internal/app/manifest"
	"github.com/eksguard/eksguard/internal/app/offline"
)

// Output formats of check.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatSARIF = "sarif"
	FormatJUnit = "junit"
)

// Check is what a check found; its JSON form is check's JSON output.
type Check struct {
	Policy  string           `json:"policy"`
	Results []offline.Result `json:"results"`
	Errors  []Error          `json:"errors,omitempty"`
	// Assumptions are what check took for granted because the input did not say.
	Assumptions []string `json:"assumptions,omitempty"`
	Summary     Summary  `json:"summary"`
}

// Error is an input document check could not read.
type Error struct {
	Source  *manifest.Source `json:"source,omitempty"`
	Message string           `json:"message"`
}

// WriteCheck writes c in format; version names eksguard in SARIF.
func WriteCheck(w io.Writer, format, version string, c Check) error {
	switch format {
	case FormatJSON:
		return WriteJSON(w, c)
	case FormatSARIF:
		return writeSARIF(w, version, c)
	case FormatJUnit:
		return writeJUnit(w, c)
	}
	writeCheckTable(w, c)
	return nil
}
