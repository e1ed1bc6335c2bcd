// Package pam checks the PAM configuration that login and sshd run through.
package pam

const doc = `PAM service files, includes and modules that make every login fail

Every console and SSH login goes through PAM: /etc/pam.d/login and
/etc/pam.d/sshd, and the files they include (system-auth and password-auth
on RHEL, common-* on Debian). libpam reads them when a login starts; what it
cannot load does not stop it with a clear error, it installs a handler that
always fails, and the user sees only "Login incorrect" right after typing
the user name or password. The check reads every file of /etc/pam.d and
reports:

  - an empty service file, or /etc/pam.d/login missing while a login program
    is installed: libpam falls back to /etc/pam.d/other, which denies
    everything on RHEL (the seed's "rpm -V util-linux" case);
  - include, substack and @include lines whose file does not exist (the
    whole stack of that type fails);
  - include lines that close a loop (a file that includes itself, directly
    or through others): libpam follows the loop to its limit of 16 levels
    and then installs a handler that always fails. A stack that expands to
    more than 100,000 lines without a loop (three includes per file,
    sixteen deep) is reported as a warning and read no further;
  - lines libpam cannot parse (an unknown type or control flag, no module):
    installed as always-failing handlers;
  - every module a line names, looked up in the distribution's security
    directory (/usr/lib64/security, /lib/x86_64-linux-gnu/security, ...):
    missing, empty or not loadable, or needing a shared library that is
    missing (pam_unix.so without libcrypt.so.1). Lines of type "-auth" are
    skipped: libpam ignores their missing modules on purpose;
  - a pam_succeed_if or pam_listfile line in the auth or account stack of
    login or sshd that refuses root before any sufficient module could let
    it through: the seed's "auth required pam_succeed_if.so user != root
    quiet";
  - pam_securetty in login's stack with an /etc/securetty that lists no
    terminal, ends its lines in CRLF, or is world-writable: root is refused
    on every terminal but the kernel's console= ones. A missing
    /etc/securetty is not reported: pam_securetty then lets root in
    everywhere.

Severity is error when the line is reached from login or sshd, warning
otherwise (su, sudo, cron and the rest).

Fixes: a missing or empty file, or a missing module or library, is restored
from its package, or, for a configuration file, from a same-named backup
that parses (login.rpmsave, common-auth.dpkg-old, ...). The line that locks
root out is commented out with a "# disabled by rescue" marker, and the fix
says that it removes an authentication rule. securetty gets its carriage
returns stripped or its world-write bit removed; an empty one is restored
from its package or backup.

A module that no installed package provides (the package database says
so) is a leftover of a removed module, not a deleted file: there is
nothing to restore, and every stack naming it fails. Its maintained
successor takes its place where one is installed: pam_tally2 and
pam_tally become pam_faillock with the same deny= and unlock_time= (a
preauth line in place, an authfail line after pam_unix unless the stack
jumps with [success=N], an account line), pam_cracklib becomes
pam_pwquality (same options), EL4's pam_stack service=X becomes
"include X". Otherwise the lines are commented out, and the fix says that
this drops the rule they made; where the stack jumps, a "optional
pam_permit.so" placeholder keeps the jump counts. A line is never taken
out of an auth stack of login or sshd that would then check no password
(no loadable pam_unix, pam_sss, pam_ldap, ...), and core Linux-PAM
modules (pam_unix, pam_deny, ...) are never commented out. Nothing else
is weakened.

Before (/etc/pam.d/login):

  auth       required     pam_succeed_if.so user != root quiet
  auth       substack     system-auth

After:

  # disabled by rescue: refuses root: auth       required     pam_succeed_if.so user != root quiet
  auth       substack     system-auth
`
