// Package dropped lists the programs and miner configurations left in the
// world-writable places of a disk.
package dropped

const doc = `programs and miner configurations in world-writable places (/tmp, /var/tmp, /dev/shm), with their hashes

Droppers write their payloads where anyone can write: /tmp/kdevtmpfsi and
/tmp/kinsing, a hidden directory under /var/tmp with xmrig and its
config.json, a script in /dev/shm. Nothing a package installs runs a
program from there, and on a stopped disk whatever is left there is what
the next boot's cron line or unit will start.

The check walks /tmp, /var/tmp, /dev/shm, /run/shm, /run/lock, /var/lock,
/var/crash and /var/spool/samba as they are on the disk (a tmpfs mounted at
run time holds nothing here), up to 8 levels and 50,000 entries, and
reports:

  - a program (a file with an execute bit, an ELF file or a script by its
    first bytes) that something marks: a miner's name or strings, a kernel
    thread's name, a download fed to a shell in it, a hidden directory on
    its way, or being an ELF program right at the top of the place, where
    droppers put theirs; with its sha256, size, mtime and ctime (--json:
    indicators.files);
  - a file that holds a miner's configuration (pools, donate-level,
    RandomX) or a Monero wallet;
  - (info) the other programs of each place, together, with their hashes
    (the first 100; a build directory left in /tmp is no intruder's by
    itself).

The fix quarantines a marked file: it moves into the repair journal (kept,
and listed with its sha256), and rescue undo puts it back. The listed ones
are left for a person to judge.

Before:

  /tmp/kdevtmpfsi   (ELF, 2.4 MiB, sha256 6c04bb7a…)

After:

  (/tmp/kdevtmpfsi is in the repair journal)
`
