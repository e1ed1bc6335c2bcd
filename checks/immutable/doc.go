// Package immutable reports chattr +i/+a on files that logins and cloud
// agents must be able to change.
package immutable

const doc = `immutable or append-only files that password resets and key injection must change

chattr +i makes a file unchangeable even for root; chattr +a lets it only
grow. Administrators set them to stop tampering, and malware sets them to
stay. On the files below they quietly break the ways back into a machine:

  - /etc/passwd, /etc/shadow, /etc/group, /etc/gshadow: passwd, useradd and
    cloud-init's user creation fail, so a console password reset or a new
    user from the cloud's "reset password" action does nothing;
  - root's ~/.ssh/authorized_keys: the cloud's "reset key pair" action
    (cloud-init, the guest agent) cannot write the new key, and the old one
    may be lost;
  - /etc/resolv.conf: DHCP and NetworkManager cannot write DNS servers;
  - /etc/sudoers, /etc/ssh/sshd_config: repairs of them fail.

rescue's own fixes refuse to touch such files unless --clear-immutable is
given (the flag is set again afterwards). Because the flags are often set
on purpose, this check offers no fix: it says which files are locked so an
operator can decide (chattr -i PATH).

Before:

  $ lsattr /etc/shadow
  ----i---------e------- /etc/shadow

After (by hand, if the lock was not deliberate):

  $ chattr -i /etc/shadow
`
