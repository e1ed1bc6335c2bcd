// Package fstab checks /etc/fstab against the filesystems that really exist.
package fstab

const doc = `fstab entries whose device does not exist, or that mount the wrong type

The initramfs mounts / from the kernel command line; systemd then reads
/etc/fstab, remounts / as the fstab entry says and mounts everything else.
An entry whose source (UUID=, LABEL=, PARTUUID=, PARTLABEL=, or their
/dev/disk/by-* forms) matches no filesystem of the disk breaks boot:

  - for /: systemd-remount-fs fails, / stays read-only and the system comes up
    degraded (nothing can be written, services fail);
  - for any other mount without nofail: systemd waits 90 s for the device,
    then local-fs.target fails and the machine drops to emergency mode, where
    a cloud instance with a locked root account cannot be reached at all;
  - with nofail, the mount is skipped and boot goes on.

This happens when a disk is restored from a snapshot, a filesystem is
recreated, a data disk is detached, or an image is cloned (new UUIDs). The
check also reports an entry whose type differs from the filesystem's, a
missing bind source or swap file, a missing root entry, kernel device names
(/dev/sda1, /dev/xvda1) that change between instance types, CRLF line
endings and malformed lines (with their line numbers).

Fixes keep every other line, comment and column exactly as they were:
a stale root source is pointed at the real root filesystem's UUID; a
non-root entry whose device is absent gets nofail and
x-systemd.device-timeout=10s (never /), or, as the alternative, is
commented out.

Before:

  UUID=1111-dead-beef / ext4 errors=remount-ro 0 1
  UUID=4444-gone /data xfs defaults 0 2

After (the root filesystem is UUID=2222-real):

  UUID=2222-real / ext4 errors=remount-ro 0 1
  UUID=4444-gone /data xfs defaults,nofail,x-systemd.device-timeout=10s 0 2
`
