// Package fsstate checks the health the target's filesystems record in
// their superblocks, and whether they are full.
package fsstate

const doc = `filesystems with recorded errors, an unreplayed journal, or no space left

Read from the superblocks of the target's own disk (rescue scan DEVICE or
IMAGE) and from the mounted filesystems:

  - ext2/3/4 with errors recorded by the kernel (the error state, an error
    count), or an xfs with its needsrepair flag: the boot runs fsck on it,
    and when fsck -a (the preen mode boot uses) cannot repair it, boot stops
    in emergency mode, which a cloud instance without a console never
    leaves; the kernel also remounts the filesystem read-only at the next
    error;
  - ext2 not unmounted cleanly: the same boot-time check, slower;
  - an ext3/4 journal or an xfs log that holds changes not yet written back
    (the machine crashed or was stopped hard): the next mount replays it.
    A scan mounts without replaying (so that it writes nothing), so what it
    sees may lag behind what the next boot sees; an xfs log that cannot be
    replayed makes the mount, and the boot, fail;
  - a full filesystem, a warning: what must write fails, logins do not. A
    boot of Debian 12 with its root full to the last block (the reserved
    blocks too) was degraded, as the units that save state at boot failed
    (systemd-random-seed, systemd-update-utmp, systemd-machine-id-commit),
    and root and an ordinary user logged in on the console and over SSH;
    logs, package installs and services that write their data at start
    fail. auditd set to HALT or SINGLE on a full disk takes the machine
    down (the auditd check reports that). An error where the session stack
    of login or sshd, as libpam builds it (includes and substacks, the
    files of /usr/lib/pam.d and /usr/etc/pam.d, "other" for a service
    without a session line), has "session required pam_lastlog.so" (CIS,
    STIG hardening) and not even root has room on the filesystem of
    /var/log/lastlog: pam_lastlog fails the session when it cannot write
    the record, so a login whose record needs a new block (a user's first
    login there) is refused. A full /boot leaves a kernel update without
    its initramfs, and the next kernel unbootable;
  - a filesystem out of inodes (an error, not measured by a boot): no file
    can be created. The largest directories (or those with the most files)
    are named, apparent sizes, to show where the space went;
  - a filesystem with the same UUID as one of the helper's own (the target
    is a clone of the helper's disk): when both disks are attached at boot,
    the boot loader and the initramfs may pick the wrong one.

A filesystem check cannot be undone, so it is not part of the reversible
repair: rescue fix DEVICE --apply --allow-fsck runs e2fsck -p or xfs_repair
on the unmounted filesystem before mounting it read-write (and refuses to
mount a filesystem with recorded errors read-write without it). A log that
cannot be replayed is zeroed (xfs_repair -L, losing its last changes) only
with --allow-fsck-zero-log as well. Without --allow-fsck, a read-write mount
replays a pending journal exactly as the next boot would.

rescue deletes no data to free space. rescue fix TARGET --spill DIR moves
what can be made again or done without into DIR on the helper, which also
holds the journal: rotated logs under /var/log (NAME.N, compressed, dated),
archived journal files (/var/log/journal/*/NAME@*.journal, never the
active ones), package caches (/var/cache/apt/archives/*.deb,
/var/cache/dnf, /var/cache/yum) and core dumps (/var/lib/systemd/coredump,
/var/crash); regular files with a single name only, nothing else. Every
file is backed up (content, mode, owner, xattrs, mtime) and synced before
it is unlinked, and rescue undo TARGET --journal-dir DIR puts it back,
each file made whole before it gets its name again. A file for which there
is no room any more (the machine wrote since) stays whole in DIR, and undo
names it and exits 8; undo again once there is room. DIR must not be on the
target's filesystems.

Before (rescue scan /dev/vdb):

  critical  /  fsstate/errors:/
    on /dev/vdb1 (partition 1, ext4 UUID=…)
    the ext4 filesystem on /dev/vdb1 (/) has errors recorded by the kernel

After (rescue fix /dev/vdb --apply --allow-fsck):

  e2fsck -p /dev/loop3 exit 1 (errors corrected); the filesystem is clean
`
