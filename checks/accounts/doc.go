// Package accounts checks /etc/passwd, /etc/shadow, /etc/group and
// /etc/gshadow for the damage that stops logins.
package accounts

const doc = `account files that are empty, damaged or missing the entries logins need

login, sshd, su and sudo find users through glibc's files NSS module, which
reads /etc/passwd, /etc/shadow, /etc/group and /etc/gshadow line by line and
silently skips a line it cannot parse. A damaged account file therefore
does not fail loudly: the user is simply "unknown", the password never
matches, or the shell cannot be run. The check reports:

  - a missing or empty file (every lookup fails: "Login incorrect", or
    "I have no name!" in a shell);
  - CRLF line endings (a file saved by a Windows editor, the dos2unix case):
    every login shell reads as "/bin/bash\r", which does not exist, and
    glibc rejects every shadow entry whose last field ends in "\r";
  - lines with the wrong number of fields or a non-numeric uid or gid, which
    glibc skips;
  - no root entry in passwd, shadow or group, or root with a uid other
    than 0;
  - more than one account with uid 0 (a security finding: a second root);
  - the system users that installed services need: sshd (sshd refuses to
    start without its privilege separation user), the D-Bus user
    (messagebus on Debian, dbus on RHEL; read from the bus configuration)
    and polkitd;
  - a login shell of root or of a regular user that does not exist, is
    empty or is not executable;
  - a passwd entry whose password is in shadow ("x") but that has no shadow
    entry: pam_unix cannot check its password.
  - root's account past its expiry date (shadow's eighth field, a day
    count; 0 counts, as chage -E 0 means it): pam_unix refuses root on the
    console, in su and over SSH even with a key, and the console says only
    "Login incorrect". Expired ordinary accounts are not reported: that is
    how administrators retire people.

Fixes never invent a password. shadow-utils keeps the previous version of
each file as /etc/passwd-, /etc/shadow-, ...; when that backup parses
cleanly, has root (and is not itself empty), an empty or missing file is
restored from it and missing entries are copied back from it. CRLF line
endings are stripped. root's expiry date is removed (nothing else: a
locked password stays locked; rescue reset-access sets a new one). root's missing shell can be replaced by /bin/bash
(or /bin/sh), as an alternative to restoring the shell from its package.
A duplicate uid 0 is reported only: whether it is a backdoor or a
deliberate "toor" is for a person to decide.

Before (/etc/passwd, saved with DOS line endings):

  root:x:0:0:root:/root:/bin/bash\r
  sshd:x:74:74:Privilege-separated SSH:/usr/share/empty.sshd:/sbin/nologin\r

After:

  root:x:0:0:root:/root:/bin/bash
  sshd:x:74:74:Privilege-separated SSH:/usr/share/empty.sshd:/sbin/nologin
`
