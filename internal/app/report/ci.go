package report

// CI reports of check: SARIF 2.1.0 (code-scanning views of pull requests)
// and JUnit XML (test-result views of CI systems). Both carry the same
// findings as the table and JSON outputs, read from the webhook's own
// answers; exit codes do not change.

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/config"
	"github.com/eksguard/eksguard/internal/app/manifest"
	"github.com/eksguard/eksguard/internal/app/offline"
	"github.com/eksguard/eksguard/webhook/decision"
)

// informationURI is where SARIF viewers link the tool.
const informationURI = "https://github.com/eksguard/eksguard"

// ruleHelp describes each rule for SARIF viewers.
var ruleHelp = map[config.RuleName]struct{ short, help string }{
	config.RuleSeccomp: {
		short: "Pods run under a seccomp profile",
		help: "Pods without a seccomp profile get RuntimeDefault (the mutating webhook adds spec.securityContext.seccompProfile); " +
			"an explicit Unconfined profile is reported as the policy's unconfined setting says. Set a RuntimeDefault or Localhost profile.",
	},
	config.RuleNetworkPolicy: {
		short: "Pods are isolated by a network policy",
		help: "Every pod (and workload pod template) must be selected by a policy the data plane enforces: a NetworkPolicy, " +
			"or an EKS, Cilium or SIG Network policy kind where served. Add a default-deny policy (podSelector: {}) to the namespace.",
	},
	config.RuleLoadBalancerTLS: {
		short: "AWS load balancers accept only TLS",
		help: "LoadBalancer Services and ALB Ingresses must not get a plaintext listener or a TLS policy outside the allow-list, " +
			"as the AWS Load Balancer Controller or the in-tree provider would build them. Set certificates, TLS ports and an allowed SSL policy.",
	},
}

// reported is one finding as the reports list it: a mutated finding is
// one note per patch operation, attributed to the rule that made it.
type reported struct {
	rule config.RuleName
	// level is SARIF's: error (denied), warning (warned), note (mutated).
	level   string
	message string
}

// levels are the report levels of finding outcomes.
var levels = map[string]string{
	decision.OutcomeDenied:  "error",
	decision.OutcomeWarned:  "warning",
	decision.OutcomeMutated: "note",
}

// reportedFindings lists the findings of r for the reports.
func reportedFindings(r offline.Result) []reported {
	var out []reported
	for _, f := range r.Findings {
		switch f.Outcome {
		case decision.OutcomeDenied:
			out = append(out, reported{rule: f.Rule, level: levels[f.Outcome], message: f.FieldDetail()})
		case decision.OutcomeWarned:
			out = append(out, reported{rule: f.Rule, level: levels[f.Outcome], message: f.Detail})
		case decision.OutcomeMutated:
			for _, p := range f.Patches {
				value := ""
				if p.Value != nil {
					data, _ := json.Marshal(p.Value)
					value = string(data)
				}
				out = append(out, reported{rule: f.Rule, level: levels[f.Outcome],
					message: fmt.Sprintf("eksguard will %s %s %s", p.Operation, p.Path, value)})
			}
		}
	}
	return out
}

// SARIFLog is the subset of SARIF 2.1.0 check writes.
type SARIFLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string        `json:"id"`
	ShortDescription sarifMessage  `json:"shortDescription"`
	FullDescription  sarifMessage  `json:"fullDescription"`
	Help             sarifMessage  `json:"help"`
	Default          sarifDefaults `json:"defaultConfiguration"`
}

type sarifDefaults struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	Physical sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	Artifact sarifArtifact `json:"artifactLocation"`
	Region   sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

func sarifLocationOf(s *manifest.Source) []sarifLocation {
	if s == nil {
		return nil
	}
	uri := filepath.ToSlash(s.File)
	if s.File == manifest.StdinName {
		uri = "stdin"
	}
	return []sarifLocation{{Physical: sarifPhysical{Artifact: sarifArtifact{URI: uri}, Region: sarifRegion{StartLine: max(1, s.Line)}}}}
}

// writeSARIF writes report as a SARIF 2.1.0 log: one result per finding,
// at the file and line of its document.
func writeSARIF(w io.Writer, version string, report Check) error {
	driver := sarifDriver{Name: "eksguard", Version: version, InformationURI: informationURI}
	index := map[config.RuleName]int{}
	for i, rule := range config.Rules {
		help := ruleHelp[rule]
		index[rule] = i
		driver.Rules = append(driver.Rules, sarifRule{ID: string(rule), ShortDescription: sarifMessage{help.short},
			FullDescription: sarifMessage{help.help}, Help: sarifMessage{help.help}, Default: sarifDefaults{Level: "error"}})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	invocation := sarifInvocation{ExecutionSuccessful: len(report.Errors) == 0}
	for _, e := range report.Errors {
		invocation.Notifications = append(invocation.Notifications, sarifNotification{Level: "error",
			Message: sarifMessage{e.Message}, Locations: sarifLocationOf(e.Source)})
	}
	for _, r := range report.Results {
		subject := fmt.Sprintf("%s %s", r.Kind, objectName(r))
		if r.Verdict == offline.VerdictError {
			invocation.ExecutionSuccessful = false
			invocation.Notifications = append(invocation.Notifications, sarifNotification{Level: "error",
				Message: sarifMessage{subject + ": " + r.Error}, Locations: sarifLocationOf(r.Source)})
		}
		for _, f := range reportedFindings(r) {
			i, known := index[f.rule]
			if !known {
				continue
			}
			run.Results = append(run.Results, sarifResult{RuleID: string(f.rule), RuleIndex: i, Level: f.level,
				Message: sarifMessage{subject + ": " + f.message}, Locations: sarifLocationOf(r.Source)})
		}
	}
	run.Invocations = []sarifInvocation{invocation}
	return WriteJSON(w, SARIFLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

func objectName(r offline.Result) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// JUnitSuites is the JUnit XML that CI systems read.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// writeJUnit writes report as JUnit XML: one test case per object, a
// failure for a denial, an error for an object eksguard could not judge or
// an input error, a skip for kinds no webhook admits; warnings and patches
// go to the case's output.
func writeJUnit(w io.Writer, report Check) error {
	suite := junitSuite{Name: "eksguard check (policy " + report.Policy + ")"}
	for _, e := range report.Errors {
		c := junitCase{Name: "input", Classname: "eksguard.input", Error: &junitProblem{Message: e.Message, Type: "InputError"}}
		if e.Source != nil {
			c.Name, c.File, c.Line = e.Source.String(), e.Source.File, e.Source.Line
		}
		suite.Cases = append(suite.Cases, c)
		suite.Errors++
	}
	for _, r := range report.Results {
		c := junitCase{Name: r.Kind + " " + objectName(r), Classname: "eksguard." + r.Kind}
		if r.Source != nil {
			c.File, c.Line = r.Source.File, r.Source.Line
			c.Name += " (" + r.Source.String() + ")"
		}
		var out []string
		for _, f := range reportedFindings(r) {
			if f.level != "error" {
				out = append(out, fmt.Sprintf("%s [%s] %s", f.level, f.rule, f.message))
			}
		}
		c.SystemOut = strings.Join(out, "\n")
		switch r.Verdict {
		case offline.VerdictDenied:
			c.Failure = &junitProblem{Message: r.Denial, Type: "Denied", Text: r.Denial}
			suite.Failures++
		case offline.VerdictError:
			c.Error = &junitProblem{Message: r.Error, Type: "Error"}
			suite.Errors++
		case offline.VerdictSkipped:
			c.Skipped = &junitProblem{Message: "no eksguard webhook admits " + r.Kind}
			suite.Skipped++
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	suites := JUnitSuites{Name: "eksguard", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Skipped: suite.Skipped, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suites); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// Formats are the formats check writes.
var Formats = []string{FormatTable, FormatJSON, FormatSARIF, FormatJUnit}

func ValidFormat(o string) bool { return slices.Contains(Formats, o) }
