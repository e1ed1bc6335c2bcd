// Package kernels checks that the kernels in /boot can boot.
package kernels

const doc = `kernels in /boot without their initramfs, modules, System.map or config, and a default entry that boots one

A kernel boots only with its initramfs (initrd.img-V on Debian,
initramfs-V.img on RHEL-like systems), which must not be empty, and with
its modules in /lib/modules/V, which it loads after the switch to the real
root (network, filesystems, everything not built in). A kernel package
removed halfway, a full /boot during an update, or an initramfs build that
failed leaves a kernel that GRUB still lists, and if it is the default
entry the machine does not boot: "Kernel panic - not syncing: VFS: Unable
to mount root fs" without an initramfs, a system without network or
storage drivers without modules. A missing System.map or config does not
stop boot but marks a kernel package that is not whole.

The check lists every installed kernel (newest first) with what each one
lacks, and finds the kernel the boot loader starts by default (grubenv's
saved_entry, set default= in grub.cfg, the newest BLS entry, GRUB Legacy's
default=). When that kernel is incomplete or not installed and another
complete kernel has an entry, the fix makes that entry the default, the way
the distribution's tools would: saved_entry in grubenv on systems that
boot the saved entry (RHEL-like, BLS), the set default= value in grub.cfg
otherwise, default= in GRUB Legacy's grub.conf. It is reversible with
rescue undo. When only the initramfs is missing or empty and the modules
are there, a second fix rebuilds it with the target's own dracut or
update-initramfs (it needs --allow-chroot). On Debian, update-grub resets
the default to the newest kernel (GRUB_DEFAULT=0): repair or remove the
broken kernel before the next kernel update.

Before (grubenv; 5.14.0-362.8.1 has no initramfs):

  saved_entry=ec2a…-5.14.0-362.8.1.el9_3.x86_64

After:

  saved_entry=ec2a…-5.14.0-284.11.1.el9_2.x86_64
`
