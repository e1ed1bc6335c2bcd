package zerosize

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/facts"
	"rescue/facts/ldso"
	"rescue/pkgdb"
	"rescue/sysroot"
)

// Check is the zerosize check.
var Check = &checks.Check{
	Name:     "zerosize",
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.DynamicLoader},
	Kinds:    []string{"empty"},
	Reads:    []string{"/etc/...", "/usr/bin/...", "/usr/sbin/...", "/usr/libexec/...", "/usr/lib/...", "/usr/lib64/...", "/bin/...", "/sbin/...", "/lib/...", "/lib64/..."},
	Run:      run,
}

// area is a directory tree walked, and how its empty files are judged.
type area int

const (
	programs  area = iota + 1 // every regular file is a program
	libraries                 // shared objects and executables
	config                    // /etc
)

var roots = []struct {
	dir  string
	area area
}{
	{"/bin", programs}, {"/sbin", programs}, {"/usr/bin", programs}, {"/usr/sbin", programs},
	{"/usr/libexec", programs},
	{"/lib", libraries}, {"/lib64", libraries}, {"/usr/lib", libraries}, {"/usr/lib64", libraries},
	{"/etc", config},
}

// ownedElsewhere are /etc files other checks examine with better fixes.
var ownedElsewhere = map[string]bool{
	"/etc/passwd": true, "/etc/shadow": true, "/etc/group": true, "/etc/gshadow": true,
	"/etc/passwd-": true, "/etc/shadow-": true, "/etc/group-": true, "/etc/gshadow-": true,
	"/etc/nsswitch.conf": true, "/etc/securetty": true, "/etc/ld.so.preload": true, "/etc/fstab": true,
}

// knownEmpty are /etc files that are empty on purpose on common systems.
var knownEmpty = map[string]bool{
	"/etc/machine-id": true, "/etc/subuid": true, "/etc/subgid": true, "/etc/environment": true,
	"/etc/motd": true, "/etc/exports": true, "/etc/resolv.conf": true, "/etc/hostname": true,
	"/etc/security/opasswd": true, "/etc/crypttab": true, "/etc/printcap": true, "/etc/cron.deny": true,
	"/etc/at.deny": true, "/etc/hosts.allow": true, "/etc/hosts.deny": true, "/etc/mtab": true,
	"/etc/adjtime": true, "/etc/locale.conf": true, "/etc/vconsole.conf": true,
}

// knownEmptyDirs hold files that are empty on purpose (local overrides,
// SELinux local customizations, legacy certificate bundles).
var knownEmptyDirs = []string{"/etc/apparmor.d/local/", "/etc/selinux/", "/etc/pki/", "/etc/skel/", "/etc/pam.d/"}

// neverEmpty are /etc files that always have content.
var neverEmpty = map[string]bool{
	"/etc/sudoers": true, "/etc/login.defs": true, "/etc/ssh/sshd_config": true, "/etc/os-release": true,
	"/etc/hosts": true, "/etc/profile": true, "/etc/bashrc": true, "/etc/bash.bashrc": true,
	"/etc/selinux/config": true, "/etc/default/grub": true, "/etc/shells": true, "/etc/services": true,
	"/etc/protocols": true, "/etc/ld.so.conf": true, "/etc/security/limits.conf": true,
	"/etc/systemd/system.conf": true, "/etc/inittab": true, "/etc/sysconfig/network": true,
	"/etc/default/useradd": true, "/etc/crontab": true,
}

// Empty-content digests, as package databases record them.
var emptyDigests = map[string]bool{
	"d41d8cd98f00b204e9800998ecf8427e":                                 true, // md5
	"da39a3ee5e6b4b0d3255bfef95601890afd80709":                         true, // sha1
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": true, // sha256
}

type checker struct {
	pass     *checks.Pass
	db       pkgdb.DB
	critical map[string]string // resolved path -> why it is critical
	login    map[string]string // resolved path -> why it matters for login
}

func run(pass *checks.Pass) error {
	db, err := pass.Facts.Packages()
	if err != nil {
		pass.Note("the package database could not be read (%v): empty files in /etc are judged without it", err)
	}
	c := &checker{pass: pass, db: db, critical: map[string]string{}, login: map[string]string{}}
	c.classify()
	// Each root is walked in parallel (the walk of /usr is one fstatat
	// per file, which spreads over cores), its empty files collected, and
	// then judged in the order a sequential walk would meet them, so the
	// findings come out the same on every run.
	type emptyFile struct {
		name string
		fi   fs.FileInfo
		area area
	}
	var (
		mu    sync.Mutex
		found []emptyFile
	)
	walked := map[string]bool{}
	for _, r := range roots {
		start, err := pass.Root.Resolve(r.dir)
		if err != nil {
			continue
		}
		if fi, err := pass.Root.Stat(start); err != nil || !fi.IsDir() || walked[start] {
			continue
		}
		walked[start] = true
		found = found[:0]
		err = pass.Root.WalkParallel(start, 0, func(name string, fi fs.FileInfo, err error) error {
			if err != nil {
				// An unreadable directory is not this check's finding.
				if fi != nil && fi.IsDir() {
					return sysroot.SkipDir
				}
				return nil
			}
			if fi.IsDir() {
				// A directory another root covers is walked there (the
				// Debian /usr/lib/x86_64-linux-gnu under /usr/lib is
				// not a separate root, so nothing is skipped twice).
				if name != start && walked[name] {
					return sysroot.SkipDir
				}
				return nil
			}
			if fi.Size() != 0 || !fi.Mode().IsRegular() {
				return nil
			}
			mu.Lock()
			found = append(found, emptyFile{name, fi, r.area})
			mu.Unlock()
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			pass.Note("walking %s: %v", r.dir, err)
		}
		slices.SortFunc(found, func(a, b emptyFile) int { return walkOrder(a.name, b.name) })
		for _, e := range found {
			c.empty(e.name, e.fi, e.area)
		}
	}
	return nil
}

// walkOrder compares paths component by component, the order of a
// depth-first walk in lexical order ("/a/b" before "/a-c").
func walkOrder(a, b string) int {
	return strings.Compare(strings.ReplaceAll(a, "/", "\x00"), strings.ReplaceAll(b, "/", "\x00"))
}

// classify marks the programs and libraries boot and login need, from the
// loader's view of systemd and the login programs.
func (c *checker) classify() {
	l := c.pass.Facts.Loader()
	mark := func(m map[string]string, p, why string) {
		if r, err := c.pass.Root.Resolve(p); err == nil {
			if _, ok := m[r]; !ok {
				m[r] = why
			}
		}
	}
	// libc and the loader are needed by every dynamically linked program,
	// whatever can be read of the programs' own headers (an empty bash
	// names no libraries).
	hasSystemd := false
	for _, p := range []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd"} {
		hasSystemd = hasSystemd || c.pass.Root.Exists(p)
	}
	arch := l.MainArch()
	for _, n := range []string{"libc.so.6", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "ld64.so.1", "ld64.so.2", "ld-linux.so.2", "ld-linux-armhf.so.3"} {
		for _, d := range l.SearchPath(arch) {
			p := path.Join(d, n)
			if hasSystemd {
				mark(c.critical, p, "every program needs it, systemd (PID 1) first: the kernel panics at boot")
			} else {
				mark(c.login, p, "every dynamically linked program needs it: nothing runs, no one logs in")
			}
		}
	}
	for _, p := range []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/sbin/init"} {
		mark(c.critical, p, "systemd (PID 1): the kernel panics at boot")
		if _, deps, err := l.Closure(p); err == nil {
			for _, d := range deps {
				if d.Path != "" {
					mark(c.critical, d.Path, "systemd needs it: the kernel panics at boot")
				}
			}
		}
	}
	for _, p := range []string{
		"/usr/bin/bash", "/bin/bash", "/usr/bin/sh", "/bin/sh", "/usr/bin/dash", "/bin/dash",
		"/usr/bin/login", "/bin/login", "/usr/sbin/agetty", "/sbin/agetty", "/usr/sbin/sshd",
		"/usr/bin/su", "/bin/su", "/usr/bin/sudo", "/usr/sbin/unix_chkpwd", "/sbin/unix_chkpwd",
	} {
		base := path.Base(p)
		mark(c.login, p, base+" is on the login path: no one logs in")
		if _, deps, err := l.Closure(p); err == nil {
			for _, d := range deps {
				if d.Path != "" {
					mark(c.login, d.Path, base+" needs it: no one logs in")
				}
			}
		}
	}
}

// empty judges one empty regular file.
func (c *checker) empty(name string, fi fs.FileInfo, a area) {
	base := path.Base(name)
	if strings.HasPrefix(base, ".") {
		// Placeholders (.keep, .placeholder) and lock files, never
		// programs or libraries.
		return
	}
	owned, recs := ldso.Owned(c.db, c.pass.Root, name)
	verdict := dbVerdict(recs)
	if verdict == emptyByDesign {
		return
	}
	f := checks.Finding{
		Kind: "empty", Path: name, Severity: checks.Warning,
		Message: fmt.Sprintf("%s is an empty file", name),
	}
	switch a {
	case programs:
		f.Impact = fmt.Sprintf("running %s fails (\"Exec format error\")", base)
	case libraries:
		if !isSharedObject(base) && fi.Mode()&0o111 == 0 {
			return
		}
		f.Impact = fmt.Sprintf("every program that loads %s fails to start (\"file too short\")", base)
		if isSharedObject(base) && (strings.Contains(name, "/security/") && strings.HasPrefix(base, "pam_")) {
			f.Severity, f.Impact = checks.Error, fmt.Sprintf("libpam cannot load %s: the logins whose PAM stacks name it fail", base)
		}
		if strings.HasPrefix(base, "libnss_") {
			f.Severity, f.Impact = checks.Error, fmt.Sprintf("glibc cannot load %s: the users, groups or hosts only it knows cannot be resolved", base)
		}
	case config:
		if c.skipConfig(name) {
			return
		}
		if c.db != nil && len(recs) == 0 && !neverEmpty[name] {
			// With a package database, an /etc file no package ships
			// is the administrator's: empty may be what they meant.
			return
		}
		switch {
		case verdict == hasContent:
			f.Impact = "its package ships it with content: whatever reads it gets nothing (defaults at best, a failing service at worst)"
		case neverEmpty[name]:
			f.Impact = "this file always has content: whatever reads it gets nothing (defaults at best, a failing service at worst)"
		default:
			f.Severity = checks.Info
			f.Impact = "it may have been truncated; with the package database rescue could tell whether it should have content"
		}
	}
	real := name
	if r, err := c.pass.Root.Resolve(name); err == nil {
		real = r
	}
	if why, ok := c.critical[real]; ok {
		f.Severity, f.Impact = checks.Critical, why
	} else if why, ok := c.login[real]; ok && f.Severity > checks.Error {
		f.Severity, f.Impact = checks.Error, why
	}
	if a == config && verdict == unknown && c.db == nil && !neverEmpty[name] {
		f.NoFix = "without a package database rescue cannot tell whether it should have content; restore it from a backup if it should"
	} else {
		restore.Offer(c.pass, &f, owned)
	}
	c.pass.Report(f)
}

func (c *checker) skipConfig(name string) bool {
	// Dot files and whatever sits in dot directories (runit's
	// /etc/sv/ssh/.meta/installed) are markers and locks, empty on purpose.
	if ownedElsewhere[name] || knownEmpty[name] || strings.Contains(name, "/.") {
		return true
	}
	for _, d := range knownEmptyDirs {
		if strings.HasPrefix(name, d) {
			return true
		}
	}
	return false
}

// isSharedObject reports whether a file name is a shared object's: x.so
// or x.so.N[.M...].
func isSharedObject(base string) bool {
	if strings.HasSuffix(base, ".so") {
		return true
	}
	i := strings.Index(base, ".so.")
	if i < 0 {
		return false
	}
	rest := base[i+4:]
	return rest != "" && strings.Trim(rest, "0123456789.") == ""
}

type verdict int

const (
	unknown verdict = iota
	emptyByDesign
	hasContent
)

// dbVerdict reads what the package database says about a file's content.
func dbVerdict(recs []pkgdb.File) verdict {
	v := unknown
	for _, r := range recs {
		if r.Flags&(pkgdb.Ghost|pkgdb.MissingOK) != 0 {
			return emptyByDesign
		}
		switch {
		case r.Size == 0, r.Digest != "" && emptyDigests[strings.ToLower(r.Digest)]:
			return emptyByDesign
		case r.Size > 0, r.Digest != "":
			v = hasContent
		}
	}
	return v
}
