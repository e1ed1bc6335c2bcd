package report

import (
	"fmt"
	"io"
	"strings"

	"rescue/bytesize"
	"rescue/pkgdb"
	"rescue/safetext"
)

// VerifySchema versions the JSON of rescue verify.
const VerifySchema = "rescue.verify/v1"

// Verify is the JSON document of rescue verify (schema rescue.verify/v1).
type Verify struct {
	Schema   string         `json:"schema"`
	Tool     Tool           `json:"tool"`
	Target   Target         `json:"target"`
	Database VerifyDatabase `json:"database"`
	Fast     bool           `json:"fast"`
	Summary  VerifySummary  `json:"summary"`
	Results  []VerifyResult `json:"results"`
	Unknown  []string       `json:"unknown_packages,omitempty"`
	Problems []string       `json:"problems,omitempty"`
	Stats    VerifyStats    `json:"stats"`
}

// VerifyDatabase names the package database verify read.
type VerifyDatabase struct {
	Kind     string `json:"kind"` // rpm, dpkg
	Path     string `json:"path"`
	Packages int    `json:"packages"`
}

// VerifySummary counts what differs.
type VerifySummary struct {
	Changed       int `json:"changed"`        // files (not config) that differ
	Missing       int `json:"missing"`        // files (not config) that are gone
	ZeroSize      int `json:"zero_size"`      // emptied files
	ConfigChanged int `json:"config_changed"` // configuration files that differ
	ConfigMissing int `json:"config_missing"` // configuration files that are gone
}

// VerifyResult is one file that differs.
type VerifyResult struct {
	Package  string   `json:"package"`
	Version  string   `json:"version"`
	Arch     string   `json:"arch,omitempty"`
	Path     string   `json:"path"`
	Code     string   `json:"code"` // "S.5....T." or "missing"
	Line     string   `json:"line"` // the line as rpm -V prints it
	Attrs    []string `json:"attrs,omitempty"`
	Config   bool     `json:"config"`
	Missing  bool     `json:"missing"`
	ZeroSize bool     `json:"zero_size"`
	Error    string   `json:"error,omitempty"`
	State    string   `json:"state,omitempty"`
}

// VerifyStats say how much verify read, and how long it took.
type VerifyStats struct {
	Packages int     `json:"packages"`
	Files    int     `json:"files"`
	Paths    int     `json:"paths"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
}

// SummarizeVerify counts the results: configuration files apart, and
// emptied files as well as changed or missing.
func SummarizeVerify(rep *pkgdb.Report) VerifySummary {
	var sum VerifySummary
	for _, r := range rep.Results {
		switch {
		case r.Config() && r.Missing:
			sum.ConfigMissing++
		case r.Config():
			sum.ConfigChanged++
		case r.Missing:
			sum.Missing++
		default:
			sum.Changed++
		}
		if r.ZeroSize {
			sum.ZeroSize++
		}
	}
	return sum
}

// ExitCode is verify's exit code: 4 when files differ or a configuration
// file is missing (a changed one is normal), else 0.
func (s VerifySummary) ExitCode() int {
	if s.Changed+s.Missing+s.ConfigMissing > 0 {
		return ExitFindings
	}
	return ExitOK
}

// NewVerify makes verify's JSON document.
func NewVerify(tool Tool, target Target, db pkgdb.DB, rep *pkgdb.Report, fast bool, problems []string, seconds float64) *Verify {
	doc := &Verify{
		Schema: VerifySchema, Tool: tool, Target: target, Fast: fast, Summary: SummarizeVerify(rep),
		Database: VerifyDatabase{Kind: db.Kind(), Path: pkgdb.Source(db), Packages: len(db.Packages())},
		Results:  []VerifyResult{}, Unknown: rep.Unknown, Problems: problems,
		Stats: VerifyStats{Packages: rep.Packages, Files: rep.Files, Paths: rep.Paths, Bytes: rep.Bytes, Seconds: seconds},
	}
	for _, r := range rep.Results {
		doc.Results = append(doc.Results, VerifyResult{
			Package: r.File.Package, Version: r.File.Version, Arch: r.File.Arch, Path: r.File.Path,
			Code: r.Code(), Line: r.Line(), Attrs: r.AttrNames(), Config: r.Config(), Missing: r.Missing,
			ZeroSize: r.ZeroSize, Error: r.Err, State: r.File.State,
		})
	}
	return doc
}

// WriteJSON writes the document.
func (v *Verify) WriteJSON(w io.Writer) error { return writeJSON(w, v) }

// WriteVerifyText prints the results in rpm -V's notation, configuration
// files apart.
func WriteVerifyText(w io.Writer, rep *pkgdb.Report) {
	var files, configs []pkgdb.Result
	for _, r := range rep.Results {
		if r.Config() {
			configs = append(configs, r)
		} else {
			files = append(files, r)
		}
	}
	line := func(r pkgdb.Result) string {
		s := safetext.Line(r.Line())
		if r.ZeroSize {
			s += " (zero size)"
		}
		return s
	}
	for _, r := range files {
		fmt.Fprintln(w, line(r))
	}
	if len(configs) > 0 {
		if len(files) > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, "Configuration files (a changed one is normal, a missing one is not):")
		for _, r := range configs {
			fmt.Fprintln(w, line(r))
		}
	}
}

// VerifyClosing is the line verify prints on stderr after its text: the
// database, how much was read, and what differs.
func VerifyClosing(db pkgdb.DB, rep *pkgdb.Report, seconds float64, fast bool) string {
	return fmt.Sprintf("%s database %s: %d packages, %d files (%d paths, %s read) in %.2fs; %s",
		db.Kind(), pkgdb.Source(db), rep.Packages, rep.Files, rep.Paths, bytesize.Format(rep.Bytes, bytesize.Download), seconds,
		SummarizeVerify(rep).describe(fast))
}

func (s VerifySummary) describe(fast bool) string {
	var parts []string
	add := func(n int, one, many string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, one, many)))
		}
	}
	add(s.Changed, "file differs", "files differ")
	add(s.Missing, "file missing", "files missing")
	add(s.ZeroSize, "file emptied", "files emptied")
	add(s.ConfigChanged, "configuration file changed", "configuration files changed")
	add(s.ConfigMissing, "configuration file missing", "configuration files missing")
	out := "everything matches"
	if len(parts) > 0 {
		out = strings.Join(parts, ", ")
	}
	if fast {
		out += " (metadata only: --fast read no file)"
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
