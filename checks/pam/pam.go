package pam

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/facts"
	"rescue/facts/ldso"
	"rescue/facts/pamstack"
	"rescue/parse/pamconf"
	"rescue/repair"
	"rescue/sysroot"
)

// Check is the pam check.
var Check = &checks.Check{
	Name:     "pam",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease, facts.Packages, facts.DynamicLoader, facts.PAMStacks},
	Kinds:    []string{"missing", "unreadable", "empty", "malformed", "include-missing", "include-cycle", "include-too-large", "module-missing", "module-empty", "module-damaged", "module-library", "root-lockout", "securetty-unsafe", "securetty-empty", "securetty-crlf"},
	Reads:    []string{"/etc/pam.conf", "/etc/securetty", "/usr/lib/x86_64-linux-gnu/security/*", "/lib/x86_64-linux-gnu/security/*", "/usr/lib64/security/*", "/lib64/security/*", "/lib/security/*"},
	Run:      run,
}

// programs whose PAM service matters, by service.
var programs = map[string][]string{
	"login": {"/usr/bin/login", "/bin/login"},
	"sshd":  {"/usr/sbin/sshd", "/sbin/sshd"},
}

type checker struct {
	pass *checks.Pass
	pam  *pamstack.Config
	// judged are the stacks the check looked at, in the order it did:
	// the include loops and the work bound they met are reported.
	judged []*pamstack.Stack
	reach  map[string]bool // files read by login or sshd
	loader *ldso.Loader
	arch   ldso.Arch
	secDir []string // existing security directories
}

// use is one line that names a module.
type use struct {
	file  *pamstack.File
	line  pamconf.Line
	reach bool
}

func run(pass *checks.Pass) error {
	r := pass.Root
	if fi, err := r.Stat("/etc/pam.d"); err != nil || !fi.IsDir() {
		if r.Exists("/etc/pam.conf") {
			pass.Note("the target uses /etc/pam.conf, which this check does not read")
		} else {
			pass.Note("the target has no /etc/pam.d: PAM is not installed, nothing to check")
		}
		return nil
	}
	c := &checker{pass: pass, pam: pass.Facts.PAMStacks(), loader: pass.Facts.Loader()}
	c.arch = c.loader.MainArch()
	c.secDir = securityDirs(r, c.arch)
	c.reach = c.reachable()

	entries, err := r.ReadDir("/etc/pam.d")
	if err != nil {
		return fmt.Errorf("reading /etc/pam.d: %w", err)
	}
	var files []*pamstack.File
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || pamstack.IsBackup(e.Name()) || e.IsDir() {
			continue
		}
		files = append(files, c.pam.File(path.Join("/etc/pam.d", e.Name())))
	}
	// Files outside /etc/pam.d that login or sshd read (/usr/lib/pam.d).
	var extra []string
	for p := range c.reach {
		if !strings.HasPrefix(p, "/etc/pam.d/") {
			extra = append(extra, p)
		}
	}
	slices.Sort(extra)
	for _, p := range extra {
		files = append(files, c.pam.File(p))
	}

	c.missingLogin()
	includes := map[string][]string{} // missing target -> where included
	includeReach := map[string]bool{}
	modules := map[string][]use{}
	var moduleOrder []string
	for _, f := range files {
		c.fileLevel(f)
		for _, l := range f.Conf.Lines {
			where := fmt.Sprintf("%s:%d", f.Path, l.N)
			if l.IsInclude() {
				t := c.pam.Service(l.Target())
				if !t.Exists {
					if _, ok := includes[t.Path]; !ok {
						includes[t.Path] = nil
					}
					includes[t.Path] = append(includes[t.Path], where)
					includeReach[t.Path] = includeReach[t.Path] || c.reach[f.Path]
				}
				continue
			}
			if l.Err != nil || l.Silent || l.Module == "" {
				continue
			}
			key := l.Module
			if _, ok := modules[key]; !ok {
				moduleOrder = append(moduleOrder, key)
			}
			modules[key] = append(modules[key], use{file: f, line: l, reach: c.reach[f.Path]})
		}
	}
	var targets []string
	for t := range includes {
		targets = append(targets, t)
	}
	slices.Sort(targets)
	for _, t := range targets {
		c.includeMissing(t, includes[t], includeReach[t])
	}
	for _, m := range moduleOrder {
		c.module(m, modules[m])
	}
	c.rootLockout()
	c.securetty()
	c.includeLoops()
	return nil
}

// includeLoops reports the include lines that close a loop, and stacks
// too large to take in whole, in the stacks the check judged.
func (c *checker) includeLoops() {
	cycles := map[string]pamstack.Cycle{}
	var keys []string
	tooLarge := false
	for _, st := range c.judged {
		tooLarge = tooLarge || st.TooLarge
		for _, cy := range st.Cycles {
			k := fmt.Sprintf("%s:%d", cy.File.Path, cy.Line.N)
			if _, ok := cycles[k]; !ok {
				cycles[k] = cy
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		x, y := cycles[a], cycles[b]
		if x.File.Path != y.File.Path {
			return strings.Compare(x.File.Path, y.File.Path)
		}
		return x.Line.N - y.Line.N
	})
	for _, k := range keys {
		cy := cycles[k]
		file, line := cy.File.Path, cy.Line.N
		loop := append(slices.Clone(cy.Chain), cy.Chain[0])
		fnd := checks.Finding{
			Kind: "include-cycle", Subject: fmt.Sprint(line), Severity: c.severity(c.reach[file]), Path: file, Line: line,
			Message:  fmt.Sprintf("line %d of %s closes an include loop (%s)", line, file, strings.Join(loop, " -> ")),
			Impact:   "libpam follows the loop to its limit of 16 levels (\"maximum level of inclusions reached\") and installs a handler that always fails: the stack fails for everyone",
			Evidence: []string{cy.Line.Raw},
		}
		// Dropping the line could let in whoever the failing handler
		// keeps out now: only the file as its package or a backup has it
		// is offered.
		c.restoreConfig(&fnd, file, true)
		c.pass.Report(fnd)
	}
	if tooLarge {
		c.pass.Report(checks.Finding{
			Kind: "include-too-large", Severity: checks.Warning, Path: "/etc/pam.d",
			Message: fmt.Sprintf("the PAM includes of a stack expand to more than %d lines; rescue checked only those", pamstack.MaxWork),
			Impact:  "libpam loads every one of those lines for each login: logins become very slow or fail when it runs out of memory",
			NoFix:   "the include structure needs a decision by hand",
		})
	}
}

// installed reports whether the program behind a service is on the target.
func (c *checker) installed(service string) bool {
	for _, p := range programs[service] {
		if fi, err := c.pass.Root.Stat(p); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// loginServices are the services whose failure locks people out.
var loginServices = []string{"login", "sshd"}

// reachable returns the files the stacks of the installed login services
// read.
func (c *checker) reachable() map[string]bool {
	visited := map[string]bool{}
	for _, s := range loginServices {
		if !c.installed(s) {
			continue
		}
		for _, t := range pamconf.Types {
			for _, p := range c.stack(s, t).Files {
				visited[p] = true
			}
		}
	}
	return visited
}

// stack returns a stack the check judges.
func (c *checker) stack(service, typ string) *pamstack.Stack {
	st := c.pam.Stack(service, typ)
	c.judged = append(c.judged, st)
	return st
}

// otherDenies reports whether "other" refuses authentication
// (pamstack.Config.OtherDenies). Its auth stack is judged for it: its
// loops are reported like those of login's and sshd's stacks.
func (c *checker) otherDenies() bool {
	if c.pam.Service("other").Usable() {
		c.stack("other", "auth")
	}
	return c.pam.OtherDenies()
}

func (c *checker) severity(reach bool) checks.Severity {
	if reach {
		return checks.Error
	}
	return checks.Warning
}

// fileLevel reports an empty or unreadable file and its malformed lines.
func (c *checker) fileLevel(f *pamstack.File) {
	reach := c.reach[f.Path]
	service := path.Base(f.Path)
	switch {
	case f.Err != nil:
		c.pass.Report(checks.Finding{
			Kind: "unreadable", Severity: c.severity(reach), Path: f.Path,
			Message: fmt.Sprintf("%s cannot be read: %v", f.Path, f.Err),
			Impact:  "libpam cannot read it either; every program using it falls back to /etc/pam.d/other",
			NoFix:   "look at the file by hand",
		})
		return
	case f.Empty():
		fnd := checks.Finding{
			Kind: "empty", Severity: c.severity(reach), Path: f.Path,
			Message: fmt.Sprintf("%s has no configuration line (%d bytes)", f.Path, len(f.Data)),
			Impact:  fmt.Sprintf("libpam finds no module for %s and falls back to /etc/pam.d/other", service),
		}
		if c.otherDenies() {
			fnd.Impact = fmt.Sprintf("libpam finds no module for %s and falls back to /etc/pam.d/other, which refuses everyone", service)
		}
		if !isService(service) {
			fnd.Impact = "every stack that includes it loses those lines; when nothing else is left, libpam falls back to /etc/pam.d/other"
		}
		c.restoreConfig(&fnd, f.Path, true)
		c.pass.Report(fnd)
		return
	}
	for _, l := range f.Conf.Lines {
		if l.Err == nil {
			continue
		}
		fnd := checks.Finding{
			Kind: "malformed", Subject: fmt.Sprint(l.N), Severity: c.severity(reach), Path: f.Path, Line: l.N,
			Message:  fmt.Sprintf("line %d of %s cannot be read: %v", l.N, f.Path, l.Err),
			Impact:   "libpam installs the line as a handler that always fails: the stack of its type fails for everyone",
			Evidence: []string{l.Raw},
		}
		if l.Type == "password" {
			fnd.Severity = checks.Warning
			fnd.Impact = "libpam installs the line as a handler that always fails: no one can change a password (and an expired one cannot be renewed at login)"
		}
		if err := restore.Add(c.pass, &fnd, f.Path); err != nil {
			fnd.NoFix = err.Error() + "; or correct the line by hand"
		}
		c.pass.Report(fnd)
	}
}

// isService reports whether a file name is one programs open as a service
// rather than one only included (a guess from the common names).
func isService(name string) bool {
	switch {
	case strings.HasPrefix(name, "common-"), strings.HasSuffix(name, "-auth"), name == "postlogin", name == "system-account", name == "system-session", name == "system-password":
		return false
	}
	return true
}

// missingLogin reports /etc/pam.d/login missing while login is installed.
func (c *checker) missingLogin() {
	if !c.installed("login") {
		return
	}
	f := c.pam.Service("login")
	if f.Exists {
		return
	}
	fnd := checks.Finding{
		Kind: "missing", Severity: checks.Warning, Path: f.Path,
		Message: "/etc/pam.d/login does not exist, but login is installed",
		Impact:  "console logins use /etc/pam.d/other instead, without login's own rules (securetty, limits, lastlog)",
	}
	if c.otherDenies() {
		fnd.Severity = checks.Error
		fnd.Impact = "console logins use /etc/pam.d/other instead, which refuses everyone: \"Login incorrect\" on every console"
	}
	c.restoreConfig(&fnd, f.Path, false)
	c.pass.Report(fnd)
}

func (c *checker) includeMissing(target string, from []string, reach bool) {
	fnd := checks.Finding{
		Kind: "include-missing", Severity: c.severity(reach), Path: target,
		Message:  fmt.Sprintf("%s does not exist, but %s include(s) it", target, strings.Join(from, ", ")),
		Impact:   "libpam turns the include into a handler that always fails: every stack that includes it fails",
		Evidence: from,
	}
	c.restoreConfig(&fnd, target, false)
	c.pass.Report(fnd)
}

// restoreConfig offers restoring a configuration file from its package,
// then from a same-named backup that parses cleanly.
func (c *checker) restoreConfig(f *checks.Finding, target string, exists bool) {
	pkgErr := restore.Add(c.pass, f, target)
	b, data := c.findBackup(target)
	if b != "" {
		var op repair.Op
		var err error
		if exists {
			op, err = repair.WriteFile(c.pass.Root, target, data)
		} else {
			op, err = repair.CreateFile(c.pass.Root, target, data, 0o644, 0, 0)
		}
		f.AddFix(repair.NewFix(fmt.Sprintf("Restore %s from %s", target, b)).Add(op, err).Build())
	}
	if len(f.Fixes) == 0 && f.NoFix == "" {
		f.NoFix = fmt.Sprintf("%v; and no backup of it (%s.rpmsave, %s.dpkg-old, ...) parses", pkgErr, path.Base(target), path.Base(target))
	}
}

// findBackup returns the first backup of target that has configuration
// lines and no malformed one.
func (c *checker) findBackup(target string) (string, []byte) {
	for _, s := range pamstack.BackupSuffixes {
		b := target + s
		data, err := c.pass.Root.ReadFileLimit(b, 4<<20)
		if err != nil {
			continue
		}
		conf := pamconf.Parse(data)
		if conf.Empty() {
			continue
		}
		ok := true
		for _, l := range conf.Lines {
			ok = ok && l.Err == nil
		}
		if ok {
			return b, data
		}
	}
	return "", nil
}

// securityDirs are the directories libpam may load relative module names
// from, most specific first, that exist in the target (deduplicated
// through their symlinks).
func securityDirs(r *sysroot.Root, a ldso.Arch) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range securityCandidates(a) {
		real, err := r.Resolve(d)
		if err != nil || seen[real] {
			continue
		}
		if fi, err := r.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		seen[real] = true
		out = append(out, d)
	}
	return out
}

// securityCandidates are the directories libpam of some distribution loads
// relative module names from, for arch: the multiarch ones (Debian), then
// lib64 or lib, under / and /usr.
func securityCandidates(a ldso.Arch) []string {
	var cands []string
	if a.Triplet != "" {
		cands = append(cands, "/lib/"+a.Triplet+"/security", "/usr/lib/"+a.Triplet+"/security")
	}
	return append(cands, "/"+a.LibDir+"/security", "/usr/"+a.LibDir+"/security", "/lib/security", "/usr/lib/security")
}

// modulePath returns where a module named on a line is, and what the
// loader makes of it. A missing relative module is placed in the directory
// that holds pam_unix.so (or the first security directory).
func (c *checker) modulePath(module string) ldso.Result {
	module = strings.ReplaceAll(module, "$ISA", ".")
	if strings.HasPrefix(module, "/") {
		return c.loader.Find(path.Clean(module), c.arch, nil)
	}
	for _, d := range c.secDir {
		if r := c.loader.Find(path.Join(d, module), c.arch, nil); r.State != ldso.Missing {
			return r
		}
	}
	// Where the package database puts it, when a package owns it (the
	// directory itself may be gone).
	if db, _ := c.pass.Facts.Packages(); db != nil {
		for _, d := range securityCandidates(c.arch) {
			if p, recs := ldso.Owned(db, c.pass.Root, path.Join(d, module)); len(recs) > 0 {
				return ldso.Result{Name: module, State: ldso.Missing, Path: p}
			}
		}
	}
	dir := ""
	for _, d := range c.secDir {
		if c.pass.Root.Exists(path.Join(d, "pam_unix.so")) {
			dir = d
			break
		}
	}
	if dir == "" && len(c.secDir) > 0 {
		dir = c.secDir[0]
	}
	if dir == "" {
		dir = "/usr/" + c.arch.LibDir + "/security"
		if c.pass.Facts.OS().Family == "debian" && c.arch.Triplet != "" {
			dir = "/lib/" + c.arch.Triplet + "/security"
		}
	}
	return ldso.Result{Name: module, State: ldso.Missing, Path: path.Join(dir, module)}
}

// module reports a module that cannot be loaded, or whose libraries are
// missing.
func (c *checker) module(module string, uses []use) {
	r := c.modulePath(module)
	reach, critical := false, false
	var evidence []string
	for _, u := range uses {
		evidence = append(evidence, fmt.Sprintf("%s:%d: %s", u.file.Path, u.line.N, u.line.Raw))
		if u.reach {
			reach = true
			// A module that fails in the password stack only breaks
			// password changes; elsewhere it matters when its failure
			// ends the stack, or when it is pam_unix, which every stack
			// relies on to let users in.
			if u.line.Type != "password" && (fatal(u.line.Control) || pamconf.ModuleName(module) == "pam_unix.so") {
				critical = true
			}
		}
	}
	sev := checks.Warning
	if reach && critical {
		sev = checks.Error
	}
	name := pamconf.ModuleName(module)
	impact := fmt.Sprintf("libpam cannot load %s, so every line naming it fails; with it, the logins that go through those stacks fail (\"Login incorrect\")", name)
	switch r.State {
	case ldso.OK:
		c.moduleDeps(module, r.Path, sev, evidence)
		return
	case ldso.Missing:
		dirs := c.dirsFor(module)
		if d := path.Dir(r.Path); !strings.HasPrefix(module, "/") && !slices.Contains(c.secDir, d) {
			// Where its package puts it, though the directory is gone.
			dirs = append([]string{d}, c.secDir...)
		}
		f := checks.Finding{
			Kind: "module-missing", Subject: name, Severity: sev, Path: r.Path,
			Message:  fmt.Sprintf("the PAM module %s is not in %s", module, strings.Join(dirs, " or ")),
			Impact:   impact,
			Evidence: evidence,
		}
		restore.Offer(c.pass, &f, r.Path)
		if len(f.Fixes) == 0 {
			c.leftover(&f, module, uses)
		}
		c.pass.Report(f)
	case ldso.Empty, ldso.Damaged:
		r.Path = ldso.FileOf(c.pass.Root, r.Path)
		what := "is an empty file"
		if r.State == ldso.Damaged {
			what = fmt.Sprintf("cannot be loaded (%v)", r.Err)
		}
		f := checks.Finding{
			Kind: "module-" + r.State.String(), Subject: name, Severity: sev, Path: r.Path,
			Message:  fmt.Sprintf("the PAM module %s %s", r.Path, what),
			Impact:   impact,
			Evidence: evidence,
		}
		restore.Offer(c.pass, &f, r.Path)
		c.pass.Report(f)
	}
}

func (c *checker) dirsFor(module string) []string {
	if strings.HasPrefix(module, "/") {
		return []string{path.Dir(module)}
	}
	if len(c.secDir) == 0 {
		return []string{"any security directory (none exists)"}
	}
	return c.secDir
}

// moduleDeps reports the shared libraries a loadable module needs that
// are missing or damaged: dlopen fails for it all the same.
func (c *checker) moduleDeps(module, p string, sev checks.Severity, evidence []string) {
	_, deps, err := c.loader.Closure(p)
	if err != nil {
		return
	}
	for _, d := range deps {
		if d.State == ldso.OK {
			continue
		}
		where := ldso.FileOf(c.pass.Root, d.Path)
		if d.Path == "" {
			where = c.libPath(d.Name)
		}
		f := checks.Finding{
			Kind: "module-library", Subject: pamconf.ModuleName(module) + ":" + d.Name, Severity: sev, Path: where,
			Message:  fmt.Sprintf("the PAM module %s needs %s, which is %s", p, d.Name, d.State),
			Impact:   fmt.Sprintf("dlopen of %s fails, so every line naming it fails", pamconf.ModuleName(module)),
			Evidence: append([]string{"needed by " + strings.Join(d.NeededBy, ", ")}, evidence...),
		}
		restore.Offer(c.pass, &f, where)
		c.pass.Report(f)
	}
}

// libPath is where a missing library belongs.
func (c *checker) libPath(name string) string {
	db, _ := c.pass.Facts.Packages()
	return c.loader.Expected(name, c.arch, db)
}

// rootLockout reports lines of login's and sshd's auth and account stacks
// that refuse root before anything could let it in.
func (c *checker) rootLockout() {
	done := map[string]bool{}
	for _, s := range loginServices {
		if !c.installed(s) {
			continue
		}
		for _, t := range []string{"auth", "account"} {
			st := c.stack(s, t).Entries
			// passed holds the scopes a sufficient module may already
			// have ended with success for root: lines after it in the
			// same scope may never run.
			var passed []string
			for _, e := range st {
				if pamstack.Within(e.Scope, passed) {
					continue
				}
				if pamstack.LetsThrough(e.Line.Control) {
					passed = append(passed, e.Scope)
					continue
				}
				if e.Line.Err != nil || !fatal(e.Line.Control) {
					continue
				}
				how, denies := deniesRoot(c.pass.Root, e.Line)
				if !denies {
					continue
				}
				key := fmt.Sprintf("%s:%d", e.File.Path, e.Line.N)
				if done[key] {
					continue
				}
				done[key] = true
				c.reportLockout(e, s, how)
			}
		}
	}
}

func (c *checker) reportLockout(e pamstack.Entry, service, how string) {
	l := e.Line
	mod := pamconf.ModuleName(l.Module)
	f := checks.Finding{
		Kind: "root-lockout", Subject: fmt.Sprint(l.N), Severity: checks.Error, Path: e.File.Path, Line: l.N,
		Message:  fmt.Sprintf("%s %s %s refuses root (%s) in the %s stack of %s", l.Type, l.Control, mod, how, l.Type, service),
		Impact:   fmt.Sprintf("root cannot log in through %s, whatever the password", service),
		Evidence: []string{l.Raw},
	}
	if l.N != l.Last {
		f.NoFix = "the line continues over several lines; comment it out by hand"
	} else {
		f.AddFix(checks.CommentOut(c.pass.Root, e.File.Path, e.File.Data, l.N, "refuses root",
			fmt.Sprintf("Comment out the %s line that refuses root (this removes an authentication rule: %s %s)", l.Type, mod, strings.Join(l.Args, " "))))
	}
	c.pass.Report(f)
}
