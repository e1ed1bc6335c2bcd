package intrusion

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/parse/logindefs"
	"rescue/parse/passwd"
	"rescue/pkgdb"
	"rescue/repair"
	"rescue/sysroot"
)

// Engine judges what a check's entries name and turns suspicious entries
// into findings. A check makes one per run.
type Engine struct {
	pass  *checks.Pass
	root  *sysroot.Root
	files map[string]*File

	dbOnce sync.Once
	db     pkgdb.DB

	usersOnce sync.Once
	users     []User
}

// New returns the engine of a check's pass.
func New(pass *checks.Pass) *Engine {
	return &Engine{pass: pass, root: pass.Root, files: map[string]*File{}}
}

// Root is the target.
func (e *Engine) Root() *sysroot.Root { return e.root }

// Pass is the check's pass.
func (e *Engine) Pass() *checks.Pass { return e.pass }

// DB is the target's package database, or nil.
func (e *Engine) DB() pkgdb.DB {
	e.dbOnce.Do(func() {
		db, err := e.pass.Facts.Packages()
		if err != nil {
			e.pass.Note("the package database could not be read (%v): files are judged without it", err)
			return
		}
		e.db = db
	})
	return e.db
}

// Owned says whether a package owns path.
func (e *Engine) Owned(p string) bool {
	db := e.DB()
	return db != nil && len(db.Owners(p)) > 0
}

// User is an account of the target.
type User struct {
	Name       string
	UID, GID   uint32
	Home       string
	Shell      string
	Line       int
	Raw        string
	PasswdPath string
}

// Users returns the accounts of /etc/passwd.
func (e *Engine) Users() []User {
	e.usersOnce.Do(func() {
		for _, l := range e.pass.Facts.Accounts().Passwd.Entries() {
			uid, _ := passwd.UID(l, passwd.Passwd)
			gid := uint32(0)
			fmt.Sscan(l.Field(3), &gid)
			e.users = append(e.users, User{Name: l.Name(), UID: uid, GID: gid, Home: l.Field(5), Shell: l.Field(6), Line: l.N, Raw: l.Raw, PasswdPath: "/etc/passwd"})
		}
	})
	return e.users
}

// HomeOf returns the home of the named user, or "".
func (e *Engine) HomeOf(name string) string { return e.pass.Facts.HomeOf(name) }

// isHome says whether dir is an account's home directory.
func (e *Engine) isHome(dir string) bool {
	for _, u := range e.Users() {
		if dir != "/" && strings.HasPrefix(u.Home, "/") && sysroot.Clean(u.Home) == dir {
			return true
		}
	}
	return false
}

func (e *Engine) homeOf(uid int) string {
	for _, u := range e.Users() {
		if int(u.UID) == uid && strings.HasPrefix(u.Home, "/") {
			return sysroot.Clean(u.Home)
		}
	}
	return ""
}

// Judge returns what is known about a file an entry names (nil for a bare
// command name that is not on the standard PATH).
func (e *Engine) Judge(p, role string) *File { return e.judge(p, role) }

// Entry is one thing a persistence place starts: a cron line, a unit, a
// preload entry, a key.
type Entry struct {
	// Place is the Indicators place; Kind the finding kind.
	Place, Kind string
	// What names the entry for a person: "cron job", "systemd unit
	// kinsing.service".
	What string
	// Path and Line locate it (Line 0: the whole file); Subject tells
	// apart several entries of a file.
	Path    string
	Line    int
	Subject string
	// Text is the entry as it is written (evidence).
	Text string
	// Cmd is the analysis of what it runs, if it runs a command.
	Cmd *Command
	// Marks are marks the place itself found (an unowned unit file, a
	// key on a system account).
	Marks []checks.Mark
	// Files are files of the entry besides what Cmd runs: its own file
	// (role "entry"), a unit's program, a preloaded library.
	Files []FileRef
	// Impact says what the entry does to the machine.
	Impact string
	// Disable are the ops that stop the entry (comment out its line,
	// remove its links, quarantine its file), with the words for the fix
	// message; the engine adds the payloads' quarantine and restores.
	Disable     []repair.Op
	DisableText string
	// DisableErr is why the entry could not be disabled, if it could not.
	DisableErr error
	// Severity is Warning unless set.
	Severity checks.Severity
	// Evidence is added after Text.
	Evidence []string
}

// FileRef names a file with its role.
type FileRef struct {
	Path, Role string
}

// Judged is the outcome of judging an entry: its marks and files.
// Support are marks that add to others but do not make an entry
// suspicious alone (its own file is locked: administrators lock files too).
type Judged struct {
	Marks   []checks.Mark
	Support []checks.Mark
	Files   []*File
}

// JudgeEntry collects the marks of an entry and of every file it names.
func (e *Engine) JudgeEntry(en *Entry) *Judged {
	j := &Judged{}
	for _, m := range en.Marks {
		addMark(&j.Marks, m.Code, m.Why)
	}
	if en.Cmd != nil {
		for _, m := range en.Cmd.Marks {
			addMark(&j.Marks, m.Code, m.Why)
		}
	}
	var refs []FileRef
	refs = append(refs, en.Files...)
	if en.Cmd != nil {
		for _, r := range en.Cmd.Runs {
			refs = append(refs, FileRef{r.Path, r.Role})
		}
		for _, w := range en.Cmd.Writes {
			refs = append(refs, FileRef{w, "download"})
		}
		for _, a := range en.Cmd.Args {
			refs = append(refs, FileRef{a, "argument"})
		}
	}
	// The files the entry runs are judged, and so are the files a script
	// among them runs (a dropper's miner), one level down.
	seen := map[string]bool{}
	for depth := 0; depth < 2 && len(refs) > 0; depth++ {
		var next []FileRef
		for _, r := range refs {
			f := e.judge(r.Path, r.Role)
			if f == nil || seen[f.Path] {
				continue
			}
			seen[f.Path] = true
			j.Files = append(j.Files, f)
			if r.Role == "entry" {
				// The entry's own file counts only for what it is
				// (locked, replaced), not for where it must be.
				for _, m := range f.Marks {
					if m.Code == "immutable" || m.Code == "replaced" || m.Code == "unowned" {
						addMark(&j.Support, m.Code, m.Why)
					}
				}
				continue
			}
			if r.Role == "argument" {
				// A file given as an argument marks the entry only by
				// what it holds (a miner's configuration), not by where
				// it is: a log file in /tmp is ordinary.
				f.Marks = contentOnly(f.Marks)
				if f.Missing || len(f.Marks) == 0 {
					j.Files = j.Files[:len(j.Files)-1]
					continue
				}
			}
			for _, m := range f.Marks {
				addMark(&j.Marks, m.Code, m.Why)
			}
			if f.Cmd == nil {
				continue
			}
			// URLs and hosts in a script the entry runs are the entry's.
			for _, u := range f.Cmd.URLs {
				en.addURL(u)
			}
			for _, h := range f.Cmd.Hosts {
				en.addHost(h)
			}
			for _, x := range f.Cmd.Runs {
				next = append(next, FileRef{x.Path, x.Role})
			}
			for _, w := range f.Cmd.Writes {
				next = append(next, FileRef{w, "download"})
			}
		}
		refs = next
	}
	return j
}

// contentOnly keeps the marks a file has for what it holds.
func contentOnly(marks []checks.Mark) []checks.Mark {
	var out []checks.Mark
	for _, m := range marks {
		if m.Code == "miner" || m.Code == "miner-config" || m.Code == "wallet" {
			out = append(out, m)
		}
	}
	return out
}

func (en *Entry) addURL(u string) {
	if en.Cmd == nil {
		en.Cmd = &Command{}
	}
	addUniq(&en.Cmd.URLs, u)
}

func (en *Entry) addHost(h string) {
	if en.Cmd == nil {
		en.Cmd = &Command{}
	}
	addUniq(&en.Cmd.Hosts, h)
}

// Report turns an entry into a finding when anything marks it, and says
// whether it did. The finding's fix disables the entry, quarantines the
// files it runs that no package owns and that are marked, and restores
// the package files it runs that were replaced.
func (e *Engine) Report(en *Entry) bool {
	j := e.JudgeEntry(en)
	if len(j.Marks) == 0 {
		return false
	}
	e.pass.Report(e.Finding(en, j))
	return true
}

// Finding builds the finding of a judged entry.
func (e *Engine) Finding(en *Entry, j *Judged) checks.Finding {
	sev := en.Severity
	if sev == 0 {
		sev = checks.Warning
	}
	// The message names the strongest marks first: what the entry does
	// and is, then where it is.
	slices.SortStableFunc(j.Marks, func(a, b checks.Mark) int { return rank(a.Code) - rank(b.Code) })
	var whys []string
	for _, m := range j.Marks {
		whys = append(whys, m.Why)
	}
	msg := en.What + ": " + whys[0]
	if len(whys) > 1 {
		msg += "; " + whys[1]
	}
	if len(whys) > 2 {
		msg += fmt.Sprintf(" (and %d more)", len(whys)-2)
	}
	f := checks.Finding{
		Kind: en.Kind, Subject: en.Subject, Severity: sev, Path: en.Path, Line: en.Line,
		Message: msg,
		Impact:  en.Impact,
	}
	if en.Text != "" {
		f.Evidence = append(f.Evidence, clip(strings.TrimRight(en.Text, "\r"), maxEvidence))
	}
	f.Evidence = append(f.Evidence, en.Evidence...)
	all := append(slices.Clone(j.Marks), j.Support...)
	for _, m := range all {
		f.Evidence = append(f.Evidence, m.Code+": "+m.Why)
	}
	ind := &checks.Indicators{Place: en.Place, Marks: all}
	if en.Cmd != nil {
		ind.URLs = slices.Clone(en.Cmd.URLs)
		ind.Hosts = slices.Clone(en.Cmd.Hosts)
		ind.Wallets = slices.Clone(en.Cmd.Wallets)
	}
	for _, file := range j.Files {
		if file.Owned && !file.Changed && file.Role != "entry" {
			continue // /usr/bin/curl as its package installed it is no indicator
		}
		ind.Files = append(ind.Files, file.IndicatorFile)
		for _, w := range file.Wallets {
			addUniq(&ind.Wallets, w)
		}
		if file.Cmd != nil {
			for _, w := range file.Cmd.Wallets {
				addUniq(&ind.Wallets, w)
			}
		}
	}
	f.Indicators = ind
	e.fix(&f, en, j)
	return f
}

// fix plans the finding's fix.
func (e *Engine) fix(f *checks.Finding, en *Entry, j *Judged) {
	if en.DisableErr != nil {
		f.NoFix = "could not plan the change: " + en.DisableErr.Error()
		return
	}
	b := repair.NewFix("")
	var parts []string
	if en.DisableText != "" {
		parts = append(parts, en.DisableText)
	}
	// A locked file the fix edits is unlocked for good first: the lock
	// was the intruder's, and keeping it would keep the file from
	// being cleaned later.
	locked := map[string]bool{}
	for _, op := range en.Disable {
		if op.Kind == repair.KindWrite && !locked[op.Path] {
			if fl, err := e.root.Flags(op.Path); err == nil && fl&(sysroot.FlagImmutable|sysroot.FlagAppend) != 0 {
				b.Add(repair.Unlock(e.root, op.Path))
				locked[op.Path] = true
				parts = append([]string{"clear chattr " + flagText(fl) + " on " + op.Path}, parts...)
			}
		}
	}
	for _, op := range en.Disable {
		b.Add(op, nil)
	}
	var quarantined, restored []string
	var why []string
	for _, file := range j.Files {
		switch {
		case file.Role == "entry":
			continue
		case file.Replaced:
			fx, err := restore.Fix(e.pass, file.Resolved)
			if err != nil {
				why = append(why, fmt.Sprintf("%s cannot be restored: %v", file.Resolved, err))
				continue
			}
			for _, op := range fx.Ops {
				b.Add(op, nil)
			}
			restored = append(restored, file.Resolved)
		case file.Quarantinable(e.DB() != nil):
			op, err := e.QuarantineOp(file.Resolved)
			if err != nil {
				why = append(why, err.Error())
				continue
			}
			b.Add(op, nil)
			quarantined = append(quarantined, file.Resolved)
		}
	}
	if len(quarantined) > 0 {
		parts = append(parts, "quarantine "+strings.Join(quarantined, ", "))
	}
	if len(restored) > 0 {
		parts = append(parts, "restore "+strings.Join(restored, ", ")+" from the package")
	}
	fix, err := b.Build()
	if err != nil {
		f.NoFix = "could not plan the change: " + err.Error()
		return
	}
	if len(fix.Ops) == 0 {
		f.NoFix = "nothing rescue can change safely"
		if len(why) > 0 {
			f.NoFix = strings.Join(why, "; ")
		}
		return
	}
	fix.Message = capitalize(strings.Join(parts, "; "))
	if len(why) > 0 {
		fix.Message += " (not: " + strings.Join(why, "; ") + ")"
	}
	f.Fixes = append(f.Fixes, fix)
}

// QuarantineOp plans moving a file into the journal, and refuses a file a
// package owns whose content matches the package: that file is the
// system's own, whatever runs it.
func (e *Engine) QuarantineOp(p string) (repair.Op, error) {
	if db := e.DB(); db != nil && len(db.Owners(p)) > 0 {
		res, err := e.pass.Facts.VerifyPaths(p)
		if err != nil {
			return repair.Op{}, fmt.Errorf("%s belongs to a package and could not be verified: %w", p, err)
		}
		if len(res) == 0 {
			return repair.Op{}, fmt.Errorf("%s is a package's file as the package installed it: it is not quarantined", p)
		}
		return repair.Op{}, fmt.Errorf("%s belongs to a package: it is restored from the package, not quarantined", p)
	}
	return repair.Quarantine(e.root, p)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// UIDMin is the first uid of a person's account (UID_MIN of
// /etc/login.defs, 1000 when unset): below it, except root, are service
// accounts no person logs in as.
func (e *Engine) UIDMin() uint32 {
	data, err := e.root.ReadFileLimit("/etc/login.defs", 1<<20)
	if err != nil {
		return 1000
	}
	if d, ok := logindefs.Parse(data).Lookup("UID_MIN"); ok {
		if n, ok := logindefs.Number(d.Value); ok && n > 0 && n < 1<<31 {
			return uint32(n)
		}
	}
	return 1000
}

// NoLogin says whether a shell refuses logins on purpose.
func NoLogin(shell string) bool {
	switch path.Base(shell) {
	case "nologin", "false", "sync", "shutdown", "halt", "true":
		return true
	}
	return shell == ""
}

// markOrder ranks marks for the message: the first two are named.
var markOrder = []string{
	"download-to-shell", "base64-to-shell", "reverse-shell", "dev-tcp", "miner", "miner-config", "wallet", "rootkit",
	"redis-dump", "known-key", "replaced", "shadows", "preload", "kernel-thread-name", "odd-module-path",
	"uid0", "service-sudo", "everyone-root", "no-authentication", "sudo-preload", "added-root-key",
	"service-account-key", "security-host", "update-host", "unowned", "chattr",
	"writable-dir", "hidden-dir", "authorized-keys2", "immutable",
}

func rank(code string) int {
	if i := slices.Index(markOrder, code); i >= 0 {
		return i
	}
	return len(markOrder) / 2
}

// Listed is one entry of a directory Entries listed.
type Listed struct {
	Path  string
	Entry fs.DirEntry
}

// Entries lists the entries of directories, each directory once however
// many of the names resolve to it (/lib is /usr/lib on merged systems).
func (e *Engine) Entries(dirs ...string) []Listed {
	var out []Listed
	seen := map[string]bool{}
	for _, d := range dirs {
		real, err := e.root.Resolve(d)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		entries, _ := e.root.ReadDir(real)
		for _, en := range entries {
			out = append(out, Listed{Path: path.Join(real, en.Name()), Entry: en})
		}
	}
	return out
}

// maxEvidence bounds the entry's text in a finding: a statement of a
// script can span a whole function.
const maxEvidence = 1024

// clip shortens s to at most n bytes (on a rune boundary), saying so.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf(" … (%d more bytes)", len(s)-cut)
}
