// Package pkgfiles reports system files of installed packages that are
// missing or emptied, and restores them from the packages.
package pkgfiles

const doc = `system files of installed packages that are missing or emptied

The package database (rpm or dpkg) records every file a package installed.
A file that is gone or has become empty is a damaged package, whatever the
file is: a deleted libnss_files.so.2 (fatal for name lookups on glibc older
than 2.34, harmless but still damage on newer ones), an /etc/pam.d file a
cleanup script removed (the seed's "rpm -V util-linux: missing c
/etc/pam.d/login"), a truncated tool in /usr/sbin. Other checks name the
files that stop boot or login with their own severity; this one finds the
rest, package by package, with what rpm -V or debsums would report and
without running either.

Only system paths are looked at (/bin, /sbin, /lib*, /usr/bin, /usr/sbin,
/usr/lib*, /usr/libexec, /etc), and only files the package really
installed: documentation excluded at install time, ghost and missing-ok
files are not reported. Changed configuration files are normal and not
reported; missing ones are.

The fix restores each file from its package: from --packages DIR or the
target's own package cache, checked against the database's digest, with the
database's mode and owner. When no package file is at hand, the finding
names the exact package and version to fetch.

Before:

  $ rpm -V glibc
  missing     /usr/lib64/libnss_files.so.2

After:

  $ rpm -V glibc
  (nothing)
`
