package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"rescue/bytesize"
	"rescue/pkgdb"
	"rescue/report"
	"rescue/safetext"
	"rescue/sysroot"
)

// openPackages opens a target's package database (rpm or dpkg).
var openPackages = pkgdb.Open

// packageCommands is verify.
func (a *app) packageCommands() []*cobra.Command { return []*cobra.Command{a.verifyCommand()} }

// VerifySchema versions the JSON of rescue verify.
const VerifySchema = "rescue.verify/v1"

// verifyOptions are the flags of rescue verify.
type verifyOptions struct {
	target  targetOptions
	json    bool
	fast    bool
	workers int
	readers int
}

const verifyLong = `Compare the files of TARGET's installed packages with what its package
database (rpm or dpkg) records, without running the target's rpm or dpkg, and
print what differs in rpm -V's notation:

  S.5....T.    /usr/bin/login          size, digest and time differ
  missing   c /etc/pam.d/login         a configuration file is gone

The letters are S size, M mode (type, permissions, ACL), 5 digest, D device
number, L symlink target, U user, G group, T modification time, P file
capabilities; "." is unchanged and "?" unknown (dpkg records only digests,
and statoverride modes and owners). The letter before the path marks
configuration (c), documentation (d) and %ghost (g) files. An empty file the
package shipped with content is marked "(zero size)": the usual trace of a
crash or a full disk during an update.

Configuration files are listed apart: a changed one is normal, a missing one
is not. For rpm the result is what rpm -Va --nodeps --noscripts prints on
the same tree; for dpkg, what dpkg --verify and debsums --all report, plus
missing directories and symlinks. PKG limits the check to those packages.
With --fast only metadata is compared: no file is read.

Digests run on every core and each file is read once. Nothing is written to
TARGET; the database is read as bytes, never opened with rpm or SQLite.

Exit codes:
  0   nothing differs, or only configuration files were changed
  4   files differ, or a configuration file is missing
  8   operational error (no package database, unreadable target)
  16  usage error`

func (a *app) verifyCommand() *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify TARGET [PKG...]",
		Short: "Check installed package files against the package database (rpm -Va, debsums)",
		Long:  verifyLong,
		Example: `  rescue verify /mnt/broken
  rescue verify /dev/vdb util-linux pam
  rescue verify /mnt/broken --json > verify.json
  rescue verify /mnt/broken --fast`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return usagef("verify takes a TARGET and optional package names")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runVerify(cmd.Context(), args[0], args[1:], o)
		},
	}
	o.target.addFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print the result as JSON (schema "+VerifySchema+") on stdout")
	f.BoolVar(&o.fast, "fast", false, "compare metadata only (size, mode, owner, time, link), reading no file")
	f.IntVar(&o.workers, "workers", 0, "hash on `N` cores at once (default: every core)")
	f.MarkHidden("workers")
	f.IntVar(&o.readers, "readers", 0, fmt.Sprintf("keep `N` reads in flight on the disk (default %d)", pkgdb.DefaultReaders))
	f.MarkHidden("readers")
	return cmd
}

// verifyJSON is the JSON document of rescue verify.
type verifyJSON struct {
	Schema   string          `json:"schema"`
	Tool     report.Tool     `json:"tool"`
	Target   report.Target   `json:"target"`
	Database verifyDatabase  `json:"database"`
	Fast     bool            `json:"fast"`
	Summary  verifySummary   `json:"summary"`
	Results  []verifyResult  `json:"results"`
	Unknown  []string        `json:"unknown_packages,omitempty"`
	Problems []string        `json:"problems,omitempty"`
	Stats    verifyStatsJSON `json:"stats"`
}

type verifyDatabase struct {
	Kind     string `json:"kind"` // rpm, dpkg
	Path     string `json:"path"`
	Packages int    `json:"packages"`
}

type verifySummary struct {
	Changed       int `json:"changed"`        // files (not config) that differ
	Missing       int `json:"missing"`        // files (not config) that are gone
	ZeroSize      int `json:"zero_size"`      // emptied files
	ConfigChanged int `json:"config_changed"` // configuration files that differ
	ConfigMissing int `json:"config_missing"` // configuration files that are gone
}

type verifyResult struct {
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

type verifyStatsJSON struct {
	Packages int     `json:"packages"`
	Files    int     `json:"files"`
	Paths    int     `json:"paths"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
}

func (a *app) runVerify(ctx context.Context, arg string, pkgs []string, o *verifyOptions) error {
	// The garbage collector runs as usual: turning it off saved no
	// measurable CPU time and let the peak memory grow with every byte
	// ever allocated, with the size of the system (make bench prints the
	// peak memory of each verify).
	start := time.Now()
	t, err := a.openVerifyTarget(ctx, arg, o.target)
	if err != nil {
		return err
	}
	defer t.Close()
	db, err := openPackages(t.root)
	a.log.Info("package database read", "seconds", time.Since(start).Seconds())
	if err == nil && db == nil {
		return withHint(fmt.Errorf("%s has no package database rescue can read", t.root.HostPath()),
			"rescue looks for rpm's database in /usr/lib/sysimage/rpm, /var/lib/rpm and /usr/share/rpm, and for /var/lib/dpkg/status")
	}
	if err != nil {
		return fmt.Errorf("reading the package database: %w", err)
	}
	var problems []string
	for _, p := range pkgdb.Problems(db) {
		problems = append(problems, p.Error())
		if !o.json && !a.quiet {
			fmt.Fprintf(a.stderr, "rescue: warning: package database damaged, this part skipped: %s\n", safetext.Line(p.Error()))
		}
	}

	a.machine = o.json
	show, done := a.progress()
	began := time.Now()
	progress := func(p pkgdb.Progress) {
		rate := float64(p.Bytes) / max(time.Since(began).Seconds(), 1e-3)
		show("verifying: %d/%d paths, %s read, %s/s", p.Paths, p.Total, humanBytes(p.Bytes), humanBytes(int64(rate)))
	}
	rep, err := pkgdb.Verify(ctx, t.root, db, pkgdb.VerifyOptions{Packages: pkgs, Fast: o.fast, Workers: o.workers, Readers: o.readers, Progress: progress})
	done()
	if err != nil {
		return err
	}
	a.log.Info("verified", "seconds", time.Since(start).Seconds())
	if len(rep.Unknown) > 0 && len(rep.Unknown) == len(pkgs) {
		return &usageError{fmt.Errorf("no installed package is named %s", strings.Join(rep.Unknown, ", "))}
	}
	elapsed := time.Since(start)

	var sum verifySummary
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
	a.exit = report.ExitOK
	if sum.Changed+sum.Missing+sum.ConfigMissing > 0 {
		a.exit = report.ExitFindings
	}

	if o.json {
		doc := verifyJSON{
			Schema: VerifySchema, Tool: a.tool(), Target: t.info, Fast: o.fast, Summary: sum,
			Database: verifyDatabase{Kind: db.Kind(), Path: pkgdb.Source(db), Packages: len(db.Packages())},
			Results:  []verifyResult{}, Unknown: rep.Unknown, Problems: problems,
			Stats: verifyStatsJSON{Packages: rep.Packages, Files: rep.Files, Paths: rep.Paths, Bytes: rep.Bytes, Seconds: elapsed.Seconds()},
		}
		for _, r := range rep.Results {
			doc.Results = append(doc.Results, verifyResult{
				Package: r.File.Package, Version: r.File.Version, Arch: r.File.Arch, Path: r.File.Path,
				Code: r.Code(), Line: r.Line(), Attrs: r.AttrNames(), Config: r.Config(), Missing: r.Missing,
				ZeroSize: r.ZeroSize, Error: r.Err, State: r.File.State,
			})
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(doc)
	}

	writeVerifyText(a.stdout, rep)
	for _, u := range rep.Unknown {
		fmt.Fprintf(a.stderr, "rescue: warning: package %s is not installed\n", safetext.Line(u))
	}
	if !a.quiet {
		fmt.Fprintf(a.stderr, "rescue: %s database %s: %d packages, %d files (%d paths, %s read) in %.2fs; %s\n",
			db.Kind(), pkgdb.Source(db), rep.Packages, rep.Files, rep.Paths, humanBytes(rep.Bytes), elapsed.Seconds(), describeSummary(sum, o.fast))
	}
	return nil
}

// openVerifyTarget opens TARGET for verify. A directory is opened as it
// is: verify needs no block device list, and asking the helper's blkid for
// one would only cost time.
func (a *app) openVerifyTarget(ctx context.Context, arg string, opt targetOptions) (*target, error) {
	fi, err := os.Stat(arg)
	if err != nil || !fi.IsDir() || opt.devicesFile != "" {
		return a.openTarget(ctx, arg, opt, false)
	}
	root, err := sysroot.Open(arg)
	if err != nil {
		return nil, err
	}
	return &target{root: root, opt: opt, info: report.Target{Path: root.HostPath()}}, nil
}

// writeVerifyText prints the results in rpm -V's notation, configuration
// files apart.
func writeVerifyText(w io.Writer, rep *pkgdb.Report) {
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

func describeSummary(s verifySummary, fast bool) string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(s.Changed, plural(s.Changed, "file differs", "files differ"))
	add(s.Missing, plural(s.Missing, "file missing", "files missing"))
	add(s.ZeroSize, plural(s.ZeroSize, "file emptied", "files emptied"))
	add(s.ConfigChanged, plural(s.ConfigChanged, "configuration file changed", "configuration files changed"))
	add(s.ConfigMissing, plural(s.ConfigMissing, "configuration file missing", "configuration files missing"))
	out := "everything matches"
	if len(parts) > 0 {
		out = strings.Join(parts, ", ")
	}
	if fast {
		out += " (metadata only: --fast read no file)"
	}
	return out
}

// humanBytes writes a count of bytes read or fetched for progress lines.
func humanBytes(n int64) string { return bytesize.Format(n, bytesize.Download) }
