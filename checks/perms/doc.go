// Package perms checks the modes and owners that boot, login and sshd
// depend on.
package perms

const doc = `modes and owners of system paths that break login, sshd, sudo or security

A recursive chmod or chown run from the wrong directory (chmod -R 777 /etc,
chown -R user /usr) leaves a system that boots but refuses everyone:

  - sshd will not start when a private host key in /etc/ssh is readable by
    others ("UNPROTECTED PRIVATE KEY FILE"), and refuses key logins when
    ~/.ssh, authorized_keys or the home directory is writable by group or
    others (StrictModes); on EL systems it will not start when its
    privilege-separation directory /var/empty/sshd is not root-owned 0711;
  - sudo refuses to run when /etc/sudoers is writable or not root-owned, or
    when /usr/bin/sudo lost its setuid bit; su fails without setuid;
  - programs running as a user cannot map uids to names when /etc/passwd or
    /etc/group is not readable ("I have no name!");
  - services that write to /tmp or /var/tmp fail when they are not 1777;
  - a world-writable /, /etc, /usr, /bin … lets any local user replace the
    system, and /etc/shadow readable by others exposes every password hash.

Fixes set the canonical mode (and root ownership where it is wrong) for
the detected distribution family: / is 0755 on Debian and 0555 on EL,
system directories lose the group and world write bits, private host keys
become 0600 (0640 when their group is ssh_keys on EL), /root/.ssh 0700,
authorized_keys 0600, /tmp 1777, /etc/passwd 0644, /etc/shadow 0640 on
Debian (group shadow) and 0000 on EL, /etc/sudoers 0440, sudo 4755 (4111 on
EL).

Before:

  drwxrwxrwx  root root  /etc/ssh
  -rwxrwxrwx  root root  /etc/ssh/ssh_host_ed25519_key

After:

  drwxr-xr-x  root root  /etc/ssh
  -rw-------  root root  /etc/ssh/ssh_host_ed25519_key
`
