// Package checks is the check framework: a Check is a value with a name, its
// documentation and a Run function; Run gets a Pass holding the read-only
// target and the shared facts, and reports Findings, each with zero or more
// alternative Fixes. Checks never write: they describe repairs as repair
// ops, and only the repair package carries them out.
package checks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"rescue/facts"
	"rescue/repair"
	"rescue/safetext"
	"rescue/sysroot"
)

// Check is one check, declared once as a package-level value.
type Check struct {
	// Name identifies the check in flags, JSON and docs; it equals the
	// package name.
	Name string
	// Doc is the full documentation: the first line is the summary, then
	// what breaks, then a Before/After example. `rescue explain` prints it.
	Doc string
	// Requires lists the facts the check reads.
	Requires []facts.Fact
	// Kinds lists every finding kind the check can report: the slug after
	// "check/" in a finding's id ("module-missing" in
	// "pam/module-missing:/usr/lib64/security/pam_unix.so"). Runbooks and
	// --choose select findings by these ids, so the list is a contract:
	// the golden harness fails on a finding whose kind is not listed, and
	// the generated docs (docs/checks/NAME.md) list them all.
	Kinds []string
	// Family, when set, names a group of checks that --checks and --only
	// select together ("intrusions").
	Family string
	// Reads lists what the check reads from the target besides its
	// facts, as sysroot.Prefetch patterns ("/etc/pam.d/*", a tree as
	// "/usr/bin/..."). A scan fetches what every check and fact lists,
	// many reads at once, while the checks run one after another: on a
	// cold cloud disk each read a check waits for costs a millisecond or
	// more. What a check only finds out while it runs (an included file,
	// a library a program needs) is not listed; a listed path that does
	// not exist costs one lookup.
	Reads []string
	// Prepare, when set, is work the check can begin as soon as the scan
	// starts, while the checks before it run: unpacking what it will
	// judge, CPU work that then overlaps the others' waits for the disk
	// (and, on a cached disk, runs on another core). It only reads, and
	// reports nothing; Run gets what it returned from Pass.Prepared.
	Prepare func(root *sysroot.Root, f *facts.Facts) any
	// Run inspects the target and reports findings through the Pass. An
	// error means the check could not do its work (not that it found
	// something); the rest of the scan goes on.
	Run func(*Pass) error
}

// Summary returns the first line of the documentation.
func (c *Check) Summary() string {
	s, _, _ := strings.Cut(strings.TrimSpace(c.Doc), "\n")
	return s
}

// Declares reports whether kind is one of the check's Kinds.
func (c *Check) Declares(kind string) bool { return slices.Contains(c.Kinds, kind) }

// Severity says what a finding breaks.
type Severity int

// Severities, most severe first.
const (
	Critical Severity = iota + 1 // the machine will not boot
	Error                        // the machine boots, but no one can log in
	Warning                      // something is degraded or risky
	Info                         // worth knowing
)

var severityNames = map[Severity]string{Critical: "critical", Error: "error", Warning: "warning", Info: "info"}

func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText writes the severity by name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	for k, v := range severityNames {
		if v == string(b) {
			*s = k
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q", b)
}

// Stage is the repair stage a finding's fix belongs to.
func (s Severity) Stage() repair.Stage {
	switch s {
	case Critical:
		return repair.StageBoot
	case Error:
		return repair.StageLogin
	}
	return repair.StageOther
}

// Finding is one thing wrong with the target.
type Finding struct {
	// ID is stable across runs on the same fault: check/kind:path, plus
	// #subject when one file holds several findings of a kind. The
	// framework fills it in.
	ID       string   `json:"id"`
	Check    string   `json:"check"`
	Kind     string   `json:"kind"`              // short slug: "root-source-unknown"
	Subject  string   `json:"subject,omitempty"` // what in Path it is about: a mount point, a user
	Severity Severity `json:"severity"`
	Path     string   `json:"path,omitempty"` // target-absolute
	Line     int      `json:"line,omitempty"` // 1-based, 0 when not about a line
	// Message says what is wrong; Impact says what it breaks.
	Message  string       `json:"message"`
	Impact   string       `json:"impact,omitempty"`
	Evidence []string     `json:"evidence,omitempty"`
	Fixes    []repair.Fix `json:"fixes,omitempty"`
	// NoFix says why no fix is offered when Fixes is empty.
	NoFix string `json:"no_fix,omitempty"`
	// Location names the device, partition and filesystem the path is on,
	// when the target came from a disk (filled in by the caller).
	Location string `json:"location,omitempty"`
	// Indicators are set by the intrusion checks: where the entry
	// persists, why it is suspicious, and its files, URLs and hosts.
	Indicators *Indicators `json:"indicators,omitempty"`
}

// Where is "path:line", "path" or "".
func (f *Finding) Where() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", f.Path, f.Line)
	}
	return f.Path
}

func (f *Finding) fillID() {
	id := f.Check + "/" + f.Kind
	if f.Path != "" {
		id += ":" + f.Path
	}
	if f.Subject != "" {
		id += "#" + f.Subject
	}
	f.ID = id
}

// Pass is what a check sees while it runs.
type Pass struct {
	Check *Check
	// Root is the read-only view of the target.
	Root  *sysroot.Root
	Facts *facts.Facts

	findings []Finding
	notes    []string
	prep     *preparation
}

// Prepared returns what the check's Prepare returned, waiting for it to
// finish; nil when it has none, when it failed, or when the check runs
// without the framework having started it.
func (p *Pass) Prepared() any {
	if p.prep == nil {
		return nil
	}
	<-p.prep.done
	return p.prep.val
}

// Report records a finding. The check name and id are filled in here, and
// the text is bounded (see bound).
func (p *Pass) Report(f Finding) {
	f.Check = p.Check.Name
	f.bound()
	f.fillID()
	p.findings = append(p.findings, f)
}

// Limits on the text of a finding. Messages and evidence quote the disk,
// and a line on a hostile disk can be megabytes long: one such line must
// not make a report of hundreds of megabytes.
const (
	maxEvidenceLine  = 512
	maxEvidenceLines = 20
	maxText          = 4096 // message, impact, no-fix reason, fix message
	maxSubject       = 200
)

// bound cuts over-long text, with a marker that says how much was cut. A
// cut subject keeps a digest of the whole, so that ids stay distinct.
func (f *Finding) bound() {
	if len(f.Evidence) > maxEvidenceLines {
		n := len(f.Evidence) - (maxEvidenceLines - 1)
		f.Evidence = append(f.Evidence[:maxEvidenceLines-1:maxEvidenceLines-1], fmt.Sprintf("…[%d more lines]", n))
	}
	for i, e := range f.Evidence {
		f.Evidence[i] = safetext.Cut(e, maxEvidenceLine)
	}
	f.Message = safetext.Cut(f.Message, maxText)
	f.Impact = safetext.Cut(f.Impact, maxText)
	f.NoFix = safetext.Cut(f.NoFix, maxText)
	for i := range f.Fixes {
		f.Fixes[i].Message = safetext.Cut(f.Fixes[i].Message, maxText)
	}
	if len(f.Subject) > maxSubject {
		sum := sha256.Sum256([]byte(f.Subject))
		end := maxSubject - 13
		for end > 0 && !utf8.RuneStart(f.Subject[end]) {
			end--
		}
		f.Subject = f.Subject[:end] + "~" + hex.EncodeToString(sum[:6])
	}
}

// Note records something the check could not do or assumed, which the
// report shows apart from findings ("no block-device list: fstab sources
// were not checked").
func (p *Pass) Note(format string, args ...any) {
	p.notes = append(p.notes, p.Check.Name+": "+fmt.Sprintf(format, args...))
}

// MarshalJSON keeps Severity readable inside arrays of findings.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// AddFix appends a fix, or, when planning it failed, records why there is
// none. It takes a constructor's two results directly:
//
//	f.AddFix(repair.NewFix("…").Add(repair.Chmod(root, "/", 0o755)).Build())
func (f *Finding) AddFix(fix repair.Fix, err error) {
	if err != nil {
		if len(f.Fixes) == 0 && f.NoFix == "" {
			f.NoFix = "could not plan the change: " + err.Error()
		}
		return
	}
	f.Fixes = append(f.Fixes, fix)
}
