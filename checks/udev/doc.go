// Package udev finds udev rules a compromise uses to run programs.
package udev

const doc = `udev rules whose RUN, PROGRAM or IMPORT{program} runs a marked program

udevd runs the programs of matching rules as root whenever a device
appears, and at boot every device appears: a rule in /etc/udev/rules.d that
matches, say, every network interface is a root start-up hook that few
think of. The check reads the rules in /etc/udev/rules.d, /run/udev/rules.d,
/usr/local/lib/udev/rules.d and /usr/lib/udev/rules.d (a file a package
installed and nobody changed is not looked into) and judges every command
of RUN, RUN{program}, PROGRAM and IMPORT{program} like any command: a
program in a world-writable or hidden place, a download or base64 fed to a
shell, a miner, a program no package installed where packages put theirs.
A program named without a slash is udev's own, in /lib/udev.

The fix comments the rule out ("# disabled by rescue: udev rule: …"), and
quarantines what it runs that no package installed and that is marked.

Before (/etc/udev/rules.d/99-net.rules):

  ACTION=="add", SUBSYSTEM=="net", RUN+="/bin/sh -c '/var/tmp/.n/netd &'"

After:

  # disabled by rescue: udev rule: ACTION=="add", SUBSYSTEM=="net", RUN+="/bin/sh -c '/var/tmp/.n/netd &'"
`
