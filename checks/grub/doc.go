// Package grub checks what the boot loader asks for against the disk.
package grub

const doc = `GRUB configurations whose root, kernel, initramfs or /boot filesystem do not exist

GRUB reads its configuration (GRUB 2: /boot/grub2/grub.cfg on RHEL-like
systems, /boot/grub/grub.cfg on Debian-like ones, EFI/<vendor>/grub.cfg on
the EFI system partition, and the BLS entries /boot/loader/entries/*.conf
with variables such as $kernelopts from grubenv; GRUB Legacy on CentOS 6:
/boot/grub/grub.conf), finds /boot with "search --fs-uuid", loads the
kernel and initramfs named there, and hands the kernel its command line,
whose root= tells the initramfs which filesystem to mount as /. What
breaks, and how:

  - a missing or empty configuration: GRUB stops at its "grub>" prompt
    (only on the VGA console; the serial console stays silent);
  - root= naming a UUID, LABEL or PARTUUID no filesystem has (a restored
    snapshot, a recreated filesystem, a cloned image): the initramfs waits,
    then drops to its emergency shell ("ALERT! UUID=… does not exist");
    root= naming another filesystem mounts the wrong root;
  - root=/dev/sda1-style kernel names: they change with the instance type
    (xvda on Xen, nvme0n1 on Nitro, vda on KVM);
  - $kernelopts that nothing defines (a lost grubenv on EL8): the kernel
    gets no root= at all;
  - a "search --fs-uuid" for a filesystem that is gone: GRUB cannot find
    /boot and reports "no such device";
  - a kernel or initramfs path that does not exist (mind a separate /boot:
    GRUB's paths are relative to the /boot filesystem);
  - a grubenv that is not a valid environment block: GRUB ignores it, so
    saved_entry and kernelopts are lost;
  - /boot/grub*/device.map naming /dev/sd* or /dev/hd* where the disk is
    /dev/vd*: grub-install and grub-mkconfig fail on the next kernel update;
  - /etc/default/grub whose GRUB_CMDLINE_LINUX carries a stale root=:
    grub-mkconfig copies it after its own root=, so the kernel takes it and
    the next kernel update breaks boot again.

The root filesystem and /boot are identified from the block-device list
(scan the device, or give --devices and --root-device); without it, root=
and search UUIDs are not checked. Fixes rewrite only the bad token and keep
every other byte of the file: root= becomes root=UUID=<real root>, a stale
search UUID becomes the /boot filesystem's UUID, a path that exists with or
without the /boot prefix gets that prefix right, device.map gets the disk's
real name. A missing or empty configuration is replaced by a minimal one
written without running GRUB's tools: one entry per complete kernel, newest
first, root=UUID= of the real root, the console settings and kernel
arguments of /etc/default/grub (GRUB Legacy format on CentOS 6; on EFI
systems of Debian and EL9 a stub that hands over to /boot). Regenerate the
distribution's full configuration with grub2-mkconfig or update-grub once
the system is up.

Before (grub.cfg; the root filesystem is now UUID=2222-real):

  linux /boot/vmlinuz-6.1.0-18-amd64 root=UUID=1111-dead ro quiet

After:

  linux /boot/vmlinuz-6.1.0-18-amd64 root=UUID=2222-real ro quiet
`
