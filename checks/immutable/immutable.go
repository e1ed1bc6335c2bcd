package immutable

import (
	"fmt"
	"path"

	"rescue/checks"
	"rescue/facts"
	"rescue/sysroot"
)

// Check is the immutable check.
var Check = &checks.Check{
	Name:     "immutable",
	Doc:      doc,
	Requires: []facts.Fact{facts.Accounts},
	Kinds:    []string{"locked"},
	Reads:    []string{"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/resolv.conf", "/etc/ssh/sshd_config"},
	Run:      run,
}

// watched are the files whose change is how one gets back into a machine,
// with what a lock on them breaks.
var watched = []struct {
	path   string
	impact string
}{
	{"/etc/passwd", "useradd and cloud-init cannot add users; passwd cannot change shells"},
	{"/etc/shadow", "passwd, chpasswd and the cloud's password reset cannot change any password"},
	{"/etc/group", "groupadd, usermod and cloud-init cannot change groups"},
	{"/etc/gshadow", "groupadd and usermod fail"},
	{"/etc/resolv.conf", "DHCP and NetworkManager cannot write DNS servers: name resolution keeps stale servers"},
	{"/etc/sudoers", "visudo and configuration management cannot change sudo rules"},
	{"/etc/ssh/sshd_config", "sshd's configuration cannot be repaired or updated"},
}

func run(pass *checks.Pass) error {
	home := pass.Facts.RootHome()
	list := append([]struct {
		path   string
		impact string
	}{}, watched...)
	list = append(list, struct {
		path   string
		impact string
	}{path.Join(home, ".ssh/authorized_keys"), "the cloud's key-pair reset (cloud-init, the guest agent) cannot install a new key for root"},
		struct {
			path   string
			impact string
		}{path.Join(home, ".ssh"), "no key file can be added or replaced for root"})
	for _, w := range list {
		fi, err := pass.Root.Stat(w.path)
		if err != nil || (!fi.Mode().IsRegular() && !fi.IsDir()) {
			continue
		}
		flags, err := pass.Root.Flags(w.path)
		if err != nil || flags&(sysroot.FlagImmutable|sysroot.FlagAppend) == 0 {
			continue
		}
		what := "immutable (chattr +i)"
		if flags&sysroot.FlagImmutable == 0 {
			what = "append-only (chattr +a)"
		}
		pass.Report(checks.Finding{
			Kind: "locked", Severity: checks.Warning, Path: w.path,
			Message: fmt.Sprintf("%s is %s: not even root can change it", w.path, what),
			Impact:  w.impact,
			NoFix:   fmt.Sprintf("the flag is often set on purpose; if not, clear it with chattr -i -a %s (rescue fix --clear-immutable lifts it only for its own changes)", w.path),
		})
	}
	return nil
}
