// Package sshd checks sshd's configuration, host keys and the files it
// insists on, for what stops sshd from starting or refuses every login.
package sshd

const doc = `sshd configuration, host keys and modes that stop SSH logins

sshd reads /etc/ssh/sshd_config and the files it includes (Include, with
globs, relative to /etc/ssh, OpenSSH 8.2 and later) before it listens; one
bad line and it exits ("terminating, 1 bad configuration options"), so no
one can log in over SSH. Without running sshd (its version is read from
the binary, "OpenSSH_7.4"), the check reports what "sshd -t" would:

  - keywords sshd does not know ("Bad configuration option"), from the
    table of OpenSSH's servconf.c, including keywords newer than the
    installed sshd (Include before 8.2, PubkeyAcceptedAlgorithms before
    8.5, ...); deprecated and unsupported keywords are only logged by sshd
    and are not reported;
  - keywords without a value, invalid values for yes/no, choice, time,
    number and port keywords, extra arguments, unbalanced quotes, bad Match
    criteria, and global-only keywords inside a Match block.

Fix: the line is commented out with the rescue marker, except for lines
that decide who may log in and how and Include lines: commenting those out
would silently change the access policy. A bad line of a yes/no or choice
access keyword (PermitRootLogin, PasswordAuthentication,
PermitEmptyPasswords, KbdInteractiveAuthentication, HostbasedAuthentication,
IgnoreRhosts, StrictModes, PubkeyAuthentication, UsePAM,
AllowTcpForwarding) gets its most restrictive valid value in its place
(PermitRootLogin no, PasswordAuthentication no; PubkeyAuthentication and
UsePAM yes, since keys and PAM's account rules are the safer way in), with
the other values as alternatives: sshd starts again and allows nothing the
line could have meant to forbid. prohibit-password on an sshd older than
7.0 becomes without-password, the same setting under its old name. Lines
where no value can be chosen without guessing (AllowUsers and the other
lists, AuthenticationMethods, key sources, Include) are reported for the
operator to correct.

Include loops: a file that includes itself, directly or through others,
makes sshd follow the loop to its limit of 16 levels and exit ("Too many
recursive configuration includes"). Each Include line that closes a loop is
reported; when it names one file (no glob) it is commented out, since that
file is already read further out. Expansions beyond 200,000 lines or 4,096
files (three Include lines per file, sixteen deep, are 3^16 files) are
reported as a warning and read no further.

Access and environment:

  - PermitRootLogin, AllowUsers, AllowGroups, DenyUsers and DenyGroups
    that leave none of the accounts that can log in (root and the users
    with a real shell in /etc/passwd) able to: reported, never changed
    (policy). Match blocks that change these rules lower the finding to a
    warning.
  - LoginGraceTime of a few seconds: the connection is dropped before
    authentication can finish. Reported (policy).
  - UsePAM yes with sshd's PAM service file empty, or including a file
    that does not exist: PAM then refuses every login. With the file
    missing, libpam runs /etc/pam.d/other for sshd: an error where other
    refuses everyone (RHEL), a warning where it lets logins through
    (Debian's includes the common-* stacks; measured, every SSH login
    works, without sshd's pam_loginuid, pam_limits and pam_env). The
    file is restored from its package when one is at hand. Files are
    looked for where libpam looks, /etc/pam.d and then the distribution's
    /usr/lib/pam.d or /usr/etc/pam.d (openSUSE keeps sshd's there).
  - Host keys (HostKey, or the default rsa, ecdsa and ed25519 keys): a key
    readable by group or others is ignored ("Permissions 0644 ... are too
    open"; RHEL allows 0640 with group ssh_keys), and with no usable key
    sshd exits ("no hostkeys available"). Fix: chmod 0600 (0640 on RHEL).
    The modes of the standard /etc/ssh/ssh_host_*_key files are the perms
    check's (it reports and fixes them); this check covers keys configured
    elsewhere. Missing or empty keys are reported when no usable key is
    left; on the RHEL family sshd-keygen recreates them at boot.
  - StrictModes (the default): an authorized_keys file, ~/.ssh or the home
    directory of a user (root's are the perms check's) that is group- or
    world-writable, or owned by someone else, makes sshd refuse that user's
    keys ("Authentication refused: bad ownership or modes"). Fix: chmod
    go-w and chown to the user.
  - The privilege separation directory (/var/empty/sshd on the RHEL
    family) missing: sshd exits. Fix: recreate it (root, 0711). Its mode
    and owner are the perms check's.

Before (OpenSSH 7.4 on CentOS 7):

  Include /etc/ssh/sshd_config.d/*.conf
  PubkeyAcceptedAlgorithms +ssh-rsa
  -rwxrwxrwx /etc/ssh/keys/host_ed25519 (the only HostKey)

After:

  Include /etc/ssh/sshd_config.d/*.conf          (reported: merge by hand)
  # disabled by rescue: needs OpenSSH 8.5: PubkeyAcceptedAlgorithms +ssh-rsa
  -rw------- /etc/ssh/keys/host_ed25519
`
