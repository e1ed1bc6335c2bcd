// Package limits checks the open-file limits applied to login sessions and
// services against the kernel's ceiling, fs.nr_open.
package limits

const doc = `open-file limits above fs.nr_open, which make pam_limits refuse logins

pam_limits reads /etc/security/limits.conf and then
/etc/security/limits.d/*.conf in name order and calls setrlimit for every
limit it set. The kernel refuses (EPERM) a hard RLIMIT_NOFILE above
fs.nr_open, pam_limits then returns PAM_PERM_DENIED, and with the usual
"session required pam_limits.so" the session is refused: every login over
SSH and on the console fails right after the password. "unlimited" (or
infinity, -1) for nofile means RLIM_INFINITY, which is always above
fs.nr_open; only Linux-PAM 1.5.2 and later replace it with fs.nr_open.

fs.nr_open is the target's own sysctl setting when it has one; otherwise
1048576, the kernel default, except that systemd 240 and later raise it to
1073741816 at boot. How bad the finding is therefore depends on the
release: on EL7-era systems (systemd 219, PAM 1.1.8: the seed's case) it
is an error, no one can log in; on systemd 240 and later it is a warning
(on Debian 12 even 2000000000 for every user did not stop a console login
in our test, but the limit is still not applied as written). A soft-only
limit is not reported: pam_limits lowers it to the hard limit itself. The
check also reports, as information, when no PAM service's session stack
loads pam_limits at all, as libpam builds the stacks (includes, the files
of /usr/lib/pam.d): then the files have no effect.

systemd's DefaultLimitNOFILE in /etc/systemd/system.conf and
system.conf.d drop-ins is checked against the same ceiling: a value above
it cannot be applied to the services that inherit it, and they get it the
way a unit's own LimitNOFILE= is applied (below): usually a lower limit
than written, a warning (before systemd 240 the fallback is 65536, so
CentOS 7's DefaultLimitNOFILE=infinity starts every service with 65536);
an error only where the fallback is refused too, which fails every
service that inherits it, sshd and the gettys included.

LimitNOFILE= of the services that start at boot (named in a .wants
directory of /etc/systemd/system), of the units written in
/etc/systemd/system and of the login services (sshd/ssh, getty,
systemd-logind, dbus), drop-ins included, is judged the same way, with the
arithmetic in the finding. "infinity" is what systemd asks the kernel for:
RLIM_INFINITY before systemd 234, fs.nr_open as read when units are loaded
from 234 on (1073741816 on 240 and later, which raise it first). The
kernel refuses a hard limit above fs.nr_open; systemd then falls back to
MIN(the limit, its own) (setrlimit_closest), so the service usually starts
with fewer open files than written: a warning. On systemd 240 and later,
which raise their own limit to 1073741816 before the target's sysctl
settings apply, the fallback could be refused too when the target lowers
fs.nr_open; but Debian 12 boots with fs.nr_open = 1048576 in sysctl.d ran
ssh.service with LimitNOFILE=infinity and with 2000000 and took logins, so
that is a warning too until a boot shows a failure.

The fix caps the value at fs.nr_open on the line that sets it, keeping
every other byte of the file; for a unit file that belongs to a package
(outside /etc), a drop-in /etc/systemd/system/NAME.d/
zz-rescue-limitnofile.conf sets the capped value instead.

Before (/etc/security/limits.d/90-nofile.conf on CentOS 7):

  *    -    nofile    unlimited

After:

  *    -    nofile    1048576
`
