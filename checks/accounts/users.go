package accounts

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/parse/osrelease"
	"rescue/parse/passwd"
	"rescue/repair"
	"rescue/sysroot"
)

// need is a system user an installed service cannot run without.
type need struct {
	user     string
	service  string
	severity checks.Severity
	impact   string
	evidence []string
}

// neededUsers decides from what is installed which system users must
// exist. Each rule looks for the service's program, so a minimal system
// without sshd is not told it lacks the sshd user.
func neededUsers(pass *checks.Pass) []need {
	r := pass.Root
	var out []need
	if p := firstFile(r, "/usr/sbin/sshd", "/sbin/sshd"); p != "" {
		out = append(out, need{
			user: "sshd", service: "sshd", severity: checks.Error,
			impact:   "sshd refuses to start (\"Privilege separation user sshd does not exist\"): no one can log in over SSH",
			evidence: []string{p + " is installed"},
		})
	}
	if p := firstFile(r, "/usr/bin/dbus-daemon", "/bin/dbus-daemon", "/usr/bin/dbus-broker", "/usr/bin/dbus-broker-launch"); p != "" {
		user, from := dbusUser(r, pass.Facts.OS())
		out = append(out, need{
			user: user, service: "the D-Bus system bus", severity: checks.Warning,
			impact:   "dbus fails to start, and with it systemd-logind and everything else on the system bus: logins are slow and sessions are not tracked",
			evidence: []string{p + " is installed", from},
		})
	}
	// polkitd runs as its own user since polkit 0.106, the release that
	// brought JavaScript rules.d; older polkit (Debian 11's 0.105) runs as
	// root and has no rules.d.
	if p := firstFile(r, "/usr/lib/polkit-1/polkitd", "/usr/libexec/polkitd", "/usr/libexec/polkit-1/polkitd"); p != "" {
		if d := firstDir(r, "/usr/share/polkit-1/rules.d", "/etc/polkit-1/rules.d"); d != "" {
			out = append(out, need{
				user: "polkitd", service: "polkit", severity: checks.Warning,
				impact:   "polkit.service fails: actions that ask polkit (pkexec, systemctl and timedatectl as a user) are refused",
				evidence: []string{p + " is installed", d + " exists (polkit >= 0.106 runs as polkitd)"},
			})
		}
	}
	for i := range out {
		if decl := sysusersDeclares(r, out[i].user); decl != "" {
			// systemd-sysusers recreates the user at boot, though with
			// whatever uid is free, not the one its files belong to.
			if out[i].severity == checks.Error {
				out[i].severity = checks.Warning
			}
			out[i].evidence = append(out[i].evidence, decl+" declares it: systemd-sysusers recreates it at boot, possibly with another uid")
		}
	}
	return out
}

var dbusUserTag = regexp.MustCompile(`<user>\s*([^<\s]+)\s*</user>`)

// dbusUser reads the user the system bus runs as from its configuration,
// falling back to the distribution's name for it.
func dbusUser(r *sysroot.Root, os osrelease.Info) (user, from string) {
	for _, p := range []string{"/usr/share/dbus-1/system.conf", "/etc/dbus-1/system.conf"} {
		data, err := r.ReadFileLimit(p, 1<<20)
		if err != nil {
			continue
		}
		if m := dbusUserTag.FindSubmatch(data); m != nil {
			return string(m[1]), fmt.Sprintf("%s says <user>%s</user>", p, m[1])
		}
	}
	if os.Family == osrelease.Debian {
		return "messagebus", "Debian's D-Bus runs as messagebus"
	}
	return "dbus", "D-Bus runs as dbus on this family"
}

// sysusersDeclares returns the sysusers.d file that creates user, or "".
func sysusersDeclares(r *sysroot.Root, user string) string {
	if firstFile(r, "/usr/bin/systemd-sysusers", "/bin/systemd-sysusers") == "" {
		return ""
	}
	for _, dir := range []string{"/etc/sysusers.d", "/usr/lib/sysusers.d", "/lib/sysusers.d"} {
		entries, err := r.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".conf") {
				continue
			}
			p := path.Join(dir, e.Name())
			data, err := r.ReadFileLimit(p, 1<<20)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(data), "\n") {
				f := strings.Fields(line)
				if len(f) >= 2 && (f[0] == "u" || f[0] == "u!") && f[1] == user {
					return p
				}
			}
		}
	}
	return ""
}

func firstFile(r *sysroot.Root, paths ...string) string {
	for _, p := range paths {
		if fi, err := r.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

func firstDir(r *sysroot.Root, paths ...string) string {
	for _, p := range paths {
		if fi, err := r.Stat(p); err == nil && fi.IsDir() {
			return p
		}
	}
	return ""
}

// loginDefsUIDMin returns UID_MIN from /etc/login.defs (1000 when unset).
func loginDefsUIDMin(r *sysroot.Root) uint32 {
	data, err := r.ReadFileLimit("/etc/login.defs", 1<<20)
	if err != nil {
		return 1000
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "UID_MIN" {
			if n, err := strconv.ParseUint(f[1], 10, 32); err == nil {
				return uint32(n)
			}
		}
	}
	return 1000
}

// noLogin reports whether a shell is one that refuses logins on purpose.
func noLogin(shell string) bool {
	switch path.Base(shell) {
	case "nologin", "false", "sync", "shutdown", "halt":
		return true
	}
	return false
}

// shells checks the login shells of root and of regular users.
func (c *checker) shells(a *file) {
	uidMin := loginDefsUIDMin(c.pass.Root)
	for _, l := range a.f.Entries() {
		uid, _ := passwd.UID(l, passwd.Passwd)
		name, shell := l.Name(), l.Field(6)
		if name != "root" && (uid < uidMin || uid == 65534) {
			continue
		}
		if shell == "" {
			shell = "/bin/sh" // what login and sshd run for an empty field
		}
		if noLogin(shell) {
			continue
		}
		problem := shellProblem(c.pass.Root, shell)
		if problem == "" {
			continue
		}
		f := checks.Finding{
			Kind: "shell", Subject: name, Severity: checks.Warning, Path: a.path, Line: l.N,
			Message:  fmt.Sprintf("%s's login shell %s %s", name, shell, problem),
			Impact:   fmt.Sprintf("%s cannot log in: the password is accepted, then the shell cannot be started", name),
			Evidence: []string{strings.TrimSuffix(l.Raw, "\r")},
		}
		if name == "root" {
			f.Severity = checks.Error
		}
		var whyNot string
		if err := restore.Add(c.pass, &f, shell); err != nil {
			whyNot = err.Error()
		}
		if name == "root" {
			if alt := workingShell(c.pass.Root, shell); alt != "" && a.f.CRLines() == 0 {
				fields := append([]string{}, l.Fields...)
				fields[6] = alt
				f.AddFix(checks.ReplaceLine(c.pass.Root, a.path, a.data, l.N, strings.Join(fields, ":"),
					fmt.Sprintf("Set root's login shell to %s", alt)))
			}
		}
		if len(f.Fixes) == 0 {
			f.NoFix = whyNot
		}
		c.pass.Report(f)
	}
}

// shellProblem says what is wrong with a shell path, or "".
func shellProblem(r *sysroot.Root, shell string) string {
	if !strings.HasPrefix(shell, "/") {
		return "is not an absolute path"
	}
	fi, err := r.Stat(shell)
	switch {
	case err != nil:
		return "does not exist"
	case fi.IsDir():
		return "is a directory"
	case !fi.Mode().IsRegular():
		return "is not a regular file"
	case fi.Size() == 0:
		return "is an empty file"
	case fi.Mode()&0o111 == 0:
		return fmt.Sprintf("is not executable (mode %v)", repair.ModeOf(fi.Mode()))
	}
	return ""
}

// workingShell returns a usable standard shell other than broken, or "".
func workingShell(r *sysroot.Root, broken string) string {
	for _, s := range []string{"/bin/bash", "/bin/sh"} {
		if s != broken && shellProblem(r, s) == "" {
			return s
		}
	}
	return ""
}
