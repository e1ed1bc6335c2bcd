// Package profile finds shell start-up files that source themselves.
package profile

const doc = `shell start-up files that source themselves, directly or through a cycle

A login shell reads /etc/profile (which sources /etc/profile.d/*.sh), then
root's ~/.bash_profile, ~/.bash_login or ~/.profile, which usually source
~/.bashrc and /etc/bashrc (EL) or /etc/bash.bashrc (Debian). When one of them
sources itself, directly or through a chain (/etc/profile ->
/etc/profile.d/x.sh -> /etc/profile), bash recurses until it dies: the
password is accepted and then no prompt ever comes, on the console and over
ssh alike.

The files are parsed as shell (not executed): every "." and "source" with a
literal path, ~ or $HOME, or the variable of a "for i in /etc/profile.d/*.sh"
loop is followed, and the cycle is reported as a chain. Sourcing guarded by
an include guard (if [ -z "$X" ]; then X=1; …) is not a cycle. A file bash
cannot parse is reported too: bash stops reading it at the error. A file
nested so deep that parsing it would overflow the parser's stack (a
megabyte of "(" or "$(", which makes bash fail or crash as well) is
reported as unparsable (error), without a fix.

The fix comments out the statement that closes the cycle (every line of
it, when it runs over several), marked "# disabled by rescue: sources
itself".

Before (/etc/profile.d/custom.sh):

  export PATH=$PATH:/opt/tools/bin
  . /etc/profile

After:

  export PATH=$PATH:/opt/tools/bin
  # disabled by rescue: sources itself: . /etc/profile
`
