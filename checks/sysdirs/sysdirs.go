package sysdirs

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/facts"
	"rescue/parse/osrelease"
	"rescue/pkgdb"
	"rescue/repair"
)

// Check is the sysdirs check.
var Check = &checks.Check{
	Name:     "sysdirs",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease, facts.Fstab, facts.Packages, facts.DynamicLoader},
	Kinds:    []string{"no-kernel", "link-missing", "dir-missing", "link-wrong", "dir-instead-of-link", "not-a-directory", "emptied"},
	Reads:    []string{"/", "/usr", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib64"},
	Run:      run,
}

// topLinks are the directories merged /usr turns into links.
var topLinks = []string{"bin", "sbin", "lib", "lib64"}

// realDirs are the directories a root holds its programs, libraries,
// configuration and kernels in. /usr/lib64 and /boot are looked at only
// where the target says it has them (wanted).
var realDirs = []string{"/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64", "/etc", "/boot"}

// maxRestore bounds how many files one fix restores from packages.
const maxRestore = 5000

type checker struct {
	pass   *checks.Pass
	os     osrelease.Info
	merged bool   // the system uses merged /usr
	why    string // what says so
	db     pkgdb.DB
	// expected maps a directory to the files the packages put directly in
	// it (paths with merged-/usr links resolved).
	expected map[string][]string
	// bootFiles says whether any installed package puts a file in /boot
	// (a kernel, or the files a kernel package creates there).
	bootFiles bool
	// interp is the ELF interpreter of the system's own programs
	// (/lib64/ld-linux-x86-64.so.2), "" when none could be read.
	interp string
	// separate are mount points fstab mounts from their own filesystem.
	separate map[string]bool
}

func run(pass *checks.Pass) error {
	c := &checker{pass: pass, os: pass.Facts.OS(), separate: map[string]bool{}}
	if f, _ := pass.Facts.Fstab(); f != nil {
		for _, l := range f.Entries() {
			if !l.Entry.HasOption("bind") {
				c.separate[l.Entry.File] = true
			}
		}
	}
	db, err := pass.Facts.Packages()
	if err != nil {
		pass.Note("the package database could not be read (%v): emptied directories are judged by the distribution's expectations", err)
	}
	c.db = db
	if o, err := pass.Facts.Loader().ReadObject(mainProgram(pass)); err == nil {
		c.interp = o.Interp
	}
	c.merged, c.why = c.isMerged()
	if db != nil {
		c.expected = c.packageFiles()
	}
	for _, x := range topLinks {
		if x == "lib64" && !c.wanted("/lib64") {
			continue
		}
		c.top(x)
	}
	for _, d := range realDirs {
		if !c.wanted(d) {
			if d == "/boot" {
				c.noKernel()
			}
			continue
		}
		c.dir(d)
	}
	return nil
}

// mainProgram is the first of the programs every system has that is there.
func mainProgram(pass *checks.Pass) string {
	for _, p := range []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/usr/bin/bash", "/bin/bash", "/usr/bin/sh", "/bin/sh"} {
		if pass.Root.Exists(p) {
			return p
		}
	}
	return "/bin/sh"
}

// isMerged tells whether the system uses merged /usr, from what the target
// says, most direct first: a top-level link into /usr; the package
// database recording one (EL's filesystem package, Debian 13's
// base-files), or usr-is-merged installed (Debian 12's promise that / is
// merged); the files the packages list under /bin found in /usr/bin
// instead. Only when the target has no package database to ask does the
// distribution's release decide.
func (c *checker) isMerged() (bool, string) {
	for _, x := range topLinks {
		if t, err := c.pass.Root.Readlink("/" + x); err == nil {
			if path.Clean(path.Join("/", t)) == "/usr/"+x {
				return true, fmt.Sprintf("/%s is a link to %s", x, t)
			}
		}
	}
	if c.db != nil {
		for _, x := range topLinks {
			for _, f := range c.db.Owners("/" + x) {
				if f.Mode&fs.ModeSymlink != 0 && path.Clean(path.Join("/", f.LinkTarget)) == "/usr/"+x {
					return true, fmt.Sprintf("%s %s installs /%s as a link to %s", f.Package, f.Version, x, f.LinkTarget)
				}
			}
		}
		for _, p := range c.db.Packages() {
			if p.Name == "usr-is-merged" {
				return true, fmt.Sprintf("usr-is-merged %s is installed", p.Version)
			}
		}
		for _, x := range topLinks {
			if moved := c.movedToUsr(x); moved != "" {
				return true, fmt.Sprintf("/%s is gone and %s, which the packages list there, is in /usr/%s", x, moved, x)
			}
		}
		return false, ""
	}
	id, major := c.os.ID, c.os.Major()
	switch {
	case c.os.Family == osrelease.RHEL && (id == "fedora" && major >= 17 || id != "fedora" && major >= 7):
		return true, fmt.Sprintf("%s %s uses merged /usr", id, c.os.VersionID)
	case id == "debian" && major >= 12:
		return true, "Debian 12 and later require merged /usr"
	case id == "ubuntu" && major >= 21:
		return true, fmt.Sprintf("Ubuntu %s uses merged /usr", c.os.VersionID)
	}
	return false, ""
}

// movedToUsr returns a file the packages list under /x that is found in
// /usr/x while /x itself is gone ("" when there is none): the files of a
// merged system whose link was deleted.
func (c *checker) movedToUsr(x string) string {
	if _, err := c.pass.Root.Lstat("/" + x); !errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	n := 0
	for _, pkg := range c.db.Packages() {
		for _, f := range c.db.Files(pkg.Name) {
			rest, ok := strings.CutPrefix(f.Path, "/"+x+"/")
			if !ok || f.Mode.IsDir() || strings.Contains(rest, "/") {
				continue
			}
			if c.pass.Root.Exists("/usr/" + x + "/" + rest) {
				return "/usr/" + x + "/" + rest
			}
			if n++; n > 50 {
				return ""
			}
		}
	}
	return ""
}

// wanted says whether the target has (or must have) directory p. Every
// root has /bin, /sbin, /lib, /etc and their /usr counterparts. The lib64
// directories exist where the architecture and the distribution put
// libraries there (amd64 Debian keeps only the ELF interpreter in /lib64,
// and no /usr/lib64 before merged /usr; arm64 Debian has neither): the
// package database says so, or the directory is there, or the system's
// programs name an interpreter in it. /boot is wanted when a package puts
// files there, or when there is no package database to ask.
func (c *checker) wanted(p string) bool {
	switch p {
	case "/lib64", "/usr/lib64":
		if c.db != nil {
			// On a merged system the packages may list either
			// spelling (dpkg: /lib64/ld-linux-x86-64.so.2 on Debian
			// 12, /usr/lib64/… on 13); both name one directory.
			other := map[string]string{"/lib64": "/usr/lib64", "/usr/lib64": "/lib64"}[p]
			return c.packaged(p) || c.merged && c.packaged(other)
		}
		if _, err := c.pass.Root.Lstat(p); err == nil {
			return true
		}
		if c.interp != "" {
			return strings.HasPrefix(c.interp, "/lib64/") || strings.HasPrefix(c.interp, "/usr/lib64/") ||
				p == "/usr/lib64" && c.merged && strings.HasPrefix(c.interp, "/lib64/")
		}
		return c.os.Family == osrelease.RHEL
	case "/boot":
		return c.db == nil || c.bootFiles || c.separate[p]
	}
	return true
}

// packaged says whether the packages own directory p or put files in it.
func (c *checker) packaged(p string) bool {
	return len(c.expected[p]) > 0 || len(c.db.Owners(p)) > 0
}

// noKernel reports, as worth knowing, a /boot that is missing or empty on
// a root where no installed package puts anything there: a container or
// chroot root, or one whose kernel comes from outside it.
func (c *checker) noKernel() {
	what := "is empty"
	if _, err := c.pass.Root.Lstat("/boot"); errors.Is(err, fs.ErrNotExist) {
		what = "is missing"
	} else if err != nil || c.count("/boot") > 0 {
		return
	}
	c.pass.Report(checks.Finding{
		Kind: "no-kernel", Path: "/boot", Severity: checks.Info,
		Message: fmt.Sprintf("/boot %s and no installed package puts a file there: no kernel is installed", what),
		Impact:  "the root starts only with a kernel from outside it (a container or chroot, or a kernel the hypervisor boots directly); nothing on it is broken",
		NoFix:   "nothing to repair; for the disk to boot on its own, install a kernel package (linux-image-amd64, kernel-core) from a rescue system",
	})
}

// mode is the distribution's mode for a system directory.
func (c *checker) mode(dir string) repair.Mode {
	if c.db != nil {
		for _, f := range c.db.Owners(dir) {
			if f.Mode.IsDir() {
				return repair.ModeOf(f.Mode)
			}
		}
	}
	if c.os.Family == osrelease.RHEL && dir != "/etc" {
		return 0o555
	}
	return 0o755
}

// top checks /bin, /sbin, /lib, /lib64.
func (c *checker) top(x string) {
	p, usr := "/"+x, "/usr/"+x
	fi, err := c.pass.Root.Lstat(p)
	usrIsDir := isDir(c.pass, usr)
	f := checks.Finding{Path: p, Severity: checks.Critical}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if c.merged {
			f.Kind = "link-missing"
			f.Message = fmt.Sprintf("%s is missing; on this merged-/usr system (%s) it must be a link to usr/%s", p, c.why, x)
			f.Impact = impactOf(x)
			f.AddFix(repair.NewFix(fmt.Sprintf("Link %s to usr/%s", p, x)).Add(repair.MakeSymlink(c.pass.Root, p, "usr/"+x)).Build())
		} else {
			f.Kind = "dir-missing"
			f.Message = fmt.Sprintf("%s is missing", p)
			f.Impact = impactOf(x)
			c.mkdirFix(&f, p)
		}
	case err != nil:
		c.pass.Note("%s could not be examined: %v", p, err)
		return
	case fi.Mode()&fs.ModeSymlink != 0:
		t, _ := c.pass.Root.Readlink(p)
		res, rerr := c.pass.Root.Resolve(p)
		if rerr == nil && res == usr {
			return
		}
		if ru, err := c.pass.Root.Resolve(usr); rerr == nil && err == nil && ru == res && usrIsDir {
			// /usr/sbin is itself a link to bin where bin and sbin are
			// merged too (Fedora 42, Arch): /sbin -> usr/sbin ends in
			// /usr/bin, as it must.
			return
		}
		if !usrIsDir && path.Clean(path.Join("/", t)) == usr {
			// The link is right; what it points at is gone, which
			// dir reports for usr.
			return
		}
		f.Kind = "link-wrong"
		if rerr != nil {
			f.Message = fmt.Sprintf("%s is a link to %s, which does not exist", p, t)
		} else {
			f.Message = fmt.Sprintf("%s is a link to %s (%s), not to usr/%s", p, t, res, x)
		}
		f.Impact = impactOf(x)
		f.Evidence = []string{p + " -> " + t}
		if !usrIsDir {
			f.NoFix = usr + " does not exist either (reported apart); the link cannot be pointed at it"
			c.pass.Report(f)
			return
		}
		f.AddFix(repair.NewFix(fmt.Sprintf("Point %s at usr/%s", p, x)).Add(repair.MakeSymlink(c.pass.Root, p, "usr/"+x)).Build())
	case fi.IsDir():
		if !c.merged || !usrIsDir {
			c.dir(p)
			return
		}
		// A directory where merged /usr wants a link: usually an
		// archive unpacked over the root replaced the link.
		n := c.count(p)
		if n > 0 && !c.isLinkSystem() {
			return
		}
		f.Kind = "dir-instead-of-link"
		f.Message = fmt.Sprintf("%s is a directory with %d entries, but on this merged-/usr system (%s) it must be a link to usr/%s", p, n, c.why, x)
		f.Impact = "programs and libraries looked up under " + p + " are not found there: " + impactOf(x)
		if n == 0 {
			f.AddFix(repair.NewFix(fmt.Sprintf("Replace the empty directory %s with a link to usr/%s", p, x)).Add(repair.MakeSymlink(c.pass.Root, p, "usr/"+x)).Build())
		} else {
			f.NoFix = fmt.Sprintf("%s holds files that may not be in %s: move them there by hand, then link %s to usr/%s", p, usr, p, x)
		}
	default:
		f.Kind = "not-a-directory"
		f.Message = fmt.Sprintf("%s is a %s, not a directory or a link", p, typeName(fi))
		f.Impact = impactOf(x)
		if c.merged && usrIsDir && fi.Mode().IsRegular() {
			f.AddFix(repair.NewFix(fmt.Sprintf("Replace %s with a link to usr/%s", p, x)).Add(repair.MakeSymlink(c.pass.Root, p, "usr/"+x)).Build())
		} else {
			f.NoFix = "what it should hold cannot be told; move it aside and restore the directory from packages"
		}
	}
	c.pass.Report(f)
}

// isLinkSystem reports whether the other top-level directories are links,
// so that one directory among them is an accident, not an unmerged system.
func (c *checker) isLinkSystem() bool {
	for _, x := range topLinks {
		if fi, err := c.pass.Root.Lstat("/" + x); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return true
		}
	}
	return false
}

func isDir(pass *checks.Pass, p string) bool {
	fi, err := pass.Root.Stat(p)
	return err == nil && fi.IsDir()
}

func typeName(fi fs.FileInfo) string {
	switch {
	case fi.Mode().IsRegular():
		return "regular file"
	case fi.Mode()&fs.ModeDevice != 0:
		return "device"
	case fi.Mode()&fs.ModeNamedPipe != 0:
		return "named pipe"
	case fi.Mode()&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

func impactOf(x string) string {
	switch x {
	case "bin", "sbin":
		return "the kernel finds no init and the programs the boot runs are not found (\"Kernel panic - not syncing: No working init found\")"
	case "lib", "lib64":
		return "programs cannot load their ELF interpreter or libraries (\"No such file or directory\" for every program, then \"Kernel panic - not syncing: Attempted to kill init\")"
	}
	return "the system cannot boot"
}

func (c *checker) count(p string) int {
	return len(c.names(p))
}

// names lists the entries of directory p (none when it cannot be read).
func (c *checker) names(p string) map[string]bool {
	ents, err := c.pass.Root.ReadDir(p)
	if err != nil {
		return nil
	}
	set := make(map[string]bool, len(ents))
	for _, e := range ents {
		set[e.Name()] = true
	}
	return set
}

// dir checks a directory that must exist and hold files.
func (c *checker) dir(p string) {
	fi, err := c.pass.Root.Stat(p)
	f := checks.Finding{Path: p, Severity: checks.Critical}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.Kind = "dir-missing"
		f.Message = fmt.Sprintf("%s is missing", p)
		f.Impact = dirImpact(p)
		if c.separate[p] {
			f.Impact = fmt.Sprintf("/etc/fstab mounts a filesystem on %s, and the mount point is gone: the mount fails and the machine stops in emergency mode", p)
		}
		c.mkdirFix(&f, p)
		c.pass.Report(f)
		return
	case err != nil:
		c.pass.Note("%s could not be examined: %v", p, err)
		return
	case !fi.IsDir():
		f.Kind = "not-a-directory"
		f.Message = fmt.Sprintf("%s is a %s, not a directory", p, typeName(fi))
		f.Impact = dirImpact(p)
		f.NoFix = "what it should hold cannot be told; move it aside and restore the directory from packages"
		c.pass.Report(f)
		return
	}
	present := c.names(p)
	n := len(present)
	if c.separate[p] || c.separate[path.Dir(p)] && path.Dir(p) != "/" {
		if n == 0 {
			c.pass.Note("%s is empty, but /etc/fstab mounts it from its own filesystem, which is not mounted here: it was not checked", p)
		}
		return
	}
	want := c.expected[p]
	var missing []string
	if c.db != nil && len(want) > 0 {
		// The packaged files are direct entries of p: one listing
		// answers for all of them, where a lookup each costs a
		// confined path resolution per file.
		for _, q := range want {
			if !present[path.Base(q)] {
				missing = append(missing, q)
			}
		}
		if len(want) < 5 || len(missing)*2 <= len(want) {
			return
		}
	} else if n > 0 {
		return
	}
	f.Kind = "emptied"
	if len(missing) > 0 {
		f.Message = fmt.Sprintf("%d of the %d files the packages put in %s are missing", len(missing), len(want), p)
		sort.Strings(missing)
		f.Evidence = head(missing, 10)
	} else {
		f.Message = fmt.Sprintf("%s is empty", p)
	}
	f.Impact = dirImpact(p)
	c.restoreFix(&f, p, missing)
	c.pass.Report(f)
}

func head(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), fmt.Sprintf("… and %d more", len(s)-n))
}

func dirImpact(p string) string {
	switch p {
	case "/etc":
		return "nothing is configured: no fstab, no passwd, no init configuration; boot fails early and no one can log in"
	case "/boot":
		return "GRUB finds no kernel and no configuration: the machine does not boot"
	case "/usr/bin", "/usr/sbin":
		return "the kernel finds no init and the programs the boot runs are not found"
	}
	return "programs cannot load their libraries and the system cannot start"
}

// mkdirFix recreates a missing directory with the distribution's mode.
func (c *checker) mkdirFix(f *checks.Finding, p string) {
	m := c.mode(p)
	msg := fmt.Sprintf("Recreate %s (mode %s)", p, m)
	if p != "/boot" || !c.separate[p] {
		msg += "; its files must then be restored from the packages"
	}
	f.AddFix(repair.NewFix(msg).Add(repair.Mkdir(c.pass.Root, p, m)).Build())
}

// restoreFix restores the missing files of an emptied directory from their
// packages, when that can be done; otherwise it says what to reinstall.
func (c *checker) restoreFix(f *checks.Finding, p string, missing []string) {
	if c.db == nil || len(missing) == 0 {
		f.NoFix = fmt.Sprintf("the files of %s can only come back from the packages; with a readable package database rescue would name them (reinstall the packages that own %s from a rescue system)", p, p)
		return
	}
	if len(missing) > maxRestore {
		f.NoFix = fmt.Sprintf("%d files are missing, more than rescue restores at once (%d); reinstall the packages from a rescue system", len(missing), maxRestore)
		return
	}
	b := repair.NewFix(fmt.Sprintf("Restore the %d missing files of %s from their packages", len(missing), p))
	for _, q := range missing {
		fix, err := restore.Fix(c.pass, q)
		if err != nil {
			f.NoFix = fmt.Sprintf("the missing files cannot be restored here (%v); the packages that own them: %s", err, c.owners(missing))
			return
		}
		for _, op := range fix.Ops {
			b.Add(op, nil)
		}
	}
	f.AddFix(b.Build())
}

// owners names the packages (with versions) that own the files.
func (c *checker) owners(files []string) string {
	set := map[string]bool{}
	for _, q := range files {
		for _, o := range c.db.Owners(q) {
			set[o.Package+"-"+o.Version] = true
		}
		// dpkg records the unmerged path.
		for _, x := range topLinks {
			if rest, ok := strings.CutPrefix(q, "/usr/"+x+"/"); ok {
				for _, o := range c.db.Owners("/" + x + "/" + rest) {
					set[o.Package+"-"+o.Version] = true
				}
			}
		}
	}
	var names []string
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "the packages that own them"
	}
	return strings.Join(head(names, 10), ", ")
}

// packageFiles maps each system directory to the files the packages put
// directly in it, with merged-/usr paths resolved (dpkg records /bin/bash
// even where /bin is a link to usr/bin).
func (c *checker) packageFiles() map[string][]string {
	out := map[string][]string{}
	watch := map[string]bool{}
	for _, d := range realDirs {
		watch[d] = true
	}
	for _, x := range topLinks {
		watch["/"+x] = true
	}
	seen := map[string]bool{}
	for _, pkg := range c.db.Packages() {
		for _, f := range c.db.Files(pkg.Name) {
			if !f.Mode.IsDir() && strings.HasPrefix(f.Path, "/boot/") {
				// Ghosts count: EL's kernel-core lists its /boot files
				// as ghosts and creates them when it is installed.
				c.bootFiles = true
			}
			if f.Mode.IsDir() || f.Flags&(pkgdb.Ghost|pkgdb.MissingOK|pkgdb.Doc) != 0 {
				continue
			}
			p := c.canonical(f.Path)
			d := path.Dir(p)
			if !watch[d] || seen[p] {
				continue
			}
			seen[p] = true
			out[d] = append(out[d], p)
		}
	}
	return out
}

// canonical maps /bin/x to /usr/bin/x on a merged-/usr system.
func (c *checker) canonical(p string) string {
	p = path.Clean(p)
	if !c.merged {
		return p
	}
	for _, x := range topLinks {
		if rest, ok := strings.CutPrefix(p, "/"+x+"/"); ok {
			return "/usr/" + x + "/" + rest
		}
	}
	return p
}
