// Package replaced finds package programs a rootkit replaced, and restores
// them from their packages.
package replaced

const doc = `package programs rootkits replace (ps, top, netstat, ss, ls, crontab, sshd, …) whose content no longer matches the package

User-mode rootkits and miner kits replace the programs an administrator
uses to look: ps and top no longer show the miner, netstat and ss no longer
show its pool connection, ls and find no longer show its files, crontab no
longer lists its job; a replaced sshd or login records passwords or lets a
fixed one in. The package database records what these programs were, so a
stopped disk can be checked without trusting anything on it.

The check verifies, against the rpm or dpkg database, the digest of ps,
top, pstree, netstat, ss, ls, lsof, find, du, w, who, crontab, sshd, ssh,
login, su, sudo, passwd, kill, pkill, pgrep, killall, ifconfig, ip, chattr,
lsattr, systemctl, strings, md5sum, sha256sum, stat, curl, wget and
iptables in /usr/bin, /usr/sbin, /bin and /sbin, and reports each whose
content changed (missing and emptied ones are pkgfiles' findings). It also
reports a program of one of these names in /usr/local/bin or /usr/local/sbin
that no package installed: it comes first on PATH and takes the packaged
one's place without touching it.

The fix restores the program from its package (--packages DIR or the
target's package cache; the file is checked against the database's digest,
with the database's mode and owner); the replaced program goes into the
repair journal, and rescue undo puts it back. When no package file is at
hand, the finding names the package and version to fetch. A shadowing
program in /usr/local is quarantined.

Before:

  $ rpm -V procps-ng
  S.5....T.    /usr/bin/ps

After:

  $ rpm -V procps-ng
  (nothing)
`
