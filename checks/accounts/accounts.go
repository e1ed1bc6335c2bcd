package accounts

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"rescue/checks"
	"rescue/facts"
	"rescue/parse/passwd"
	"rescue/repair"
	"rescue/sysroot"
)

// Check is the accounts check.
var Check = &checks.Check{
	Name:     "accounts",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease, facts.Packages},
	Kinds:    []string{"missing", "unreadable", "empty", "crlf", "malformed", "root-missing", "root-uid", "uid0-duplicate", "user-missing", "shadow-missing", "root-expired", "root-group-missing", "shell"},
	Reads:    []string{"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/login.defs", "/etc/sysusers.d", "/usr/lib/sysusers.d", "/etc/dbus-1/system.conf", "/usr/share/dbus-1/system.conf", "/etc/polkit-1/rules.d", "/usr/share/polkit-1/rules.d"},
	Run:      run,
}

// file is one account file and its shadow-utils backup.
type file struct {
	path   string
	kind   passwd.Kind
	exists bool
	err    error // why it could not be read
	data   []byte
	f      *passwd.File

	backupPath string
	backup     *passwd.File // nil when there is no usable backup
	backupData []byte
	backupMode repair.Mode
	backupUID  int
	backupGID  int
	noBackup   string // why the backup cannot be used
}

// usable reports whether the file's entries can be checked.
func (a *file) usable() bool { return a.exists && a.err == nil && !a.f.Blank() }

// severity is what a broken file of this kind breaks.
func (a *file) severity() checks.Severity {
	if a.kind == passwd.Gshadow {
		return checks.Warning
	}
	return checks.Error
}

var order = []passwd.Kind{passwd.Passwd, passwd.Shadow, passwd.Group, passwd.Gshadow}

var paths = map[passwd.Kind]string{
	passwd.Passwd: "/etc/passwd", passwd.Shadow: "/etc/shadow", passwd.Group: "/etc/group", passwd.Gshadow: "/etc/gshadow",
}

// what each file is for, in impact sentences.
var purpose = map[passwd.Kind]string{
	passwd.Passwd:  "no user exists for login, sshd, su or sudo (\"Login incorrect\"; a shell shows \"I have no name!\")",
	passwd.Shadow:  "pam_unix cannot check any password, so every password login fails",
	passwd.Group:   "group lookups fail: services with a Group= or User= fail to start, sudo through wheel/sudo groups stops working",
	passwd.Gshadow: "group passwords and group administrators are unknown: newgrp and gpasswd fail",
}

type checker struct {
	pass  *checks.Pass
	files map[passwd.Kind]*file
	// pending are findings about entries missing from a file, reported at
	// the end with one shared re-add fix per file.
	pending []pending
	// malformed names the entries whose line is malformed, per file, so
	// that they are not also reported as missing.
	malformed map[passwd.Kind]map[string]bool
}

type pending struct {
	f    checks.Finding
	kind passwd.Kind
	name string
}

func run(pass *checks.Pass) error {
	c := &checker{pass: pass, files: map[passwd.Kind]*file{}, malformed: map[passwd.Kind]map[string]bool{}}
	for _, k := range order {
		c.files[k] = c.load(k)
	}
	for _, k := range order {
		c.fileLevel(c.files[k])
	}
	c.passwdEntries()
	c.shadowEntries()
	c.rootExpiry(time.Now().Unix() / 86400)
	c.groupEntries()
	c.reportPending()
	return nil
}

func (c *checker) load(k passwd.Kind) *file {
	a := &file{path: paths[k], kind: k, backupPath: paths[k] + "-"}
	data, err := c.pass.Root.ReadFile(a.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		a.exists, a.err = true, err
	default:
		a.exists, a.data = true, data
	}
	a.f = passwd.Parse(a.data, k)
	c.loadBackup(a)
	return a
}

// loadBackup reads the "-" backup and decides whether it can be trusted.
func (c *checker) loadBackup(a *file) {
	fi, err := c.pass.Root.Stat(a.backupPath)
	if err != nil {
		a.noBackup = fmt.Sprintf("there is no backup %s", a.backupPath)
		return
	}
	data, err := c.pass.Root.ReadFile(a.backupPath)
	if err != nil {
		a.noBackup = fmt.Sprintf("the backup %s cannot be read: %v", a.backupPath, err)
		return
	}
	b := passwd.Parse(data, a.kind)
	switch {
	case b.Blank():
		a.noBackup = fmt.Sprintf("the backup %s is empty too", a.backupPath)
		return
	case b.CRLines() > 0:
		a.noBackup = fmt.Sprintf("the backup %s has DOS line endings too", a.backupPath)
		return
	case len(b.Malformed()) > 0:
		a.noBackup = fmt.Sprintf("the backup %s is damaged too (line %d: %v)", a.backupPath, b.Malformed()[0].N, b.Malformed()[0].Err)
		return
	}
	root, ok := b.Lookup("root")
	if uid, isID := passwd.UID(root, a.kind); !ok || (isID && uid != 0) {
		a.noBackup = fmt.Sprintf("the backup %s has no root entry with id 0", a.backupPath)
		return
	}
	uid, gid := sysroot.Owner(fi)
	a.backup, a.backupData = b, data
	a.backupMode, a.backupUID, a.backupGID = repair.ModeOf(fi.Mode()), uid, gid
}

// fileLevel reports a missing, unreadable, empty, CRLF or damaged file.
func (c *checker) fileLevel(a *file) {
	switch {
	case !a.exists:
		f := checks.Finding{
			Kind: "missing", Severity: a.severity(), Path: a.path,
			Message: a.path + " does not exist",
			Impact:  purpose[a.kind],
		}
		c.restoreWhole(a, &f)
		c.pass.Report(f)
		return
	case a.err != nil:
		c.pass.Report(checks.Finding{
			Kind: "unreadable", Severity: a.severity(), Path: a.path,
			Message: fmt.Sprintf("%s cannot be read: %v", a.path, a.err),
			Impact:  purpose[a.kind],
			NoFix:   "rescue cannot tell what the file holds; look at it by hand",
		})
		return
	case a.f.Blank():
		f := checks.Finding{
			Kind: "empty", Severity: a.severity(), Path: a.path,
			Message: fmt.Sprintf("%s holds no entries (%d bytes)", a.path, len(a.data)),
			Impact:  purpose[a.kind],
		}
		c.restoreWhole(a, &f)
		c.pass.Report(f)
		return
	}
	if n := a.f.CRLines(); n > 0 {
		f := checks.Finding{
			Kind: "crlf", Severity: a.severity(), Path: a.path,
			Message: fmt.Sprintf("%d line(s) of %s end in a carriage return (DOS line endings)", n, a.path),
		}
		switch a.kind {
		case passwd.Passwd:
			f.Impact = "the last field, the login shell, reads as \"/bin/bash\\r\", which does not exist: every login fails after the password"
		case passwd.Shadow:
			f.Impact = "glibc rejects a shadow entry whose last field is not empty or a number, so no password can be checked"
		default:
			f.Severity = checks.Warning
			f.Impact = "the last field, the member list, ends in \\r: the last member of each group is not in it"
		}
		var lines []string
		for _, l := range a.f.Lines {
			lines = append(lines, strings.TrimSuffix(l.Raw, "\r"))
		}
		data := checks.JoinLines(lines, !a.f.NoFinalNewline)
		f.AddFix(repair.NewFix("Strip the carriage returns (DOS line endings) from " + a.path).
			Add(repair.WriteFile(c.pass.Root, a.path, data)).Build())
		c.pass.Report(f)
	}
	c.malformed[a.kind] = map[string]bool{}
	for _, l := range a.f.Malformed() {
		name, _, _ := strings.Cut(strings.TrimLeft(strings.TrimSuffix(l.Raw, "\r"), " \t"), ":")
		c.malformed[a.kind][name] = true
		f := checks.Finding{
			Kind: "malformed", Subject: strconv.Itoa(l.N), Severity: checks.Warning, Path: a.path, Line: l.N,
			Message:  fmt.Sprintf("line %d of %s cannot be read: %v", l.N, a.path, l.Err),
			Impact:   fmt.Sprintf("glibc skips the line, so %q has no %s entry", name, a.kind),
			Evidence: []string{strings.TrimSuffix(l.Raw, "\r")},
		}
		if name == "root" {
			f.Severity = checks.Error
			f.Impact = fmt.Sprintf("glibc skips the line, so root has no %s entry: root cannot log in", a.kind)
		}
		c.replaceFromBackup(a, &f, l, name)
		c.pass.Report(f)
	}
}

// restoreWhole offers restoring an empty or missing file from its backup.
func (c *checker) restoreWhole(a *file, f *checks.Finding) {
	if a.backup == nil {
		f.NoFix = a.noBackup + "; recreate " + a.path + " by hand (never from another machine's copy)"
		return
	}
	msg := fmt.Sprintf("Restore %s from its backup %s (%d entries)", a.path, a.backupPath, len(a.backup.Entries()))
	op, err := repair.WriteFile(c.pass.Root, a.path, a.backupData)
	if !a.exists {
		op, err = repair.CreateFile(c.pass.Root, a.path, a.backupData, a.backupMode, a.backupUID, a.backupGID)
	}
	f.AddFix(repair.NewFix(msg).Add(op, err).Build())
}

// replaceFromBackup offers replacing a damaged line with the backup's
// entry of the same name.
func (c *checker) replaceFromBackup(a *file, f *checks.Finding, l passwd.Line, name string) {
	if a.f.CRLines() > 0 {
		f.NoFix = "strip the DOS line endings first (the crlf fix), then scan again"
		return
	}
	if a.backup == nil {
		f.NoFix = a.noBackup + "; edit the line by hand"
		return
	}
	b, ok := a.backup.Lookup(name)
	if !ok {
		f.NoFix = fmt.Sprintf("the backup %s has no entry for %q; edit the line by hand", a.backupPath, name)
		return
	}
	f.AddFix(checks.ReplaceLine(c.pass.Root, a.path, a.data, l.N, b.Raw,
		fmt.Sprintf("Replace line %d with %s's entry from %s", l.N, name, a.backupPath)))
}

// missing queues a finding about an entry that is not in a file.
func (c *checker) missing(kind passwd.Kind, name string, f checks.Finding) {
	c.pending = append(c.pending, pending{f: f, kind: kind, name: name})
}

func (c *checker) passwdEntries() {
	a := c.files[passwd.Passwd]
	if !a.usable() {
		return
	}
	root, ok := a.f.Lookup("root")
	switch {
	case !ok && !c.malformed[passwd.Passwd]["root"]:
		c.missing(passwd.Passwd, "root", checks.Finding{
			Kind: "root-missing", Severity: checks.Error, Path: a.path,
			Message: "/etc/passwd has no entry for root",
			Impact:  "root does not exist: no one can log in as root, and su and sudo cannot switch to it",
		})
	case ok:
		if uid, _ := passwd.UID(root, passwd.Passwd); uid != 0 {
			f := checks.Finding{
				Kind: "root-uid", Severity: checks.Error, Path: a.path, Line: root.N,
				Message:  fmt.Sprintf("root has uid %d, not 0", uid),
				Impact:   "logging in as root gives an unprivileged user; nothing can administer the system",
				Evidence: []string{root.Raw},
			}
			if b, ok := c.backupEntry(a, "root"); ok && b.Field(2) == "0" && a.f.CRLines() == 0 {
				f.AddFix(checks.ReplaceLine(c.pass.Root, a.path, a.data, root.N, b.Raw,
					fmt.Sprintf("Restore root's entry (uid 0) from %s", a.backupPath)))
			} else {
				f.NoFix = "no backup entry for root with uid 0; set root's uid to 0 by hand"
			}
			c.pass.Report(f)
		}
	}
	for _, l := range a.f.Entries() {
		if uid, _ := passwd.UID(l, passwd.Passwd); uid == 0 && l.Name() != "root" {
			c.pass.Report(checks.Finding{
				Kind: "uid0-duplicate", Subject: l.Name(), Severity: checks.Warning, Path: a.path, Line: l.N,
				Message:  fmt.Sprintf("%s has uid 0: a second root account", l.Name()),
				Impact:   "anyone who can log in as " + l.Name() + " is root; left by an attacker or by hand, it is a security risk either way",
				Evidence: []string{strings.TrimSuffix(l.Raw, "\r")},
				NoFix:    "a second uid-0 account may be deliberate (toor) or a backdoor: decide and remove it by hand",
			})
		}
	}
	for _, n := range neededUsers(c.pass) {
		if _, ok := a.f.Lookup(n.user); ok || c.malformed[passwd.Passwd][n.user] {
			continue
		}
		f := checks.Finding{
			Kind: "user-missing", Subject: n.user, Severity: n.severity, Path: a.path,
			Message:  fmt.Sprintf("the system user %s, which %s needs, is not in /etc/passwd", n.user, n.service),
			Impact:   n.impact,
			Evidence: n.evidence,
		}
		c.missing(passwd.Passwd, n.user, f)
	}
	c.shells(a)
}

func (c *checker) backupEntry(a *file, name string) (passwd.Line, bool) {
	if a.backup == nil {
		return passwd.Line{}, false
	}
	return a.backup.Lookup(name)
}

func (c *checker) shadowEntries() {
	p, s := c.files[passwd.Passwd], c.files[passwd.Shadow]
	if !p.usable() || !s.usable() {
		return
	}
	uidMin := loginDefsUIDMin(c.pass.Root)
	// The passwd entries that are about to be copied back from the backup
	// count too: their shadow entries must come back with them.
	entries := p.f.Entries()
	for _, q := range c.pending {
		if q.kind == passwd.Passwd && c.canReAdd(p, q.name) == "" {
			if b, ok := c.backupEntry(p, q.name); ok {
				entries = append(entries, b)
			}
		}
	}
	for _, l := range entries {
		name := l.Name()
		if l.Field(1) != "x" {
			continue
		}
		if _, ok := s.f.Lookup(name); ok || c.malformed[passwd.Shadow][name] {
			continue
		}
		uid, _ := passwd.UID(l, passwd.Passwd)
		human := uid >= uidMin && uid != 65534 && !noLogin(l.Field(6))
		if name != "root" && !human {
			// A system account without a shadow entry cannot log in with a
			// password, which it never does anyway.
			continue
		}
		f := checks.Finding{
			Kind: "shadow-missing", Subject: name, Severity: checks.Warning, Path: s.path,
			Message: fmt.Sprintf("%s keeps its password in /etc/shadow (\"x\"), but /etc/shadow has no entry for it", name),
			Impact:  fmt.Sprintf("pam_unix cannot check %s's password: password logins as %s fail", name, name),
		}
		if name == "root" {
			f.Severity = checks.Error
		}
		c.missing(passwd.Shadow, name, f)
	}
}

// rootExpiry reports root's account past its expiry date (shadow's eighth
// field): pam_unix then refuses root everywhere, the password and the key
// alike, which no other finding explains ("Login incorrect" on the
// console). Only root: an expired ordinary account is how administrators
// retire people, and a pristine system has none. The fix removes the date
// and nothing else; a locked password ('!') stays locked, for `rescue
// reset-access` to decide.
func (c *checker) rootExpiry(today int64) {
	s := c.files[passwd.Shadow]
	if !s.usable() || c.malformed[passwd.Shadow]["root"] {
		return
	}
	l, ok := s.f.Lookup("root")
	if !ok {
		return
	}
	day, expired := passwd.AccountExpiry(l, today)
	if !expired {
		return
	}
	date := time.Unix(day*86400, 0).UTC().Format("2006-01-02")
	f := checks.Finding{
		Kind: "root-expired", Severity: checks.Error, Path: s.path, Line: l.N,
		Message: fmt.Sprintf("root's account expired on %s (day %d in /etc/shadow's expiry field)", date, day),
		Impact:  "pam_unix refuses every login as root on an expired account: the console (\"Login incorrect\"), su, and SSH even with a key",
	}
	fields := slices.Clone(l.Fields)
	fields[7] = ""
	text := strings.Join(fields, ":")
	if l.CR {
		text += "\r"
	}
	f.AddFix(checks.ReplaceLine(c.pass.Root, s.path, s.data, l.N, text, "Remove root's account expiry date in /etc/shadow"))
	c.pass.Report(f)
}

func (c *checker) groupEntries() {
	g := c.files[passwd.Group]
	if !g.usable() {
		return
	}
	if _, ok := g.f.Lookup("root"); !ok && !c.malformed[passwd.Group]["root"] {
		c.missing(passwd.Group, "root", checks.Finding{
			Kind: "root-group-missing", Severity: checks.Warning, Path: g.path,
			Message: "/etc/group has no entry for root (gid 0)",
			Impact:  "tools that resolve group names show 0 instead of root, and services configured with Group=root fail to start",
		})
	}
}

// reportPending reports the missing-entry findings, each offering the same
// fix for its file: re-add every missing entry the backup has. One fix per
// file keeps several findings about one file from conflicting; choosing any
// of them repairs them all.
func (c *checker) reportPending() {
	fixes := map[passwd.Kind]repair.Fix{}
	fixErr := map[passwd.Kind]error{}
	restorable := map[passwd.Kind]map[string]string{} // name -> why not, "" when it can be re-added
	for _, k := range order {
		a := c.files[k]
		var names []string
		restorable[k] = map[string]string{}
		for _, p := range c.pending {
			if p.kind != k || slices.Contains(names, p.name) {
				continue
			}
			why := c.canReAdd(a, p.name)
			restorable[k][p.name] = why
			if why == "" {
				names = append(names, p.name)
			}
		}
		if len(names) > 0 {
			fixes[k], fixErr[k] = c.reAdd(a, names)
		}
	}
	for _, p := range c.pending {
		f := p.f
		if why := restorable[p.kind][p.name]; why != "" {
			f.NoFix = why
		} else {
			f.AddFix(fixes[p.kind], fixErr[p.kind])
		}
		c.pass.Report(f)
	}
}

// canReAdd says why name cannot be copied back from the backup, or "".
func (c *checker) canReAdd(a *file, name string) string {
	if a.f.CRLines() > 0 {
		return "strip the DOS line endings first (the crlf fix), then scan again"
	}
	b, ok := c.backupEntry(a, name)
	if !ok {
		if a.backup == nil {
			return a.noBackup + "; add the entry by hand (" + hint(a.kind, name) + ")"
		}
		return fmt.Sprintf("the backup %s has no entry for %s either; add it by hand (%s)", a.backupPath, name, hint(a.kind, name))
	}
	if id, ok := passwd.UID(b, a.kind); ok && name != "root" {
		for _, l := range a.f.Entries() {
			if other, _ := passwd.UID(l, a.kind); other == id {
				return fmt.Sprintf("the backup gives %s id %d, which %s now has; add the entry by hand", name, id, l.Name())
			}
		}
	}
	return ""
}

func hint(k passwd.Kind, name string) string {
	switch k {
	case passwd.Shadow:
		return fmt.Sprintf("pwconv recreates missing shadow entries locked; then set a password with passwd %s in a chroot", name)
	case passwd.Group, passwd.Gshadow:
		return "groupadd in a chroot, or grpconv"
	}
	return "reinstalling the package that needs it recreates a system user"
}

// reAdd plans copying the named entries from the backup: root first in the
// file, the others appended in the backup's order.
func (c *checker) reAdd(a *file, names []string) (repair.Fix, error) {
	lines, nl := checks.Lines(a.data)
	var tail []string
	for _, l := range a.backup.Entries() {
		if !slices.Contains(names, l.Name()) {
			continue
		}
		if l.Name() == "root" {
			lines = append([]string{l.Raw}, lines...)
		} else {
			tail = append(tail, l.Raw)
		}
	}
	lines = append(lines, tail...)
	msg := fmt.Sprintf("Re-add %s to %s from its backup %s", list(names), a.path, a.backupPath)
	return repair.NewFix(msg).Add(repair.WriteFile(c.pass.Root, a.path, checks.JoinLines(lines, nl || len(tail) > 0))).Build()
}

func list(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
