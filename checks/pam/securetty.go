package pam

import (
	"fmt"
	"strings"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/facts/pamstack"
	"rescue/parse/pamconf"
	"rescue/repair"
)

const securettyPath = "/etc/securetty"

// securetty reports an /etc/securetty that makes pam_securetty refuse
// root on every terminal, when login's stack runs pam_securetty.
func (c *checker) securetty() {
	if !c.installed("login") || !c.usesSecuretty() {
		return
	}
	fi, err := c.pass.Root.Stat(securettyPath)
	if err != nil {
		// pam_securetty lets root in everywhere when the file is
		// missing ("for compatibility with old securetty handling").
		return
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o002 != 0 {
		f := checks.Finding{
			Kind: "securetty-unsafe", Severity: checks.Error, Path: securettyPath,
			Message: fmt.Sprintf("%s is world-writable or not a regular file (mode %v)", securettyPath, fi.Mode()),
			Impact:  "pam_securetty refuses root on every terminal when its file is world-writable: root cannot log in on the console",
		}
		if fi.Mode().IsRegular() {
			f.AddFix(repair.NewFix(fmt.Sprintf("Remove the world-write bit from %s", securettyPath)).
				Add(repair.Chmod(c.pass.Root, securettyPath, repair.ModeOf(fi.Mode())&^0o002)).Build())
		} else {
			f.NoFix = "replace it with a regular file by hand"
		}
		c.pass.Report(f)
		return
	}
	data, err := c.pass.Root.ReadFileLimit(securettyPath, 1<<20)
	if err != nil {
		return
	}
	lines, nl := checks.Lines(data)
	var ttys, cr int
	for _, l := range lines {
		if strings.HasSuffix(l, "\r") {
			cr++
		}
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			ttys++
		}
	}
	switch {
	case ttys == 0:
		f := checks.Finding{
			Kind: "securetty-empty", Severity: checks.Error, Path: securettyPath,
			Message: fmt.Sprintf("%s lists no terminal, and login's PAM stack runs pam_securetty", securettyPath),
			Impact:  "pam_securetty refuses root on every terminal (current Linux-PAM still lets root in on the terminals the kernel command line names with console=): root cannot log in on the local console",
		}
		c.restoreConfigFile(&f, securettyPath)
		c.pass.Report(f)
	case cr == len(lines):
		var out []string
		for _, l := range lines {
			out = append(out, strings.TrimSuffix(l, "\r"))
		}
		f := checks.Finding{
			Kind: "securetty-crlf", Severity: checks.Error, Path: securettyPath,
			Message: fmt.Sprintf("every line of %s ends in a carriage return (DOS line endings)", securettyPath),
			Impact:  "pam_securetty compares whole lines: \"tty1\\r\" matches no terminal, so root is refused everywhere",
		}
		f.AddFix(repair.NewFix("Strip the carriage returns (DOS line endings) from " + securettyPath).
			Add(repair.WriteFile(c.pass.Root, securettyPath, checks.JoinLines(out, nl))).Build())
		c.pass.Report(f)
	}
}

// usesSecuretty reports whether login's auth or account stack runs
// pam_securetty in a way whose failure counts.
func (c *checker) usesSecuretty() bool {
	for _, t := range []string{"auth", "account"} {
		for _, e := range c.stack("login", t).Entries {
			if pamconf.ModuleName(e.Line.Module) == "pam_securetty.so" && e.Line.Err == nil && fatal(e.Line.Control) {
				return true
			}
		}
	}
	return false
}

// restoreConfigFile offers restoring a non-PAM configuration file from its
// package or a same-named backup with content.
func (c *checker) restoreConfigFile(f *checks.Finding, target string) {
	pkgErr := restore.Add(c.pass, f, target)
	for _, s := range pamstack.BackupSuffixes {
		b := target + s
		data, err := c.pass.Root.ReadFileLimit(b, 1<<20)
		if err != nil || strings.TrimSpace(string(data)) == "" {
			continue
		}
		f.AddFix(repair.NewFix(fmt.Sprintf("Restore %s from %s", target, b)).
			Add(repair.WriteFile(c.pass.Root, target, data)).Build())
		break
	}
	if len(f.Fixes) == 0 {
		f.NoFix = fmt.Sprintf("%v; and there is no backup of it; list the terminals root may use (console, tty1, ttyS0) by hand", pkgErr)
	}
}
