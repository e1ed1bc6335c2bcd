// Package zerosize finds programs, libraries and configuration files that
// were truncated to zero bytes.
package zerosize

const doc = `programs, libraries and configuration files truncated to zero bytes

A crash or a full disk during a package update, a careless "> file", or a
filesystem repair can leave files with no content. A program or shared
library is never legitimately empty: an empty /usr/lib/systemd/systemd or
libc.so.6 makes the kernel panic at boot ("Exec format error"), an empty
/usr/bin/login makes getty show the login prompt again and again, an empty
/usr/bin/bash rejects every login after the password.

The check walks /bin, /sbin, /usr/bin, /usr/sbin, /usr/libexec, /lib,
/lib64, /usr/lib, /usr/lib64 and /etc once (merged-/usr links are walked
once), looking only at file sizes (no file is read), and reports:

  - every empty regular file in the program directories;
  - every empty shared object (*.so, *.so.N) or executable in the library
    directories;
  - empty files in /etc that the package database says should have
    content; without a database, empty files that are never legitimately
    empty (sudoers, login.defs, sshd_config, ...) as warnings and the rest
    as info, except a short list of files that are empty on purpose
    (machine-id, subuid, motd, .pwd.lock, ...). Files other checks own
    (passwd, shadow, pam.d, nsswitch.conf, fstab) are left to them.

Severity follows what the file is: critical for systemd, the dynamic
loader and every library systemd needs (the machine does not boot); error
for the shells, login, agetty, sshd, su, sudo, the libraries they need, PAM
modules and NSS modules (no one logs in); warning for other programs and
libraries.

Fix: restore the file from its package. Nothing else is safe: a program
copied from another system may not match the libraries here.

Before:

  -rwxr-xr-x 1 root root 0 /usr/bin/login

After (restored from util-linux or login):

  -rwxr-xr-x 1 root root 57k /usr/bin/login
`
