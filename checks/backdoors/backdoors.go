package backdoors

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/checks/intrusion"
	"rescue/facts"
	"rescue/parse/authkeys"
	"rescue/parse/passwd"
	"rescue/parse/sudoers"
	"rescue/repair"
)

// Check is the backdoors check.
var Check = &checks.Check{
	Name:     "backdoors",
	Family:   intrusion.Family,
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.Accounts},
	Kinds:    []string{"uid0", "service-shell", "sudo-rule"},
	Run:      run,
}

// shells are programs that give a login an interactive shell.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "ksh93": true, "mksh": true, "csh": true, "tcsh": true, "fish": true, "ash": true, "busybox": true, "rbash": true}

func run(pass *checks.Pass) error {
	e := intrusion.New(pass)
	pw, err := pass.Root.ReadFileLimit("/etc/passwd", 16<<20)
	if err != nil {
		return nil // accounts reports a missing passwd
	}
	sh, _ := pass.Root.ReadFileLimit("/etc/shadow", 16<<20)
	pf := passwd.Parse(pw, passwd.Passwd)
	sf := passwd.Parse(sh, passwd.Shadow)
	uidMin := e.UIDMin()
	service := map[string]bool{}
	for _, l := range pf.Entries() {
		uid, ok := passwd.UID(l, passwd.Passwd)
		if !ok {
			continue
		}
		switch {
		case uid == 0 && l.Name() != "root":
			service[l.Name()] = true
			uid0(e, pw, sh, l, sf)
		case uid != 0 && uid < uidMin:
			service[l.Name()] = true
			serviceShell(e, pw, sh, l, sf)
		}
	}
	sudo(e, service)
	return nil
}

// uid0 reports a second account with uid 0: another name for root, with
// its own password and keys, that a cleanup of root's misses.
func uid0(e *intrusion.Engine, pw, sh []byte, l passwd.Line, sf *passwd.File) {
	b := repair.NewFix("").Add(intrusion.CommentLines(e.Root(), "/etc/passwd", pw, []int{l.N}, "second uid 0"))
	msg := fmt.Sprintf("comment out %s in /etc/passwd", l.Name())
	if s, ok := sf.Lookup(l.Name()); ok {
		b.Add(intrusion.CommentLines(e.Root(), "/etc/shadow", sh, []int{s.N}, "second uid 0"))
		msg += " and /etc/shadow"
	}
	f := checks.Finding{
		Kind: "uid0", Subject: l.Name(), Severity: checks.Warning, Path: "/etc/passwd", Line: l.N,
		Message:    fmt.Sprintf("%s has uid 0: it is root under another name, with its own password and keys", l.Name()),
		Impact:     "whoever knows its password or holds its key is root; a cleanup that changes root's password and keys leaves this way in open",
		Evidence:   []string{l.Raw},
		Indicators: &checks.Indicators{Place: "accounts", Marks: []checks.Mark{{Code: "uid0", Why: fmt.Sprintf("%s has uid 0", l.Name())}}},
	}
	fx, err := b.Build()
	fx.Message = capitalize(msg) + " (glibc skips comment lines: the account is gone until undo)"
	f.AddFix(fx, err)
	e.Pass().Report(f)
}

// serviceShell reports a service account (uid below UID_MIN) that has a
// real shell and a way in: a password, no password at all, or SSH keys.
func serviceShell(e *intrusion.Engine, pw, sh []byte, l passwd.Line, sf *passwd.File) {
	shell := l.Field(6)
	if intrusion.NoLogin(shell) || !shells[path.Base(shell)] {
		return
	}
	var ways []string
	s, hasShadow := sf.Lookup(l.Name())
	hash := l.Field(1)
	if hasShadow && hash == "x" {
		hash = s.Field(1)
	}
	switch {
	case hash == "":
		ways = append(ways, "no password at all")
	case !strings.HasPrefix(hash, "!") && !strings.HasPrefix(hash, "*") && hash != "x" && len(hash) > 3:
		ways = append(ways, "a password")
	}
	home := l.Field(5)
	for _, k := range []string{".ssh/authorized_keys", ".ssh/authorized_keys2"} {
		if data, err := e.Root().ReadFileLimit(path.Join(home, k), 8<<20); err == nil && len(authkeys.Parse(data).Keys) > 0 {
			ways = append(ways, "SSH keys in "+path.Join(home, k))
		}
	}
	if len(ways) == 0 {
		return
	}
	uid, _ := passwd.UID(l, passwd.Passwd)
	nologin := "/usr/sbin/nologin"
	if !e.Root().Exists(nologin) && e.Root().Exists("/sbin/nologin") {
		nologin = "/sbin/nologin"
	}
	fields := append([]string{}, l.Fields...)
	fields[6] = nologin
	newLine := strings.Join(fields, ":")
	if l.CR {
		newLine += "\r"
	}
	b := repair.NewFix("")
	if fx, err := checks.ReplaceLine(e.Root(), "/etc/passwd", pw, l.N, newLine, ""); err == nil {
		b.Add(fx.Ops[0], nil)
	} else {
		b.Add(repair.Op{}, err)
	}
	msg := fmt.Sprintf("give %s the shell %s", l.Name(), nologin)
	usable := hash == "" || (!strings.HasPrefix(hash, "!") && !strings.HasPrefix(hash, "*") && len(hash) > 3)
	if hasShadow && usable && l.Field(1) == "x" {
		sfields := append([]string{}, s.Fields...)
		sfields[1] = "!" + sfields[1]
		sl := strings.Join(sfields, ":")
		if s.CR {
			sl += "\r"
		}
		if fx, err := checks.ReplaceLine(e.Root(), "/etc/shadow", sh, s.N, sl, ""); err == nil {
			b.Add(fx.Ops[0], nil)
			msg += " and lock its password (a ! before the hash, as passwd -l does)"
		}
	}
	f := checks.Finding{
		Kind: "service-shell", Subject: l.Name(), Severity: checks.Warning, Path: "/etc/passwd", Line: l.N,
		Message:    fmt.Sprintf("service account %s (uid %d) has the shell %s and %s", l.Name(), uid, shell, strings.Join(ways, " and ")),
		Impact:     fmt.Sprintf("someone can log in as %s, which no person uses: a way back in that nobody watches", l.Name()),
		Evidence:   []string{l.Raw},
		Indicators: &checks.Indicators{Place: "accounts", Marks: []checks.Mark{{Code: "service-shell", Why: fmt.Sprintf("service account %s has a shell and %s", l.Name(), strings.Join(ways, ", "))}}},
	}
	fx, err := b.Build()
	fx.Message = capitalize(msg)
	f.AddFix(fx, err)
	e.Pass().Report(f)
}

// sudo judges the sudoers file and what it includes.
func sudo(e *intrusion.Engine, service map[string]bool) {
	seen := map[string]bool{}
	var files []string
	var walk func(p string, depth int)
	walk = func(p string, depth int) {
		real, err := e.Root().Resolve(p)
		if err != nil || seen[real] || depth > 8 {
			return
		}
		seen[real] = true
		data, err := e.Root().ReadFileLimit(real, 4<<20)
		if err != nil {
			return
		}
		files = append(files, real)
		for _, en := range sudoers.Parse(data) {
			if en.Kind != sudoers.Include || en.Target == "" {
				continue
			}
			t := en.Target
			if !strings.HasPrefix(t, "/") {
				t = path.Join(path.Dir(real), t)
			}
			if !en.Dir {
				walk(t, depth+1)
				continue
			}
			entries, _ := e.Root().ReadDir(t)
			for _, d := range entries {
				// sudo skips names with a dot or ending in ~.
				if strings.Contains(d.Name(), ".") || strings.HasSuffix(d.Name(), "~") {
					continue
				}
				walk(path.Join(t, d.Name()), depth+1)
			}
		}
	}
	walk("/etc/sudoers", 0)
	for _, p := range files {
		f := e.Judge(p, "entry")
		if f.Owned && !f.Changed {
			continue
		}
		data, err := e.Root().ReadFileLimit(p, 4<<20)
		if err != nil {
			continue
		}
		for _, en := range sudoers.Parse(data) {
			marks := judgeRule(en, service)
			if len(marks) == 0 {
				continue
			}
			var lines []int
			for l := en.First; l <= en.Last; l++ {
				lines = append(lines, l)
			}
			ent := &intrusion.Entry{
				Place: "sudoers", Kind: "sudo-rule", What: "sudo rule in " + p,
				Path: p, Line: en.First, Subject: strconv.Itoa(en.First), Text: en.Text, Marks: marks,
				Files:  []intrusion.FileRef{{Path: p, Role: "entry"}},
				Impact: "it makes root of whoever it names, with no password: a way back in after the cleanup",
			}
			op, err := intrusion.CommentLines(e.Root(), p, data, lines, "sudo rule")
			if err != nil {
				ent.DisableErr = err
			} else {
				ent.Disable, ent.DisableText = []repair.Op{op}, intrusion.CommentText(p, lines)
			}
			e.Report(ent)
		}
	}
}

// judgeRule returns the marks of one sudoers entry.
func judgeRule(en sudoers.Entry, service map[string]bool) []checks.Mark {
	var marks []checks.Mark
	switch en.Kind {
	case sudoers.Default:
		if strings.Contains(en.Text, "!authenticate") {
			marks = append(marks, checks.Mark{Code: "no-authentication", Why: "Defaults !authenticate: sudo asks nobody for a password"})
		}
		if strings.Contains(en.Text, "env_keep") && (strings.Contains(en.Text, "LD_PRELOAD") || strings.Contains(en.Text, "LD_LIBRARY_PATH")) {
			marks = append(marks, checks.Mark{Code: "sudo-preload", Why: "env_keep keeps LD_PRELOAD or LD_LIBRARY_PATH: any allowed command loads the caller's library as root"})
		}
	case sudoers.Spec:
		if !en.All() && !en.NoPasswd() {
			return nil
		}
		for _, u := range en.Users {
			switch {
			case u == "ALL" && en.NoPasswd() && en.All():
				marks = append(marks, checks.Mark{Code: "everyone-root", Why: "every user may run every command as root without a password"})
			case service[u]:
				marks = append(marks, checks.Mark{Code: "service-sudo", Why: fmt.Sprintf("%s, a service account (or a second uid 0), may run %s", u, grant(en))})
			}
		}
	}
	return marks
}

func grant(en sudoers.Entry) string {
	switch {
	case en.All() && en.NoPasswd():
		return "every command as root without a password"
	case en.All():
		return "every command as root"
	}
	return "commands as root without a password"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
