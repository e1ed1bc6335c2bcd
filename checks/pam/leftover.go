package pam

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"rescue/checks"
	"rescue/facts/ldso"
	"rescue/facts/pamstack"
	"rescue/parse/pamconf"
	"rescue/repair"
)

// successors are the maintained replacements of PAM modules that
// distributions dropped: a configuration that still names the old module
// (left behind by an upgrade, or copied from an older machine) fails every
// stack it is in.
var successors = map[string]string{
	"pam_tally2.so":   "pam_faillock.so",  // removed from Linux-PAM 1.5 (EL9, Debian 12)
	"pam_tally.so":    "pam_faillock.so",  // removed from Linux-PAM 1.5
	"pam_cracklib.so": "pam_pwquality.so", // dropped from EL8 and later
	"pam_stack.so":    "",                 // EL4's include mechanism: "include SERVICE"
}

// coreModules are never commented out: they are part of Linux-PAM itself,
// so one that is missing was deleted (and the restore fix is the answer),
// and taking pam_unix or pam_deny out of a stack changes who gets in.
var coreModules = map[string]bool{
	"pam_unix.so": true, "pam_deny.so": true, "pam_permit.so": true, "pam_env.so": true,
	"pam_limits.so": true, "pam_nologin.so": true, "pam_securetty.so": true, "pam_succeed_if.so": true,
	"pam_localuser.so": true, "pam_rootok.so": true, "pam_wheel.so": true, "pam_access.so": true,
}

// leftover offers the fix for a module no installed package provides: its
// maintained successor where there is one and it is installed, else
// commenting out the lines that name it. The package database decides
// that the module is a leftover; without one rescue cannot tell a leftover
// from a deleted file, and the finding keeps its restore advice.
func (c *checker) leftover(f *checks.Finding, module string, uses []use) {
	name := pamconf.ModuleName(module)
	db, _ := c.pass.Facts.Packages()
	if db == nil || coreModules[name] {
		return
	}
	for _, d := range append(slices.Clone(c.secDir), path.Dir(f.Path)) {
		if _, recs := ldso.Owned(db, c.pass.Root, path.Join(d, name)); len(recs) > 0 {
			return // a package owns it: it was deleted, restore it
		}
	}
	for _, u := range uses {
		if u.line.N != u.line.Last {
			f.NoFix = fmt.Sprintf("no installed package provides %s (a leftover of a removed module), and %s:%d continues over several lines: edit it by hand", name, u.file.Path, u.line.N)
			return
		}
	}
	f.Message += "; no installed package provides it (a leftover of a removed module)"
	succ, known := successors[name]
	if known && (succ == "" || c.modulePath(succ).State == ldso.OK) {
		fix, err := c.replaceModule(name, succ, uses)
		f.AddFix(fix, err)
	}
	if name == "pam_stack.so" {
		return // it stands for a whole stack: never commented out
	}
	for _, u := range uses {
		if u.line.Type == "auth" && !c.checksPasswordsWithout(u) {
			if len(f.Fixes) == 0 {
				f.NoFix = fmt.Sprintf("no installed package provides %s, and without %s:%d the auth stack it is in would check no password: install the module or edit the stack by hand", name, u.file.Path, u.line.N)
			}
			return
		}
	}
	f.AddFix(c.editLines(uses, func(u use, raw string) []string {
		l := u.line
		out := []string{checks.Marker + ": no installed package provides " + name + ": " + raw}
		if jumps(u.file, l.Type) {
			// A placeholder keeps the count of lines the jumps of
			// this stack ([success=N]) step over.
			out = append(out, l.Type+" optional pam_permit.so")
		}
		return out
	}, fmt.Sprintf("Comment out the %d line(s) naming %s, which no installed package provides (this drops the rule it made: the rest of each stack decides alone)", len(uses), name)))
}

// passwordModules check a password (or another credential) in an auth
// stack.
var passwordModules = map[string]bool{
	"pam_unix.so": true, "pam_sss.so": true, "pam_ldap.so": true, "pam_krb5.so": true, "pam_winbind.so": true, "pam_pwdb.so": true,
}

// checksPasswordsWithout reports whether every login stack (login, sshd)
// the line is in still runs a loadable password-checking module other than
// the line's own: commenting out the line must not leave an auth stack
// that lets anyone in.
func (c *checker) checksPasswordsWithout(u use) bool {
	for _, s := range loginServices {
		if !c.installed(s) {
			continue
		}
		in, ok := false, false
		for _, e := range c.stack(s, "auth").Entries {
			if e.File.Path == u.file.Path && e.Line.N == u.line.N {
				in = true
				continue
			}
			if passwordModules[pamconf.ModuleName(e.Line.Module)] && c.modulePath(e.Line.Module).State == ldso.OK {
				ok = true
			}
		}
		if in && !ok {
			return false
		}
	}
	return true
}

// jumps reports whether a file's lines of a type use jumps ([success=2]):
// adding or removing a line of that type there changes where they land.
func jumps(f *pamstack.File, typ string) bool {
	for _, l := range f.Conf.Lines {
		if l.Type != typ {
			continue
		}
		for _, v := range pamconf.Actions(l.Control) {
			if v != "" && strings.Trim(v, "0123456789") == "" {
				return true
			}
		}
	}
	return false
}

// replaceModule rewrites each line naming name for its successor succ.
func (c *checker) replaceModule(name, succ string, uses []use) (repair.Fix, error) {
	switch name {
	case "pam_stack.so":
		return c.editLines(uses, func(u use, raw string) []string {
			l := u.line
			svc := ""
			for _, a := range l.Args {
				if v, ok := strings.CutPrefix(a, "service="); ok {
					svc = v
				}
			}
			if svc == "" {
				return []string{raw}
			}
			return []string{fmt.Sprintf("%s include %s", l.Type, svc)}
		}, "Replace pam_stack.so service=NAME (EL4's include, removed since) by \"include NAME\", which does the same")
	case "pam_cracklib.so":
		return c.editLines(uses, func(u use, raw string) []string {
			l := u.line
			return []string{strings.Replace(raw, l.Module, path.Join(path.Dir(l.Module), succ), 1)}
		}, "Replace pam_cracklib.so by its maintained successor pam_pwquality.so, which takes the same options")
	}
	// pam_tally2 and pam_tally count failures in one module; pam_faillock
	// needs a "preauth" line where the old one was, an "authfail" line
	// after the password check to count failures, and an account line.
	return c.editLines(uses, func(u use, raw string) []string {
		l := u.line
		mod := path.Join(path.Dir(l.Module), succ)
		var keep []string
		for _, a := range l.Args {
			k, _, _ := strings.Cut(a, "=")
			switch k {
			case "deny", "unlock_time", "even_deny_root", "root_unlock_time", "audit", "silent":
				keep = append(keep, a)
			}
		}
		opts := strings.Join(keep, " ")
		switch l.Type {
		case "auth":
			return []string{
				strings.TrimSpace(fmt.Sprintf("auth %s %s preauth %s", l.Control, mod, opts)),
				// authfail goes after the password check: see below.
				"\x00authfail " + strings.TrimSpace(fmt.Sprintf("auth [default=die] %s authfail %s", mod, opts)),
			}
		case "account":
			return []string{fmt.Sprintf("account %s %s", l.Control, mod)}
		}
		return []string{checks.Marker + ": " + name + " has no " + l.Type + " part in " + succ + ": " + raw}
	}, fmt.Sprintf("Replace %s (removed from Linux-PAM 1.5) by its maintained successor %s with the same deny= and unlock_time=: a preauth line in its place, an authfail line after pam_unix where the stack has no jumps (else failures are not counted), and an account line", name, succ))
}

// editLines plans one write per file: each line of uses is replaced by
// what edit returns. A returned line starting with "\x00authfail " is
// placed after the file's pam_unix auth line instead; it is dropped when
// the file has none, or when its auth lines jump ([success=1]), where a
// line more would change where they land: failures are then not counted,
// which the fix's message says.
func (c *checker) editLines(uses []use, edit func(u use, raw string) []string, message string) (repair.Fix, error) {
	b := repair.NewFix(message)
	byFile := map[string][]use{}
	var order []string
	for _, u := range uses {
		if _, ok := byFile[u.file.Path]; !ok {
			order = append(order, u.file.Path)
		}
		byFile[u.file.Path] = append(byFile[u.file.Path], u)
	}
	for _, p := range order {
		us := byFile[p]
		lines, nl := checks.Lines(us[0].file.Data)
		repl := map[int][]string{}
		var after []string
		for _, u := range us {
			out := edit(u, lines[u.line.N-1])
			var here []string
			for _, o := range out {
				if rest, ok := strings.CutPrefix(o, "\x00authfail "); ok {
					after = append(after, rest)
					continue
				}
				here = append(here, o)
			}
			repl[u.line.N] = here
		}
		unixLine := 0
		if len(after) > 0 && !jumps(us[0].file, "auth") {
			for _, l := range us[0].file.Conf.Lines {
				if l.Type == "auth" && pamconf.ModuleName(l.Module) == "pam_unix.so" {
					unixLine = l.Last
				}
			}
		}
		var out []string
		for i, line := range lines {
			if r, ok := repl[i+1]; ok {
				out = append(out, r...)
			} else {
				out = append(out, line)
			}
			if i+1 == unixLine {
				out = append(out, after...)
			}
		}
		b.Add(repair.WriteFile(c.pass.Root, p, checks.JoinLines(out, nl)))
	}
	return b.Build()
}
