// Package sysdirs checks the directories and merged-/usr links every
// program needs.
package sysdirs

const doc = `system directories missing or emptied, and merged-/usr links missing or pointing wrong

Every program the system starts lives in /bin, /sbin, /usr/bin or /usr/sbin
and loads its libraries from /lib, /lib64, /usr/lib or /usr/lib64 (the ELF
interpreter itself is /lib64/ld-linux-x86-64.so.2 on x86_64); /etc holds
the configuration and /boot the kernels. On a merged-/usr system (RHEL 7
and later, Fedora, Debian 12, recent Ubuntu) /bin, /sbin, /lib and /lib64
are symlinks to usr/bin, usr/sbin, usr/lib and usr/lib64. When one of these
is deleted, emptied, or a link is removed or points elsewhere (a careless
rm -rf, an "rm /lib64" to free space, a tar extracted over the root that
replaced a link with a directory), the kernel finds no init ("Kernel panic -
not syncing: No working init found") or every program fails with "No such
file or directory" for its interpreter.

The layout comes from the target itself. Merged /usr: a top-level link
into /usr, else the package database (a package that installs /bin as a
link, as EL's filesystem and Debian 13's base-files do; usr-is-merged
installed, as on Debian 12; the files the packages list under /bin found in
/usr/bin); only a target without a package database is judged by its
release. The lib64 directories are checked where the packages put files
(Debian 11 has /lib64 for the ELF interpreter and no /usr/lib64 at all;
arm64 Debian has neither), or where the programs' interpreter is. /boot
matters where a package puts files there: a root with no kernel package (a
container or chroot) gets an info finding, not a critical one.

A directory counts as emptied when it has no entries, or, when the package
database is readable, when fewer than half of the files the packages put
there are present.

Fixes: a missing or wrong merged-/usr link is recreated as the distribution
makes it (bin -> usr/bin), replacing a wrong link or an empty directory; a
missing directory is recreated with the distribution's mode (0555 for the
binary and library directories on RHEL-like systems, 0755 elsewhere). The
files of an emptied directory can only come back from the packages: with a
package database and package files at hand each missing file is restored
from its package; otherwise the finding names what to reinstall.

Before (Rocky Linux 9):

  /lib64  (missing)

After:

  /lib64 -> usr/lib64
`
