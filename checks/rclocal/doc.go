// Package rclocal checks /etc/rc.local for commands that block the boot's
// console logins or never run.
package rclocal

const doc = `rc.local that blocks the console login, or whose commands never run

systemd runs /etc/rc.local (/etc/rc.d/rc.local on the RHEL family) through
rc-local.service when the file is executable. The unit is Type=forking
with no timeout, so systemd waits until the script itself exits, and the
gettys of the console and the serial port are ordered after it: a script
that never returns (a "while true" loop, "sleep infinity", "tail -f", a
server started without a trailing &) leaves the machine with no console
login prompt, although SSH still works. The check parses the script (with
mvdan.cc/sh, never running it) and reports:

  - commands that block: infinite loops without break or exit, sleep of a
    minute or more, and programs that run in the foreground until stopped
    (tail -f, ping without -c, nc -l, socat, docker run without -d,
    journalctl -f, ...), unless the statement ends with &; "wait" after
    starting background jobs;
  - a script without "#!" (or with a DOS line ending after it): systemd
    cannot execute it ("Exec format error") and none of it runs;
  - commands after a top-level "exit": they never run (a common mistake
    when appending to Debian's and Ubuntu's rc.local, which end in
    "exit 0");
  - on Debian and Ubuntu, a script that does not end with exit: the unit
    is marked failed whenever the last command fails.

Report only: rc.local is the administrator's own script, and what a
command was meant to do decides the right change (add &, move it into a
service, ...).

Before:

  #!/bin/sh -e
  /opt/app/server --port 8080
  exit 0

After (by hand):

  #!/bin/sh -e
  /opt/app/server --port 8080 &
  exit 0
`
