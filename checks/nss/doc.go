// Package nss checks that every source /etc/nsswitch.conf names can be
// loaded.
package nss

const doc = `nsswitch.conf sources whose libnss_<source>.so.2 is missing or damaged

glibc answers "who is user 0?", "what is this host's address?" by asking
the sources /etc/nsswitch.conf lists for each database, in order; each
source X is the shared library libnss_X.so.2, loaded from the library path
on first use. A source whose library cannot be loaded is skipped
(UNAVAIL): when it was the only one that knew the local accounts, every
user lookup fails. Logins say "Login incorrect", a shell prompt says "I have
no name!", and services with User= fail (the seed's chroot case).

Since glibc 2.34 the files and dns sources are built into libc itself: a
missing libnss_files.so.2 breaks nothing on Debian 12 or RHEL 9, while on
RHEL 7 and 8 or Debian 11 it locks everyone out. The check reads the
target's glibc version (from the name libc.so.6 points to, from the GLIBC_x.y
versions libc defines, or from the package database) before deciding.

A missing or empty library is an error when no source able to answer for
local accounts (files, compat) is left on the passwd, group or shadow line,
and a warning when only other users (SSSD, LDAP, systemd's dynamic users)
or host names are affected. Only the account databases and hosts are
checked: stock configurations name sources for the others (db, nis) whose
packages are rarely installed, and nothing breaks without them. When the
package database is readable and no installed package provides the
library, the source was never installed, not deleted (EL's authselect names
sss and myhostname on images without sssd-client): that is worth knowing
(info), with nothing to repair, unless no source for local accounts is left.

Fix: restore the library from its package. Else, a source other than files
whose library is gone is dropped from the lines that have another source
left (the fix says what stops resolving); "compat" on its own becomes
"files" (NIS +/- entries stop meaning anything). The files source itself is
never dropped.

Before (/etc/nsswitch.conf, libnss_sss.so.2 removed with sssd-client):

  passwd:     sss files
  group:      sss files

After:

  passwd:     files
  group:      files
`
