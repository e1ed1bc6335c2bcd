// Package selinux checks that SELinux can start: its mode, its policy and
// the labels of the files it guards.
package selinux

const doc = `SELinux enforcing without a policy, a broken config, or unlabelled files

At boot systemd loads the SELinux policy named by SELINUXTYPE in
/etc/selinux/config (from /etc/selinux/TYPE/policy/policy.NN). When SELinux
is active and enforcing and that policy is missing, systemd stops with
"Failed to load SELinux policy. Freezing." before anything else runs. In
permissive mode a missing policy is only a warning. Whether SELinux is
active depends on the kernel command line as well as the config: EL kernels
enable it unless selinux=0; Debian and Ubuntu kernels only with selinux=1
(and security=selinux or lsm=…,selinux); enforcing=1 or enforcing=0 on the
command line override the config's mode. The command line is read from
grub.cfg, BLS entries, grubenv kernelopts and /etc/default/grub.

The check also reports an unreadable mode or type in the config, and key
system files without a security.selinux label on a system that enforces
(files restored without labels, or a system that ran with SELinux disabled):
under enforcing, confined services and logins are denied access to them.

Fixes. With no policy installed there is nothing to enforce: the default
fix sets SELINUX=disabled and removes selinux=1, security=selinux and
enforcing=1 from every kernel command line (grub.cfg, BLS entries, grubenv
kernelopts re-encoded at its fixed size, /etc/default/grub so that the next
grub-mkconfig keeps it). On EL, where the kernel runs SELinux anyway,
permissive (and enforcing=1 turned into enforcing=0) is offered as the
alternative; on Debian it is not, because a kernel started with selinux=1
and no policy leaves udev unable to label devices (measured under qemu: the
serial console never comes up). A malformed mode is set to permissive.
When a policy is present, an edit schedules a full relabel at next boot
(/.autorelabel), so SELinux is never weakened for good; without a policy
no relabel is scheduled (it would fail): reinstall the policy package, then
touch /.autorelabel.

Before (/etc/selinux/config, no /etc/selinux/targeted/policy):

  SELINUX=enforcing
  SELINUXTYPE=targeted

After (and selinux=1 security=selinux gone from the kernel lines):

  SELINUX=disabled
  SELINUXTYPE=targeted
`
