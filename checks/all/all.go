// Package all is the explicit list of every check rescue runs, in the order
// they run and are documented. A check is added here by hand: there is no
// init() registration, so what runs is what this file says.
package all

import (
	"rescue/checks"
	"rescue/checks/accounts"
	"rescue/checks/auditd"
	"rescue/checks/backdoors"
	"rescue/checks/bootloader"
	"rescue/checks/cron"
	"rescue/checks/dropped"
	"rescue/checks/firewall"
	"rescue/checks/fsstate"
	"rescue/checks/fstab"
	"rescue/checks/grub"
	"rescue/checks/hosts"
	"rescue/checks/immutable"
	"rescue/checks/initramfs"
	"rescue/checks/intrusion"
	"rescue/checks/kernels"
	"rescue/checks/libs"
	"rescue/checks/limits"
	"rescue/checks/logindefs"
	"rescue/checks/modules"
	"rescue/checks/network"
	"rescue/checks/nss"
	"rescue/checks/pam"
	"rescue/checks/perms"
	"rescue/checks/pkgfiles"
	"rescue/checks/preload"
	"rescue/checks/profile"
	"rescue/checks/rclocal"
	"rescue/checks/replaced"
	"rescue/checks/selinux"
	"rescue/checks/sshd"
	"rescue/checks/sshkeys"
	"rescue/checks/startup"
	"rescue/checks/sysctl"
	"rescue/checks/sysdirs"
	"rescue/checks/udev"
	"rescue/checks/units"
	"rescue/checks/zerosize"
)

// Checks returns every check.
func Checks() []*checks.Check {
	return []*checks.Check{
		fstab.Check,
		bootloader.Check,
		grub.Check,
		kernels.Check,
		initramfs.Check,
		sysdirs.Check,
		fsstate.Check,
		auditd.Check,
		sysctl.Check,
		selinux.Check,
		perms.Check,
		immutable.Check,
		profile.Check,
		logindefs.Check,
		limits.Check,
		sshd.Check,
		network.Check,
		firewall.Check,
		rclocal.Check,
		accounts.Check,
		pam.Check,
		nss.Check,
		libs.Check,
		zerosize.Check,
		pkgfiles.Check,
		// The intrusions family: what a compromise left behind.
		cron.Check,
		units.Check,
		preload.Check,
		startup.Check,
		sshkeys.Check,
		backdoors.Check,
		hosts.Check,
		modules.Check,
		udev.Check,
		replaced.Check,
		dropped.Check,
	}
}

// Lookup returns the check with the given name, or nil.
func Lookup(name string) *checks.Check {
	for _, c := range Checks() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Families returns the documentation of each family of checks, by family
// name: rescue explain prints it, and make docs writes it as a page.
func Families() map[string]string {
	return map[string]string{intrusion.Family: intrusion.FamilyDoc}
}
