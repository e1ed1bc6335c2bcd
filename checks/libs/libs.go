package libs

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
)

// Check is the libs check.
var Check = &checks.Check{
	Name:     "libs",
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.DynamicLoader},
	Kinds:    []string{"missing", "empty", "damaged", "preload"},
	Reads:    []string{"/etc/ld.so.preload", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d/*", "/usr/bin/login", "/usr/sbin/sshd", "/usr/lib/openssh/sshd-session", "/usr/libexec/openssh/sshd-session", "/usr/lib/systemd/systemd", "/usr/bin/bash", "/usr/bin/su", "/usr/bin/sudo", "/usr/sbin/agetty", "/bin/login", "/sbin/sshd", "/lib/systemd/systemd", "/bin/bash", "/bin/su", "/sbin/agetty"},
	Run:      run,
}

// program is one program boot or login runs.
type program struct {
	name  string
	paths []string
	boot  bool // needed to boot (PID 1)
}

var programs = []program{
	{"systemd", []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd"}, true},
	{"bash", []string{"/usr/bin/bash", "/bin/bash"}, false},
	{"login", []string{"/usr/bin/login", "/bin/login"}, false},
	{"agetty", []string{"/usr/sbin/agetty", "/sbin/agetty"}, false},
	{"sshd", []string{"/usr/sbin/sshd", "/sbin/sshd"}, false},
	// OpenSSH 9.8 and later run each connection in sshd-session.
	{"sshd-session", []string{"/usr/libexec/openssh/sshd-session", "/usr/lib/openssh/sshd-session", "/usr/libexec/sshd-session"}, false},
	{"su", []string{"/usr/bin/su", "/bin/su"}, false},
	{"sudo", []string{"/usr/bin/sudo"}, false},
}

// broken is one library that cannot be loaded, with who needs it.
type broken struct {
	dep      ldso.Dep
	programs []string // the programs (paths) that need it
	boot     bool
	loader   bool // it is a program's PT_INTERP
}

func run(pass *checks.Pass) error {
	l := pass.Facts.Loader()
	for _, err := range l.Problems {
		pass.Note("ld.so.conf: %v", err)
	}
	var found []*broken
	byName := map[string]*broken{}
	seen := map[string]bool{}
	for _, p := range programs {
		path := ""
		for _, c := range p.paths {
			if fi, err := pass.Root.Stat(c); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
				path = c
				break
			}
		}
		if path == "" {
			continue
		}
		real, err := pass.Root.Resolve(path)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		prog, deps, err := l.Closure(path)
		if errors.Is(err, ldso.ErrNotELF) {
			continue
		}
		if err != nil {
			pass.Note("%s: %v", path, err)
			continue
		}
		for _, d := range deps {
			if d.State == ldso.OK {
				continue
			}
			// One finding per file: the loader is reached both as
			// PT_INTERP (/lib64/ld-linux-x86-64.so.2) and as libc's
			// DT_NEEDED (ld-linux-x86-64.so.2).
			key := d.Name
			if d.Path != "" {
				key = d.Path
				if r, err := pass.Root.Resolve(d.Path); err == nil {
					key = r
				}
			}
			b := byName[key]
			if b == nil {
				b = &broken{dep: d, loader: d.Name == prog.Interp}
				byName[key] = b
				found = append(found, b)
			} else {
				for _, n := range d.NeededBy {
					if !slices.Contains(b.dep.NeededBy, n) {
						b.dep.NeededBy = append(b.dep.NeededBy, n)
					}
				}
			}
			if !slices.Contains(b.programs, path) {
				b.programs = append(b.programs, path)
			}
			b.boot = b.boot || p.boot
			b.loader = b.loader || d.Name == prog.Interp
		}
	}
	arch := l.MainArch()
	for _, b := range found {
		report(pass, l, b, arch)
	}
	preload(pass, l, arch)
	return nil
}

func report(pass *checks.Pass, l *ldso.Loader, b *broken, arch ldso.Arch) {
	d := b.dep
	where := ldso.FileOf(pass.Root, d.Path)
	if d.Path == "" {
		db, _ := pass.Facts.Packages()
		where = l.Expected(d.Name, arch, db)
	}
	var what string
	switch d.State {
	case ldso.Missing:
		what = "is missing"
		if len(d.Searched) > 0 {
			what = fmt.Sprintf("is in none of %s", strings.Join(d.Searched, ", "))
		}
	case ldso.Empty:
		what = fmt.Sprintf("is an empty file (%s)", d.Path)
	default:
		what = fmt.Sprintf("cannot be loaded: %s: %v", d.Path, d.Err)
	}
	name := d.Name
	subject := name[strings.LastIndexByte(name, '/')+1:]
	kindWhat := "library"
	if b.loader {
		kindWhat = "dynamic loader"
	}
	f := checks.Finding{
		Kind: d.State.String(), Subject: subject, Severity: checks.Error, Path: where,
		Message:  fmt.Sprintf("the %s %s, which %s need(s), %s", kindWhat, name, strings.Join(b.programs, ", "), what),
		Evidence: []string{"named by " + strings.Join(d.NeededBy, ", ")},
	}
	short := make([]string, len(b.programs))
	for i, p := range b.programs {
		short[i] = p[strings.LastIndexByte(p, '/')+1:]
	}
	switch {
	case b.boot:
		f.Severity = checks.Critical
		f.Impact = "systemd cannot start as PID 1: the kernel panics at boot (\"Attempted to kill init!\")"
	case b.loader:
		f.Impact = fmt.Sprintf("no dynamically linked program runs: %s fail(s) to start, so no one can log in", strings.Join(short, ", "))
	default:
		f.Impact = fmt.Sprintf("%s fail(s) to start (\"error while loading shared libraries\"), so logins through them fail", strings.Join(short, ", "))
	}
	if d.State == ldso.Empty {
		f.Impact += "; an empty file fails with \"file too short\" even when a good copy is in a later directory"
	}
	restore.Offer(pass, &f, where)
	pass.Report(f)
}

const preloadPath = "/etc/ld.so.preload"

// preload reports /etc/ld.so.preload entries ld.so cannot load.
func preload(pass *checks.Pass, l *ldso.Loader, arch ldso.Arch) {
	data, err := pass.Root.ReadFileLimit(preloadPath, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		pass.Note("%s cannot be read: %v", preloadPath, err)
		return
	}
	lines, _ := checks.Lines(data)
	for i, line := range lines {
		body := line
		if j := strings.IndexByte(body, '#'); j >= 0 {
			body = body[:j]
		}
		entries := strings.FieldsFunc(body, func(r rune) bool { return r == ' ' || r == '\t' || r == ':' || r == '\r' })
		var bad, good []string
		var states []string
		for _, e := range entries {
			r := l.Find(e, arch, nil)
			if r.State == ldso.OK {
				good = append(good, e)
				continue
			}
			bad = append(bad, e)
			states = append(states, fmt.Sprintf("%s %s", e, describe(r)))
		}
		if len(bad) == 0 {
			continue
		}
		n := i + 1
		f := checks.Finding{
			Kind: "preload", Subject: fmt.Sprint(n), Severity: checks.Warning, Path: preloadPath, Line: n,
			Message:  fmt.Sprintf("%s names %s", preloadPath, strings.Join(states, ", ")),
			Impact:   "ld.so skips it, but every program prints \"ERROR: ld.so: object ... cannot be preloaded\" on stderr, which breaks scripts that read it; a preloaded library nobody installed is also worth a look",
			Evidence: []string{line},
		}
		why := "library not found"
		if len(good) == 0 {
			f.AddFix(checks.CommentOut(pass.Root, preloadPath, data, n, why,
				fmt.Sprintf("Comment out %s in %s", strings.Join(bad, ", "), preloadPath)))
		} else {
			text := checks.Marker + ": " + why + ": " + line + "\n" + strings.Join(good, " ")
			f.AddFix(checks.ReplaceLine(pass.Root, preloadPath, data, n, text,
				fmt.Sprintf("Comment out %s in %s, keeping %s", strings.Join(bad, ", "), preloadPath, strings.Join(good, ", "))))
		}
		pass.Report(f)
	}
}

func describe(r ldso.Result) string {
	switch r.State {
	case ldso.Missing:
		return "(missing)"
	case ldso.Empty:
		return "(an empty file)"
	}
	return fmt.Sprintf("(%v)", r.Err)
}
