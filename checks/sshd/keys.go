package sshd

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"rescue/checks"
	"rescue/parse/osrelease"
	"rescue/repair"
	"rescue/sysroot"
)

// hostKeyFiles returns the host keys sshd loads: the HostKey lines, or
// the defaults when there are none (DSA too before OpenSSH 7.0).
func (c *checker) hostKeyFiles() (keys []string, configured bool) {
	for _, d := range c.cfg.Global("hostkey") {
		if len(d.Args) == 0 || strings.EqualFold(d.Args[0], "none") {
			continue
		}
		p := d.Args[0]
		switch {
		case strings.HasPrefix(p, "~/"):
			p = "/root/" + p[2:]
		case !strings.HasPrefix(p, "/"):
			p = "/" + p // sshd runs from /
		}
		keys = append(keys, p)
	}
	for _, d := range c.cfg.Global("hostdsakey") {
		if len(d.Args) > 0 {
			keys = append(keys, d.Args[0])
		}
	}
	if len(keys) > 0 {
		return keys, true
	}
	keys = []string{"/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key"}
	if c.version > 0 && c.version < 700 {
		keys = append(keys, "/etc/ssh/ssh_host_dsa_key")
	}
	return keys, false
}

// sshKeysGID returns the gid of the ssh_keys group on the RHEL family,
// whose sshd accepts host keys readable by that group; -1 elsewhere.
func (c *checker) sshKeysGID() int {
	if c.os.Family != osrelease.RHEL {
		return -1
	}
	for _, g := range c.groups {
		if g.name == "ssh_keys" {
			return g.gid
		}
	}
	return -1
}

// hostKeys reports host keys sshd ignores, and when none is left.
func (c *checker) hostKeys() {
	keys, configured := c.hostKeyFiles()
	sshKeys := c.sshKeysGID()
	usable, permsFixes := 0, 0
	var broken []string
	var modes []checks.Finding
	for _, k := range keys {
		fi, err := c.pass.Root.Stat(k)
		switch {
		case err != nil:
			broken = append(broken, k+": missing")
			continue
		case !fi.Mode().IsRegular():
			broken = append(broken, k+": not a regular file")
			continue
		case fi.Size() == 0:
			broken = append(broken, k+": empty")
			continue
		}
		data, err := c.pass.Root.ReadFileLimit(k, 1<<20)
		if err != nil || !bytes.Contains(data, []byte("PRIVATE KEY-----")) {
			broken = append(broken, k+": not a private key")
			continue
		}
		_, gid := sysroot.Owner(fi)
		mode := fi.Mode().Perm()
		groupOK := sshKeys >= 0 && gid == sshKeys && mode&0o077 == 0o040
		if mode&0o077 == 0 || groupOK {
			usable++
			continue
		}
		if coveredByPerms(k) {
			// The perms check reports and fixes the modes of the standard
			// host keys; counting the key here only keeps the "no usable
			// host key" finding from repeating it.
			permsFixes++
			continue
		}
		want := fs.FileMode(0o600)
		if sshKeys >= 0 && gid == sshKeys {
			want = 0o640
		}
		f := checks.Finding{
			Kind: "host-key-mode", Severity: checks.Warning, Path: k,
			Message: fmt.Sprintf("Permissions %04o for '%s' are too open: sshd ignores this host key", mode, k),
			Impact:  "clients that knew this key see a changed host key or cannot agree on one",
		}
		f.AddFix(repair.NewFix(fmt.Sprintf("Make %s readable by root only (%04o)", k, want)).
			Add(repair.Chmod(c.pass.Root, k, repair.ModeOf(want))).Build())
		modes = append(modes, f)
	}
	for _, f := range modes {
		if usable == 0 && permsFixes == 0 {
			// No other key is usable: sshd exits, and fixing the modes
			// is what brings it back.
			f.Severity = checks.Error
			f.Impact = "no other host key is usable, so sshd exits at start (\"no hostkeys available -- exiting\"): no one can log in over SSH"
		}
		c.pass.Report(f)
	}
	if usable > 0 || len(modes) > 0 || permsFixes > 0 {
		return
	}
	f := checks.Finding{
		Kind: "no-host-keys", Severity: checks.Error, Path: keys[0],
		Message:  "sshd has no usable host key",
		Impact:   "sshd exits at start (\"no hostkeys available -- exiting\"): no one can log in over SSH",
		Evidence: broken,
		NoFix:    "rescue does not make host keys (a new key is a new server identity): run ssh-keygen -A on the next boot, or let cloud-init make them on a new instance",
	}
	if !configured && c.os.Family == osrelease.RHEL && c.os.Major() >= 7 {
		f.Severity = checks.Info
		f.Impact = "sshd-keygen creates the missing default host keys at boot, before sshd starts; clients will see a new host key"
	}
	c.pass.Report(f)
}

// coveredByPerms reports whether the perms check owns the mode of a host
// key: the standard /etc/ssh/ssh_host_*_key files.
func coveredByPerms(p string) bool {
	ok, _ := path.Match("/etc/ssh/ssh_host_*_key", p)
	return ok
}

// authorizedKeysFiles returns the AuthorizedKeysFile paths for u, with
// sshd's tokens expanded and relative paths taken from the home directory.
func (c *checker) authorizedKeysFiles(u account) []string {
	patterns := []string{".ssh/authorized_keys", ".ssh/authorized_keys2"}
	if d := c.cfg.First("authorizedkeysfile"); d != nil && len(d.Args) > 0 {
		patterns = d.Args
	}
	var out []string
	for _, p := range patterns {
		if strings.EqualFold(p, "none") {
			continue
		}
		var b strings.Builder
		for i := 0; i < len(p); i++ {
			if p[i] != '%' || i+1 >= len(p) {
				b.WriteByte(p[i])
				continue
			}
			i++
			switch p[i] {
			case 'h':
				b.WriteString(u.home)
			case 'u':
				b.WriteString(u.name)
			case 'U':
				fmt.Fprint(&b, u.uid)
			case '%':
				b.WriteByte('%')
			default:
				b.WriteByte('%')
				b.WriteByte(p[i])
			}
		}
		s := b.String()
		if strings.HasPrefix(s, "~/") {
			s = path.Join(u.home, s[2:])
		}
		if !strings.HasPrefix(s, "/") {
			s = path.Join(u.home, s)
		}
		out = append(out, path.Clean(s))
	}
	return out
}

// strictModes reports, per user, the authorized_keys files and directories
// sshd's StrictModes refuses: group- or world-writable, or owned by
// someone other than root and the user, from the file up to the home
// directory.
func (c *checker) strictModes() {
	if d := c.cfg.First("strictmodes"); d != nil && len(d.Args) > 0 && strings.EqualFold(d.Args[0], "no") {
		return
	}
	for _, u := range c.users {
		if u.uid == 0 {
			continue // the perms check owns root's home, ~/.ssh and authorized_keys
		}
		home, err := c.pass.Root.Resolve(u.home)
		if err != nil || home == "" {
			continue
		}
		bad := map[string]string{}
		var order []string
		for _, keyFile := range c.authorizedKeysFiles(u) {
			real, err := c.pass.Root.Resolve(keyFile)
			if err != nil {
				continue
			}
			for p := real; ; p = path.Dir(p) {
				fi, err := c.pass.Root.Stat(p)
				if err != nil {
					break
				}
				uid, _ := sysroot.Owner(fi)
				var why []string
				if uid != 0 && uid != u.uid {
					why = append(why, fmt.Sprintf("owned by uid %d", uid))
				}
				if fi.Mode().Perm()&0o022 != 0 {
					why = append(why, fmt.Sprintf("mode %04o", fi.Mode().Perm()))
				}
				if len(why) > 0 {
					if _, seen := bad[p]; !seen {
						order = append(order, p)
					}
					bad[p] = strings.Join(why, ", ")
				}
				if p == home || p == "/" {
					break
				}
			}
		}
		if len(order) == 0 {
			continue
		}
		f := checks.Finding{
			Kind: "strict-modes", Subject: u.name, Severity: checks.Error, Path: order[0],
			Message: fmt.Sprintf("sshd refuses the keys of %s: bad ownership or modes for %s", u.name, order[0]),
			Impact:  fmt.Sprintf("with StrictModes (the default) sshd ignores %s's authorized_keys (\"Authentication refused: bad ownership or modes\"): key logins as %s fail", u.name, u.name),
		}
		b := repair.NewFix(fmt.Sprintf("Make %s's authorized_keys and the directories above it writable by %s only", u.name, u.name))
		for _, p := range order {
			f.Evidence = append(f.Evidence, p+": "+bad[p])
			fi, _ := c.pass.Root.Stat(p)
			uid, _ := sysroot.Owner(fi)
			if mode := fi.Mode().Perm(); mode&0o022 != 0 {
				b.Add(repair.Chmod(c.pass.Root, p, repair.ModeOf(fi.Mode()&^0o022)))
			}
			if uid != 0 && uid != u.uid {
				b.Add(repair.Chown(c.pass.Root, p, u.uid, u.gid))
			}
		}
		f.AddFix(b.Build())
		c.pass.Report(f)
	}
}

// privsep checks that the privilege separation directory of the RHEL
// family (/var/empty/sshd) exists and is a directory; its mode and owner
// are the perms check's.
func (c *checker) privsep() {
	if c.os.Family != osrelease.RHEL {
		return
	}
	const dir = "/var/empty/sshd"
	fi, err := c.pass.Root.Stat(dir)
	if err != nil {
		f := checks.Finding{
			Kind: "privsep-dir", Severity: checks.Error, Path: dir,
			Message: fmt.Sprintf("the privilege separation directory %s is missing", dir),
			Impact:  "sshd exits at start (\"Missing privilege separation directory\"): no one can log in over SSH",
		}
		f.AddFix(repair.NewFix("Recreate " + dir + " (root, 0711)").Add(repair.Mkdir(c.pass.Root, dir, 0o711)).Build())
		c.pass.Report(f)
		return
	}
	if !fi.IsDir() {
		c.pass.Report(checks.Finding{
			Kind: "privsep-dir", Severity: checks.Error, Path: dir,
			Message: fmt.Sprintf("the privilege separation directory %s is not a directory", dir),
			Impact:  "sshd exits at start: no one can log in over SSH",
			NoFix:   dir + " is not a directory; move it away and reinstall openssh-server",
		})
	}
	// Its mode and owner are the perms check's.
}
