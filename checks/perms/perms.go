package perms

import (
	"fmt"
	"path"
	"strings"

	"rescue/checks"
	"rescue/facts"
	"rescue/parse/osrelease"
	"rescue/repair"
	"rescue/sysroot"
)

// Check is the perms check.
var Check = &checks.Check{
	Name:     "perms",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease, facts.Accounts},
	Kinds:    []string{"root-dir", "system-dir", "ssh-dir", "host-key", "privsep-dir", "home", "dot-ssh", "authorized-keys", "tmp", "account-file", "shadow-file", "sudoers", "setuid"},
	Reads:    []string{"/", "/etc", "/usr", "/usr/bin", "/usr/sbin", "/etc/ssh", "/etc/security", "/etc/sudoers", "/etc/sudoers.d"},
	Run:      run,
}

type checker struct {
	pass     *checks.Pass
	el       bool
	accounts *facts.AccountDB // the target's users and groups
}

func run(pass *checks.Pass) error {
	c := &checker{pass: pass, el: pass.Facts.OS().Family == osrelease.RHEL, accounts: pass.Facts.Accounts()}
	c.root()
	c.systemDirs()
	c.ssh()
	c.rootHome()
	c.tmp()
	c.accountFiles()
	c.sudo()
	return nil
}

// stat returns the mode bits and owner of path (following symlinks inside
// the root), or ok=false when it does not exist.
func (c *checker) stat(p string) (mode repair.Mode, uid, gid int, isDir, ok bool) {
	fi, err := c.pass.Root.Stat(p)
	if err != nil {
		return 0, 0, 0, false, false
	}
	uid, gid = sysroot.Owner(fi)
	return repair.ModeOf(fi.Mode()), uid, gid, fi.IsDir(), true
}

// issue describes one wrong path and its repair.
type issue struct {
	kind     string
	severity checks.Severity
	path     string
	what     string // what is wrong
	impact   string
	mode     *repair.Mode // wanted mode, nil to keep
	owner    *repair.Owner
}

func (c *checker) report(is issue) {
	f := checks.Finding{
		Kind: is.kind, Severity: is.severity, Path: is.path,
		Message: is.what, Impact: is.impact,
	}
	b := repair.NewFix(fixMessage(is))
	// Owner first: chown clears setuid and setgid bits, chmod then sets
	// the mode wanted.
	if is.owner != nil {
		b.Add(repair.Chown(c.pass.Root, is.path, is.owner.UID, is.owner.GID))
	}
	if is.mode != nil {
		b.Add(repair.Chmod(c.pass.Root, is.path, *is.mode))
	}
	f.AddFix(b.Build())
	c.pass.Report(f)
}

func fixMessage(is issue) string {
	var parts []string
	if is.owner != nil {
		parts = append(parts, fmt.Sprintf("chown %d:%d", is.owner.UID, is.owner.GID))
	}
	if is.mode != nil {
		parts = append(parts, "chmod "+is.mode.String())
	}
	return strings.Join(parts, " and ") + " " + is.path
}

func mode(m repair.Mode) *repair.Mode { return &m }

var rootOwner = &repair.Owner{}

// root checks / itself.
func (c *checker) root() {
	m, uid, gid, _, ok := c.stat("/")
	if !ok {
		return
	}
	want := repair.Mode(0o755)
	if c.el {
		want = 0o555
	}
	is := issue{kind: "root-dir", severity: checks.Warning, path: "/"}
	if uid != 0 || gid != 0 {
		is.owner = rootOwner
	}
	switch {
	case m&0o022 != 0:
		is.mode = mode(want)
		is.what = fmt.Sprintf("/ has mode %s: writable by group or others", m)
		is.impact = "any local user can rename /etc, /usr or /boot and replace the whole system"
	case m&0o555 != 0o555 && m != 0o755:
		is.mode = mode(want)
		is.severity = checks.Error
		is.what = fmt.Sprintf("/ has mode %s: not readable and searchable by everyone", m)
		is.impact = "services that drop root (sshd's privilege separation, dbus, systemd-resolved) cannot reach any file and fail"
	case is.owner != nil:
		is.severity = checks.Error
		is.what = fmt.Sprintf("/ is owned by %d:%d, not root", uid, gid)
		is.impact = "its owner can replace the whole system; sshd and sudo refuse paths with unsafe owners"
	default:
		return
	}
	c.report(is)
}

// systemDirs must not be writable by group or others, and belong to root.
func (c *checker) systemDirs() {
	for _, p := range []string{"/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64", "/boot", "/etc/pam.d", "/etc/security", "/etc/sudoers.d"} {
		// A merged-/usr link (/bin -> usr/bin) is checked at its
		// target; do not report the same directory twice.
		if resolved, err := c.pass.Root.Resolve(p); err != nil || resolved != p {
			continue
		}
		m, uid, gid, isDir, ok := c.stat(p)
		if !ok || !isDir {
			continue
		}
		is := issue{kind: "system-dir", severity: checks.Warning, path: p}
		if uid != 0 {
			is.owner = &repair.Owner{UID: 0, GID: gid}
			if gid != 0 {
				is.owner.GID = 0
			}
		}
		if m&0o022 != 0 {
			is.mode = mode(m &^ 0o022)
		}
		if is.mode == nil && is.owner == nil {
			continue
		}
		is.what = fmt.Sprintf("%s has mode %s and owner %d:%d: it must be root's and not writable by group or others", p, m, uid, gid)
		is.impact = "any local user can replace the programs, libraries or configuration in it"
		if p == "/etc/sudoers.d" {
			is.severity = checks.Error
			is.impact = "sudo refuses to read a writable sudoers.d, so nobody can use sudo"
		}
		c.report(is)
	}
}

// ssh checks /etc/ssh, the host keys and the privilege-separation
// directory.
func (c *checker) ssh() {
	if m, uid, _, isDir, ok := c.stat("/etc/ssh"); ok && isDir && (m&0o022 != 0 || uid != 0) {
		is := issue{kind: "ssh-dir", severity: checks.Error, path: "/etc/ssh", mode: mode(0o755),
			what:   fmt.Sprintf("/etc/ssh has mode %s and owner uid %d", m, uid),
			impact: "anyone can replace sshd's configuration and host keys; sshd's own checks of the keys fail with it"}
		if uid != 0 {
			is.owner = rootOwner
		}
		c.report(is)
	}
	keys, _ := c.pass.Root.Glob("/etc/ssh/ssh_host_*_key")
	sshKeys, hasSSHKeys := c.gid("ssh_keys")
	for _, k := range keys {
		m, uid, gid, isDir, ok := c.stat(k)
		if !ok || isDir {
			continue
		}
		groupOK := c.el && hasSSHKeys && gid == sshKeys && m&0o070 == 0o040
		bad := m&0o007 != 0 || (m&0o070 != 0 && !groupOK) || m&0o200 == 0 || uid != 0
		if !bad {
			continue
		}
		want := repair.Mode(0o600)
		if groupOK {
			want = 0o640
		}
		is := issue{kind: "host-key", severity: checks.Error, path: k, mode: mode(want),
			what:   fmt.Sprintf("private host key %s has mode %s and owner uid %d", k, m, uid),
			impact: "sshd refuses the key (\"UNPROTECTED PRIVATE KEY FILE\") and, with no usable host key, does not start: nobody can log in over ssh"}
		if uid != 0 {
			is.owner = &repair.Owner{UID: 0, GID: gid}
		}
		c.report(is)
	}
	if c.el {
		if m, uid, _, isDir, ok := c.stat("/var/empty/sshd"); ok && isDir && (uid != 0 || m&0o022 != 0) {
			is := issue{kind: "privsep-dir", severity: checks.Error, path: "/var/empty/sshd", mode: mode(0o711),
				what:   fmt.Sprintf("sshd's privilege-separation directory /var/empty/sshd has mode %s and owner uid %d", m, uid),
				impact: "sshd refuses to start (\"/var/empty/sshd must be owned by root and not group or world-writable\")"}
			if uid != 0 {
				is.owner = rootOwner
			}
			c.report(is)
		}
	}
}

// rootHome checks what StrictModes checks for root's key login.
func (c *checker) rootHome() {
	home := c.pass.Facts.RootHome()
	strict := "sshd (StrictModes) refuses root's key logins"
	if m, uid, gid, isDir, ok := c.stat(home); ok && isDir && (m&0o022 != 0 || uid != 0) {
		want := m &^ 0o022
		is := issue{kind: "home", severity: checks.Error, path: home, mode: mode(want),
			what: fmt.Sprintf("root's home %s has mode %s and owner uid %d", home, m, uid), impact: strict}
		if uid != 0 {
			is.owner = &repair.Owner{UID: 0, GID: gid}
		}
		c.report(is)
	}
	ssh := path.Join(home, ".ssh")
	if m, uid, gid, isDir, ok := c.stat(ssh); ok && isDir && (m&0o077 != 0 || uid != 0) {
		is := issue{kind: "dot-ssh", severity: checks.Error, path: ssh, mode: mode(0o700),
			what: fmt.Sprintf("%s has mode %s and owner uid %d; it must be 0700 and root's", ssh, m, uid), impact: strict}
		if m&0o022 == 0 && uid == 0 {
			is.severity = checks.Warning
			is.impact = "others can list root's keys"
		}
		if uid != 0 {
			is.owner = &repair.Owner{UID: 0, GID: gid}
		}
		c.report(is)
	}
	for _, name := range []string{"authorized_keys", "authorized_keys2"} {
		p := path.Join(ssh, name)
		m, uid, gid, isDir, ok := c.stat(p)
		if !ok || isDir || (m&0o022 == 0 && uid == 0) {
			continue
		}
		is := issue{kind: "authorized-keys", severity: checks.Error, path: p, mode: mode(0o600),
			what: fmt.Sprintf("%s has mode %s and owner uid %d", p, m, uid), impact: strict}
		if uid != 0 {
			is.owner = &repair.Owner{UID: 0, GID: gid}
		}
		c.report(is)
	}
}

// tmp checks /tmp and /var/tmp: world-writable with the sticky bit.
func (c *checker) tmp() {
	for _, p := range []string{"/tmp", "/var/tmp"} {
		m, _, _, isDir, ok := c.stat(p)
		if !ok || !isDir || m == 0o1777 {
			continue
		}
		is := issue{kind: "tmp", severity: checks.Warning, path: p, mode: mode(0o1777),
			what: fmt.Sprintf("%s has mode %s; it must be 1777 (world-writable, sticky)", p, m)}
		if m&0o002 == 0 {
			is.impact = "services and users that are not root cannot create temporary files; many fail to start"
		} else {
			is.impact = "without the sticky bit any user can delete or replace other users' and services' temporary files"
		}
		c.report(is)
	}
}

// accountFiles checks passwd, group, shadow and gshadow.
func (c *checker) accountFiles() {
	for _, p := range []string{"/etc/passwd", "/etc/group"} {
		m, uid, _, isDir, ok := c.stat(p)
		if !ok || isDir || (m == 0o644 && uid == 0) {
			continue
		}
		is := issue{kind: "account-file", severity: checks.Warning, path: p, mode: mode(0o644),
			what: fmt.Sprintf("%s has mode %s and owner uid %d; it must be 0644 and root's", p, m, uid)}
		switch {
		case m&0o004 == 0:
			is.severity = checks.Error
			is.impact = "programs that do not run as root cannot map user and group ids to names: logins show \"I have no name!\" and services fail"
		case m&0o022 != 0 || uid != 0:
			is.severity = checks.Error
			is.impact = "any local user can add an account with uid 0"
		default:
			is.impact = "unusual mode; tools that rewrite the file may refuse"
		}
		if uid != 0 {
			is.owner = rootOwner
		}
		c.report(is)
	}
	shadowGID, hasShadow := c.gid("shadow")
	for _, p := range []string{"/etc/shadow", "/etc/gshadow"} {
		m, uid, gid, isDir, ok := c.stat(p)
		if !ok || isDir || (m&0o007 == 0 && uid == 0) {
			continue
		}
		want := repair.Mode(0)
		if !c.el {
			want = 0o640
		}
		is := issue{kind: "shadow-file", severity: checks.Error, path: p, mode: mode(want),
			what:   fmt.Sprintf("%s has mode %s and owner uid %d: others can read or change it", p, m, uid),
			impact: "every local user can read the password hashes (and, if writable, set root's password)"}
		if uid != 0 || (!c.el && hasShadow && gid != shadowGID) || (c.el && gid != 0) {
			g := 0
			if !c.el && hasShadow {
				g = shadowGID
			}
			is.owner = &repair.Owner{UID: 0, GID: g}
		}
		c.report(is)
	}
}

// sudo checks /etc/sudoers, sudo and su.
func (c *checker) sudo() {
	if m, uid, gid, isDir, ok := c.stat("/etc/sudoers"); ok && !isDir && (m&0o022 != 0 || uid != 0 || gid != 0 || m&0o007 != 0) {
		is := issue{kind: "sudoers", severity: checks.Error, path: "/etc/sudoers", mode: mode(0o440),
			what:   fmt.Sprintf("/etc/sudoers has mode %s and owner %d:%d; sudo wants 0440 root:root", m, uid, gid),
			impact: "sudo refuses to run (\"/etc/sudoers is world writable\" or \"is owned by uid N, should be 0\"): on a cloud image whose root login is disabled nobody can become root"}
		if uid != 0 || gid != 0 {
			is.owner = rootOwner
		}
		c.report(is)
	}
	for _, p := range []string{"/usr/bin/sudo", "/usr/bin/su"} {
		m, uid, gid, isDir, ok := c.stat(p)
		if !ok || isDir || (m&0o4000 != 0 && uid == 0 && m&0o022 == 0) {
			continue
		}
		want := repair.Mode(0o4755)
		if c.el && p == "/usr/bin/sudo" {
			want = 0o4111
		}
		is := issue{kind: "setuid", severity: checks.Error, path: p, mode: mode(want),
			what:   fmt.Sprintf("%s has mode %s and owner uid %d; it must be setuid root", p, m, uid),
			impact: fmt.Sprintf("%s cannot switch to root (\"must be owned by uid 0 and have the setuid bit set\")", path.Base(p))}
		if uid != 0 {
			is.owner = &repair.Owner{UID: 0, GID: gid}
		}
		c.report(is)
	}
}

// gid returns the gid the target's /etc/group gives a group name.
func (c *checker) gid(group string) (int, bool) {
	g, ok := c.accounts.GID(group)
	return int(g), ok
}
