// Package sshkeys finds SSH keys a compromise left in authorized_keys.
package sshkeys

const doc = `SSH keys in authorized_keys that a compromise planted: in Redis dumps, on service accounts, next to cloud-init's locked root keys, with marked forced commands

Miner campaigns keep a way back in: TeamTNT and the Outlaw kit append their
key to root's authorized_keys (Outlaw's comment is "mdrfckr") and lock the
file with chattr +i; the Redis campaigns make an open Redis server write its
dump as /root/.ssh/authorized_keys, so the key sits between "REDIS0009" and
binary junk. The check reads the authorized_keys files of every account
(AuthorizedKeysFile of sshd_config, and the default .ssh/authorized_keys and
.ssh/authorized_keys2) and reports a key when it is marked:

  - the file is a Redis dump;
  - its comment is one a known kit plants;
  - it is root's, cloud-init locked root's other keys with its forced
    "Please login as the user …" command (disable_root), and this one has
    none: it was added afterwards;
  - it is on a service account (uid below UID_MIN, not root) without a
    forced command: no person logs in as redis or www-data;
  - it is in authorized_keys2, which OpenSSH still reads and nobody looks at;
  - its forced command (command="…") is marked like any command: a
    download fed to a shell, a program in a world-writable or hidden place.

A locked file (chattr +i/+a) adds to the marks. Every finding carries the
key's SHA256 fingerprint (--json: indicators.keys).

The fix comments the key out ("# disabled by rescue: ssh key: …"); sshd
ignores comment lines. A locked file is unlocked for good first (with
--clear-immutable; undo locks it again).

Before (/root/.ssh/authorized_keys):

  ssh-rsa AAAAB3NzaC1yc2EAAAABJQAAAQEArkx… mdrfckr

After:

  # disabled by rescue: ssh key: ssh-rsa AAAAB3NzaC1yc2EAAAABJQAAAQEArkx… mdrfckr
`
