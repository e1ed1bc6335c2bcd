package nss

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/facts"
	"rescue/facts/ldso"
	"rescue/parse/nsswitch"
	"rescue/repair"
)

// Check is the nss check.
var Check = &checks.Check{
	Name:     "nss",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease, facts.Packages, facts.DynamicLoader},
	Kinds:    []string{"source-not-installed", "source-missing", "source-empty", "source-damaged"},
	Reads:    []string{"/etc/nsswitch.conf", "/usr/lib/x86_64-linux-gnu/libnss_files.so.2", "/usr/lib64/libnss_files.so.2", "/lib/x86_64-linux-gnu/libnss_files.so.2", "/usr/lib64/libc.so.6"},
	Run:      run,
}

const confPath = "/etc/nsswitch.conf"

// accountDBs are the databases logins need.
var accountDBs = map[string]bool{"passwd": true, "group": true, "shadow": true, "initgroups": true}

// localSources answer for the accounts in /etc.
var localSources = map[string]bool{"files": true, "compat": true, "altfiles": true}

// builtin are the sources compiled into libc since glibc 2.34.
var builtin = map[string]bool{"files": true, "dns": true}

type checker struct {
	pass   *checks.Pass
	file   *nsswitch.File
	data   []byte
	loader *ldso.Loader
	arch   ldso.Arch
	glibc  ldso.Version
	known  bool // whether the glibc version is known
	state  map[string]ldso.Result
}

func run(pass *checks.Pass) error {
	data, err := pass.Root.ReadFile(confPath)
	if errors.Is(err, fs.ErrNotExist) {
		pass.Note("there is no /etc/nsswitch.conf: glibc uses its built-in defaults (files first)")
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", confPath, err)
	}
	c := &checker{pass: pass, file: nsswitch.Parse(data), data: data, loader: pass.Facts.Loader(), state: map[string]ldso.Result{}}
	c.arch = c.loader.MainArch()
	c.glibc, c.known = c.loader.Glibc(c.arch)
	if !c.known {
		db, _ := pass.Facts.Packages()
		c.glibc, c.known = ldso.GlibcFromPackages(db)
	}
	if !c.known {
		pass.Note("the glibc version could not be read (no readable libc.so.6, no package database): files and dns are checked as if they were not built in")
	}

	// Each source once, in the order the file first names it. Only the
	// databases logins and networking need are looked at: stock
	// configurations name sources for the others (db, nis) whose
	// packages are rarely installed, and nothing breaks without them.
	var order []string
	for _, l := range c.file.Lines {
		if !important(l.Database) {
			continue
		}
		for _, s := range l.Sources {
			if !slices.Contains(order, s.Name) {
				order = append(order, s.Name)
			}
		}
	}
	for _, src := range order {
		if c.builtin(src) {
			continue
		}
		r := c.loader.Find(library(src), c.arch, nil)
		c.state[src] = r
	}
	for _, src := range order {
		if r, ok := c.state[src]; ok && r.State != ldso.OK {
			c.report(src, r)
		}
	}
	return nil
}

func important(db string) bool { return accountDBs[db] || db == "hosts" }

func library(src string) string { return "libnss_" + src + ".so.2" }

// builtin reports whether glibc has the source compiled in.
func (c *checker) builtin(src string) bool {
	return builtin[src] && c.known && c.glibc.AtLeast(2, 34)
}

// works reports whether a source can be used.
func (c *checker) works(src string) bool {
	if c.builtin(src) {
		return true
	}
	r, ok := c.state[src]
	return ok && r.State == ldso.OK
}

func (c *checker) report(src string, r ldso.Result) {
	lib := library(src)
	var dbs []string
	sev := checks.Info
	var lines []nsswitch.Line
	for _, l := range c.file.Lines {
		if !important(l.Database) || !l.Has(src) {
			continue
		}
		lines = append(lines, l)
		dbs = append(dbs, l.Database)
		lineSev := checks.Info
		switch {
		case accountDBs[l.Database] && localSources[src] && !c.localLeft(l, src):
			lineSev = checks.Error
		case important(l.Database):
			lineSev = checks.Warning
		}
		if lineSev < sev {
			sev = lineSev
		}
	}
	if r.State == ldso.Missing && sev != checks.Error {
		if pkgs := c.notInstalled(lib); pkgs != "" {
			// Stock nsswitch.conf files name sources whose packages
			// are optional (sss and myhostname on EL, systemd on
			// Fedora): glibc skips them, as on the distribution's own
			// images, and a working source comes first or after.
			c.pass.Report(checks.Finding{
				Kind: "source-not-installed", Subject: src, Severity: checks.Info, Path: confPath, Line: lines[0].N,
				Message:  fmt.Sprintf("%s names source %q on the %s line(s), and no installed package provides %s", confPath, src, strings.Join(dbs, ", "), lib),
				Impact:   "glibc skips the source, as on a fresh install of this distribution; the other sources on the line answer",
				Evidence: append(lineEvidence(lines), pkgs),
				NoFix:    "nothing is broken: the library was never installed, not deleted",
			})
			return
		}
	}
	what := "is missing"
	where := ldso.FileOf(c.pass.Root, r.Path)
	switch r.State {
	case ldso.Empty:
		what = "is an empty file"
	case ldso.Damaged:
		what = fmt.Sprintf("cannot be loaded (%v)", r.Err)
	default:
		db, _ := c.pass.Facts.Packages()
		where = c.loader.Expected(lib, c.arch, db)
	}
	f := checks.Finding{
		Kind: "source-" + r.State.String(), Subject: src, Severity: sev, Path: where,
		Message: fmt.Sprintf("%s, which the %s line(s) of %s name as source %q, %s", lib, strings.Join(dbs, ", "), confPath, src, what),
	}
	f.Evidence = lineEvidence(lines)
	if c.known {
		f.Evidence = append(f.Evidence, fmt.Sprintf("glibc %s (%s)", c.glibc, c.glibc.How))
	} else if builtin[src] {
		f.Evidence = append(f.Evidence, "the glibc version is unknown: from 2.34 on, "+src+" is built into libc and this library is not needed")
	}
	switch sev {
	case checks.Error:
		f.Impact = "glibc skips the source and no other source knows the local accounts: every user lookup fails (\"Login incorrect\", \"I have no name!\"), and services with User= fail"
	case checks.Warning:
		f.Impact = fmt.Sprintf("glibc skips the source: whatever only %s knows (its users, groups or host names) cannot be resolved", src)
	default:
		f.Impact = fmt.Sprintf("glibc skips the source for %s lookups", strings.Join(dbs, ", "))
	}
	restoreErr := restore.Add(c.pass, &f, where)
	f.AddFix(c.dropFix(src, lines))
	if len(f.Fixes) == 0 {
		f.NoFix = restoreErr.Error()
		if src == "files" {
			f.NoFix += "; the files source is never dropped"
		}
	}
	c.pass.Report(f)
}

func lineEvidence(lines []nsswitch.Line) []string {
	var ev []string
	for _, l := range lines {
		ev = append(ev, fmt.Sprintf("%s:%d: %s", confPath, l.N, l.Raw))
	}
	return ev
}

// notInstalled says, when the package database is readable and no
// installed package owns lib in any directory the loader searches, what
// the database was asked ("rpm database of 23 packages"); otherwise "".
// A library that a package owns and that is gone was deleted: that is a
// fault, reported as such.
func (c *checker) notInstalled(lib string) string {
	db, _ := c.pass.Facts.Packages()
	if db == nil {
		return ""
	}
	for _, d := range c.loader.SearchPath(c.arch) {
		if _, recs := ldso.Owned(db, c.pass.Root, d+"/"+lib); len(recs) > 0 {
			return ""
		}
	}
	return fmt.Sprintf("none of the %d packages in the %s database owns %s", len(db.Packages()), db.Kind(), lib)
}

// localLeft reports whether a line keeps a working source for local
// accounts without src.
func (c *checker) localLeft(l nsswitch.Line, src string) bool {
	for _, s := range l.Sources {
		if s.Name != src && localSources[s.Name] && c.works(s.Name) {
			return true
		}
	}
	return false
}

// dropFix plans removing src from the lines that keep another working
// source, and turning a lone compat into files.
func (c *checker) dropFix(src string, lines []nsswitch.Line) (repair.Fix, error) {
	if src == "files" {
		return repair.Fix{}, errNoDrop
	}
	all, nl := checks.Lines(c.data)
	var changed []string
	toFiles := false
	for _, l := range lines {
		others := 0
		for _, s := range l.Sources {
			if s.Name != src && c.works(s.Name) {
				others++
			}
		}
		switch {
		case others > 0:
			all[l.N-1] = l.Without(src)
		case src == "compat" && c.works("files"):
			all[l.N-1] = strings.Replace(l.Raw, "compat", "files", 1)
			toFiles = true
		default:
			continue
		}
		changed = append(changed, l.Database)
	}
	if len(changed) == 0 {
		return repair.Fix{}, errNoDrop
	}
	msg := fmt.Sprintf("Drop %s from the %s line(s) of %s (its library %s is gone; what only %s knows stops resolving until it is reinstalled)",
		src, strings.Join(changed, ", "), confPath, library(src), src)
	if toFiles {
		msg = fmt.Sprintf("Use files instead of compat on the %s line(s) of %s (libnss_compat.so.2 is gone; NIS +/- entries in /etc/passwd stop meaning anything)",
			strings.Join(changed, ", "), confPath)
	}
	return repair.NewFix(msg).Add(repair.WriteFile(c.pass.Root, confPath, checks.JoinLines(all, nl))).Build()
}

var errNoDrop = errors.New("no line keeps another working source")
