// Package report turns findings and repair outcomes into what people and
// runbooks read: text for a terminal, JSON (schema rescue.report/v1) for
// machines, and the exit code.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"rescue/checks"
	"rescue/evidence"
	"rescue/facts"
	"rescue/parse/osrelease"
	"rescue/repair"
	"rescue/safetext"
)

// Schema versions the scan report; FixSchema the fix report. A field is
// only ever added within a version.
const (
	Schema    = "rescue.report/v1"
	FixSchema = "rescue.fix/v1"
)

// Exit codes, stable for runbooks.
const (
	ExitOK       = 0  // scan: nothing found; fix --apply: nothing to do
	ExitRepaired = 1  // fix --apply: everything found was repaired
	ExitFindings = 4  // scan: findings; fix: findings remain
	ExitError    = 8  // operational error
	ExitUsage    = 16 // usage error
)

// ExitCodesHelp documents the exit codes for --help and the README.
const ExitCodesHelp = `Exit codes:
  0   scan: nothing found; fix --apply: nothing to do; other commands: success
  1   fix --apply: everything that was found has been repaired (a filesystem
      check --allow-fsck ran counts as a repair)
  4   scan: findings; fix: findings remain (dry run, or not all could be repaired)
      (info findings alone do not make the exit code 4)
  8   operational error (unreadable target, disk:ID not found, failed
      repair, ...)
  16  usage error (bad flag or argument)`

// Tool identifies the program that wrote a report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Target says what was examined.
type Target struct {
	// Path is the directory the root was examined at.
	Path string `json:"path"`
	// Device, Partition and Filesystem are set when the target came from
	// a disk or an image.
	Device     string `json:"device,omitempty"`
	Partition  string `json:"partition,omitempty"`
	Filesystem string `json:"filesystem,omitempty"`
	UUID       string `json:"uuid,omitempty"`
}

// Summary counts findings.
type Summary struct {
	Critical int `json:"critical"`
	Error    int `json:"error"`
	Warning  int `json:"warning"`
	Info     int `json:"info"`
	Fixable  int `json:"fixable"`
}

// Report is a scan report.
type Report struct {
	Schema  string         `json:"schema"`
	Tool    Tool           `json:"tool"`
	Target  Target         `json:"target"`
	OS      osrelease.Info `json:"os"`
	Devices *facts.Devices `json:"devices,omitempty"`
	Summary Summary        `json:"summary"`
	// FindingsLeft counts the findings that decide the exit code (all
	// but info): what a runbook reports as left to do.
	FindingsLeft int              `json:"findings_left"`
	Findings     []checks.Finding `json:"findings"`
	Checks       []checks.Status  `json:"checks"`
	Notes        []string         `json:"notes,omitempty"`
	// LastBoot is what the machine's logs and console say about its last
	// boot, with each event linked to the findings that explain it.
	LastBoot *evidence.Report `json:"last_boot,omitempty"`
}

// New builds a scan report.
func New(tool Tool, target Target, os osrelease.Info, devs *facts.Devices, res *checks.Result) *Report {
	r := &Report{Schema: Schema, Tool: tool, Target: target, OS: os, Devices: devs,
		Findings: res.Findings, Checks: res.Checks, Notes: res.Notes}
	if r.Findings == nil {
		r.Findings = []checks.Finding{}
	}
	r.Summary = Summarize(res.Findings)
	r.FindingsLeft = Problems(res.Findings)
	return r
}

// Summarize counts findings by severity.
func Summarize(fs []checks.Finding) Summary {
	var s Summary
	for _, f := range fs {
		switch f.Severity {
		case checks.Critical:
			s.Critical++
		case checks.Error:
			s.Error++
		case checks.Warning:
			s.Warning++
		default:
			s.Info++
		}
		if len(f.Fixes) > 0 {
			s.Fixable++
		}
	}
	return s
}

// ExitCode is the scan's exit code: 8 when a check could not run, 4 when
// there are findings, else 0. Info findings ("worth knowing") do not count:
// a runbook must be able to reach 0 on a disk that is in order.
func (r *Report) ExitCode() int {
	for _, c := range r.Checks {
		if c.Error != "" {
			return ExitError
		}
	}
	if Problems(r.Findings) > 0 {
		return ExitFindings
	}
	return ExitOK
}

// Problems counts the findings that decide exit codes: all but info.
func Problems(fs []checks.Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity != checks.Info {
			n++
		}
	}
	return n
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// maxAlike is how many findings of one kind in one file the text shows,
// maxKind how many of one kind in all.
const (
	maxAlike = 20
	maxKind  = 200
)

var headings = map[checks.Severity]string{
	checks.Critical: "CRITICAL: will not boot",
	checks.Error:    "ERROR: boots, but no one can log in",
	checks.Warning:  "WARNING",
	checks.Info:     "INFO",
}

// WriteText writes the report for a person.
func (r *Report) WriteText(w io.Writer, st Style) {
	fmt.Fprintf(w, "%s %s\n", st.bold("Target:"), safetext.Line(describeTarget(r.Target, r.OS)))
	if r.Devices != nil && r.Devices.Known() {
		root := "unknown"
		if r.Devices.Root != nil {
			root = fmt.Sprintf("%s (%s UUID=%s)", r.Devices.Root.Path, r.Devices.Root.Type, r.Devices.Root.UUID)
		}
		fmt.Fprintf(w, "%s %d from %s; root filesystem %s\n", st.bold("Devices:"), len(r.Devices.List), r.Devices.Source, safetext.Line(root))
	}
	WriteLastBoot(w, r.LastBoot, st)
	WriteFindings(w, r.Findings, st)
	WriteIndicators(w, r.Findings, st)
	for _, c := range r.Checks {
		if c.Error != "" {
			fmt.Fprintf(w, "\n%s check %s could not run: %s\n", st.red("error:"), c.Name, safetext.Line(firstLine(c.Error)))
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "note: %s\n", safetext.Line(n))
		}
	}
	fmt.Fprintf(w, "\n%s\n", summaryLine(r.Summary, len(r.Checks)))
}

// WriteFindings writes findings grouped by severity. Every string in a
// finding may quote the disk, so each goes through safetext.Line.
//
// A file with a finding on each of thousands of lines (a binary file where
// a configuration file belongs) shows the first maxAlike findings of a
// kind in one file and then one line for the rest: JSON lists them all.
func WriteFindings(w io.Writer, fs []checks.Finding, st Style) {
	esc := safetext.Line
	alike := func(f checks.Finding) string { return f.Check + "/" + f.Kind + ":" + f.Path }
	count := map[string]int{}
	for _, f := range fs {
		count[alike(f)]++
	}
	shown := map[string]int{}
	var last checks.Severity
	for _, f := range fs {
		if f.Severity != last {
			fmt.Fprintf(w, "\n%s\n", st.severity(f.Severity, headings[f.Severity]))
			last = f.Severity
		}
		k := alike(f)
		if shown[k]++; shown[k] > maxAlike {
			if shown[k] == maxAlike+1 {
				fmt.Fprintf(w, "  %s\n", st.dim(fmt.Sprintf("… and %d more %s/%s findings in %s (--json lists them all)", count[k]-maxAlike, f.Check, f.Kind, esc(f.Path))))
			}
			continue
		}
		kind := f.Check + "/" + f.Kind
		if shown[kind]++; shown[kind] > maxKind {
			if shown[kind] == maxKind+1 {
				fmt.Fprintf(w, "  %s\n", st.dim(fmt.Sprintf("… and more %s findings (--json lists them all)", kind)))
			}
			continue
		}
		where := f.Where()
		if where == "" {
			where = "-"
		}
		fmt.Fprintf(w, "  %s  %s\n", st.bold(esc(where)), st.dim(esc(f.ID)))
		if f.Location != "" {
			fmt.Fprintf(w, "    on %s\n", esc(f.Location))
		}
		fmt.Fprintf(w, "    %s\n", esc(f.Message))
		if f.Impact != "" {
			fmt.Fprintf(w, "    breaks: %s\n", esc(f.Impact))
		}
		for _, e := range f.Evidence {
			fmt.Fprintf(w, "    | %s\n", esc(e))
		}
		switch {
		case len(f.Fixes) == 1:
			fmt.Fprintf(w, "    fix: %s\n", esc(f.Fixes[0].Message))
		case len(f.Fixes) > 1:
			for i, x := range f.Fixes {
				def := ""
				if i == 0 {
					def = " (default)"
				}
				fmt.Fprintf(w, "    fix %d%s: %s\n", i+1, def, esc(x.Message))
			}
		case f.NoFix != "":
			fmt.Fprintf(w, "    no fix: %s\n", esc(f.NoFix))
		default:
			fmt.Fprintf(w, "    no fix offered\n")
		}
	}
}

func describeTarget(t Target, os osrelease.Info) string {
	s := t.Path
	if t.Device != "" {
		s = fmt.Sprintf("%s (%s", t.Device, t.Filesystem)
		if t.Partition != "" {
			s += " on " + t.Partition
		}
		s += ")"
	}
	name := os.PrettyName
	if name == "" {
		name = strings.TrimSpace(os.ID + " " + os.VersionID)
	}
	if name == "" {
		name = "unknown distribution"
	}
	return s + ", " + name
}

func summaryLine(s Summary, nchecks int) string {
	total := s.Critical + s.Error + s.Warning + s.Info
	if total == 0 {
		return fmt.Sprintf("No problems found by %d checks.", nchecks)
	}
	var parts []string
	for _, p := range []struct {
		n    int
		name string
	}{{s.Critical, "critical"}, {s.Error, "error"}, {s.Warning, "warning"}, {s.Info, "info"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		}
	}
	return fmt.Sprintf("%d finding(s): %s; %d can be fixed.", total, strings.Join(parts, ", "), s.Fixable)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// FixReport is what `rescue fix --json` prints.
type FixReport struct {
	Schema   string           `json:"schema"`
	Tool     Tool             `json:"tool"`
	Target   Target           `json:"target"`
	OS       osrelease.Info   `json:"os"`
	DryRun   bool             `json:"dry_run"`
	Findings []checks.Finding `json:"findings"`
	// Actions are the operator actions asked for by name (reset-access,
	// --serial-console, ...) whose changes are in the plan.
	Actions []Action     `json:"actions,omitempty"`
	Plan    *repair.Plan `json:"plan"`
	// Result is the outcome of apply (absent in a dry run).
	Result *repair.Result `json:"result,omitempty"`
	// Remaining are the findings of the scan after the repair.
	Remaining []checks.Finding `json:"remaining,omitempty"`
	// FindingsLeft counts the findings (all but info) that are still
	// there: the findings of a dry run, the remaining ones after apply.
	FindingsLeft int    `json:"findings_left"`
	Error        string `json:"error,omitempty"`
	ExitCode     int    `json:"exit_code"`
}

// Action is an operator action's account of its part of the plan: what it
// changes and why, and what it leaves in the way of a login or a boot.
type Action struct {
	Name    string   `json:"name"`
	Changes []string `json:"changes,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// WriteJSON writes the fix report.
func (r *FixReport) WriteJSON(w io.Writer) error {
	if r.Findings == nil {
		r.Findings = []checks.Finding{}
	}
	return writeJSON(w, r)
}

// WriteValue writes any value as the JSON reports are written.
func WriteValue(w io.Writer, v any) error { return writeJSON(w, v) }
