// Package initramfs checks that each initramfs holds the drivers the
// machine needs to find and mount its root filesystem.
package initramfs

const doc = `initramfs images without the disk drivers the cloud needs or the root filesystem's module

The initramfs must find the root disk and mount it before anything on that
disk can run, so the disk's driver (virtio_blk and virtio_pci for /dev/vd*
on KVM clouds, virtio_scsi for virtio-SCSI, nvme on Nitro-style instances,
xen-blkfront for /dev/xvd* on Xen) and the root filesystem's module (xfs,
ext4, btrfs) must be in it, unless the kernel has them built in
(/lib/modules/V/modules.builtin). dracut builds host-only images by
default on RHEL-like systems: an image built on one instance type lacks the
drivers of another, so moving the disk to another instance family (or
restoring it on another hypervisor) ends in the dracut emergency shell
("Could not boot", "/dev/disk/by-uuid/… does not exist"). Debian's
initramfs-tools (MODULES=most) includes them unless MODULES=dep was set.

The check lists each image in pure Go, without running the target's lsinitrd
or lsinitramfs: the uncompressed early-microcode archive, then the main
archive compressed with gzip, xz, zstd, lz4, lzma or bzip2. A driver the
disk is attached through (the bus the last boot's kernel log shows the root
on, or else the one the helper sees the disk on: /dev/vd*, /dev/xvd* or
/dev/nvme*) or the root filesystem's module missing from the default
kernel's image is critical; the other cloud drivers missing are a warning
(the next migration breaks boot); an image that cannot be read is critical
for the default kernel.

The fix rebuilds the image with the target's own tool, run in a chroot of
the target with /dev, /proc and /sys bound (so it needs --allow-chroot):
dracut --force --add-drivers "…" IMAGE VERSION on RHEL-like systems, with
/etc/dracut.conf.d/rescue-drivers.conf so later kernels get the drivers too;
update-initramfs -u -k VERSION on Debian-like systems, after adding the
drivers to /etc/initramfs-tools/modules; mkinitrd --with=… where neither
exists. The old image is backed up first, and rescue undo puts it back.

Before (lsinitrd /boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img):

  usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64/kernel/drivers/block/xen-blkfront.ko.xz
  usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64/kernel/fs/xfs/xfs.ko.xz

After (dracut --force --add-drivers "virtio_blk virtio_pci virtio_scsi nvme"):

  usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64/kernel/drivers/block/virtio_blk.ko.xz
  usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64/kernel/drivers/block/xen-blkfront.ko.xz
  usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64/kernel/drivers/nvme/host/nvme.ko.xz
  …
`
