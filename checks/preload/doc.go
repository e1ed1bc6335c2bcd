// Package preload finds libraries a compromise forces into every program.
package preload

const doc = `libraries forced into every program through /etc/ld.so.preload or LD_PRELOAD that no package installed

/etc/ld.so.preload makes ld.so load a library into every program that
starts. Miner kits use it for a user-mode rootkit: Kinsing's
/etc/libsystem.so and the libprocesshider that Migo and others install make
ps, top and ls stop showing the miner's processes and files, so a cleanup
on the running machine misses them. LD_PRELOAD in /etc/environment,
environment.d, pam_env.conf or systemd's DefaultEnvironment= does the same
for every session or service.

An entry is reported when its library is marked: no package installed it
(a preloaded library should come from a package), it is in a world-writable
or hidden place, it is a package's library whose content changed, or it
holds a miner's strings. A library a package installed as it is (jemalloc
preloaded for a database) is not reported. A missing library is the libs
check's finding.

The fix comments the entry out ("# disabled by rescue: preloaded library:
…"; ld.so reads # as a comment) and quarantines the library: it moves into
the repair journal, and rescue undo puts both back. The next boot's
programs no longer load it, so the processes it hid show again.

Before (/etc/ld.so.preload):

  /etc/libsystem.so

After:

  # disabled by rescue: preloaded library: /etc/libsystem.so
  (/etc/libsystem.so is in the repair journal)
`
