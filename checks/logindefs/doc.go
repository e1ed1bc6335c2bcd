// Package logindefs checks /etc/login.defs for values that stop console
// logins or the creation of users.
package logindefs

const doc = `login.defs values that stop console logins or the creation of users

/etc/login.defs is read by login (shadow's on Debian 12 and Ubuntu, util-
linux's on the RHEL family and Debian 13), useradd, groupadd and the
tools cloud-init uses to create the instance's user. The check reports the
values that really break something, as the programs read them (the last
definition counts; a value that does not parse as a number is ignored and
the default used):

  - ERASECHAR and KILLCHAR (shadow's login only): login puts them in the
    terminal settings; a value that does not fit a terminal character (the
    seed's Ubuntu case) makes login print "configuration error - cannot
    parse ERASECHAR value" and exit, so no one can log in on the console.
    A newline (012) makes Enter erase the line instead of ending it, so a
    password can never be submitted; a printable character cannot be typed
    in a password. util-linux's login ignores both.
  - LOGIN_TIMEOUT of a few seconds: login gives up before a password can be
    typed ("Login timed out after N seconds").
  - UID_MIN above UID_MAX, GID_MIN above GID_MAX (defaults 1000 and 60000):
    useradd and groupadd find no free id, so cloud-init cannot create the
    instance's user on first boot and an image built from this disk lets
    no one in.

Which login is installed is told from the binary itself (shadow's login
contains the ERASECHAR key; util-linux's does not), without running it,
and from the release when /bin/login is missing.

The fix rewrites the one value: ERASECHAR 0177 (DEL), KILLCHAR 025
(Ctrl-U), LOGIN_TIMEOUT 60, or the range's distribution default, keeping
the rest of the line.

Before (Ubuntu):

  ERASECHAR	01777

After:

  ERASECHAR	0177
`
