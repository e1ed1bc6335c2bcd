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
check also reports when no PAM service loads pam_limits at all (then the
files have no effect).

systemd's DefaultLimitNOFILE in /etc/systemd/system.conf and
system.conf.d drop-ins is checked against the same ceiling: a value above
it cannot be applied to the services that inherit it.

The fix caps the value at fs.nr_open on the line that sets it, keeping
every other byte of the file.

Before (/etc/security/limits.d/90-nofile.conf on CentOS 7):

  *    -    nofile    unlimited

After:

  *    -    nofile    1048576
`
