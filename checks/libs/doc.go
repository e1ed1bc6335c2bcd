// Package libs checks that the programs boot and login run can find every
// shared library they need.
package libs

const doc = `shared libraries that systemd, login, the shells and sshd cannot load

A dynamically linked program starts with its loader (PT_INTERP,
/lib64/ld-linux-x86-64.so.2), which maps every library the program names
in DT_NEEDED, and every library those name, searching RPATH/RUNPATH, the
directories of /etc/ld.so.conf and its includes, then the defaults
(/lib/x86_64-linux-gnu and /usr/lib/x86_64-linux-gnu on Debian, /lib64
and /usr/lib64 on RHEL). One missing library and the program does not
start ("error while loading shared libraries"). The first file found
decides: an empty one fails with "file too short" even when a good copy
sits in a later directory.

The check reads the ELF headers of systemd, bash, login, agetty, sshd,
su and sudo with debug/elf (it never runs them), resolves their libraries
as ld.so would, and reports each library that is missing, empty or not a
loadable ELF file, with the programs that need it:

  - critical when systemd needs it: PID 1 cannot start and the kernel
    panics at boot ("Attempted to kill init!"); a zero-size libc.so.6 or
    loader does exactly this;
  - error when only the login path needs it (bash, login, agetty, sshd,
    su, sudo): the machine boots, no one logs in.

It also reads /etc/ld.so.preload: ld.so loads each library listed there
into every program. One that is missing or damaged does not stop
programs, but every program prints "ERROR: ld.so: object ... cannot be
preloaded ... ignored" on stderr, which breaks scripts that read it, and a
library left there by a removed security agent or by an attacker is worth
knowing about.

Fixes: a missing or damaged library is restored from its package (nothing
else is safe: a library from another system can crash every program). A
preload entry whose library is missing is commented out with a
"# disabled by rescue" marker.

Before (/etc/ld.so.preload):

  /usr/lib64/libsecagent.so

After:

  # disabled by rescue: library not found: /usr/lib64/libsecagent.so
`
