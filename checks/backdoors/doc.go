// Package backdoors finds accounts and sudo rules a compromise left as a
// way back in.
package backdoors

const doc = `ways back in as root: a second uid 0 account, a service account with a shell and a password or keys, sudo rules for them

After a cleanup changes root's password and keys, an intruder still gets in
through what was added beside them: an account with uid 0 under another
name, a service account (www-data, redis, games: uid below UID_MIN) given a
shell and a password or an SSH key, or a sudo rule that lets such an
account, or everyone, run anything as root without a password. The check
reads /etc/passwd, /etc/shadow and the sudoers files (with #includedir and
@include) and reports:

  - an account other than root with uid 0;
  - a service account whose shell is a real shell (not nologin, false,
    sync, shutdown, halt) and that has a password, no password at all, or
    SSH keys;
  - a sudo rule that gives a service account or a second uid 0 every
    command or commands without a password, one that gives everyone every
    command without a password, Defaults !authenticate, and env_keep of
    LD_PRELOAD or LD_LIBRARY_PATH.

A person's account (uid UID_MIN and up) with sudo rights is ordinary: cloud
images give the default user NOPASSWD ALL.

The fixes: the second uid 0 is commented out of /etc/passwd and /etc/shadow
(glibc skips comment lines, so the account no longer exists until undo);
the service account gets the shell nologin and its password is locked with
a ! before the hash, as passwd -l does; the sudo rule is commented out.

Before (/etc/passwd, /etc/sudoers.d/90-www):

  toor:x:0:0::/root:/bin/bash
  www-data ALL=(ALL) NOPASSWD: ALL

After:

  # disabled by rescue: second uid 0: toor:x:0:0::/root:/bin/bash
  # disabled by rescue: sudo rule: www-data ALL=(ALL) NOPASSWD: ALL
`
