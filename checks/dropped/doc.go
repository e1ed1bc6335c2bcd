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

  - every program: a file with an execute bit, an ELF file or a script by
    its first bytes, with its sha256, size, mtime and ctime (--json:
    indicators.files), and what else marks it (a miner's name or strings,
    a kernel thread's name, a hidden directory);
  - a file that holds a miner's configuration (pools, donate-level,
    RandomX) or a Monero wallet.

The fix quarantines the file: it moves into the repair journal (kept, and
listed with its sha256), and rescue undo puts it back.

Before:

  /tmp/kdevtmpfsi   (ELF, 2.4 MiB, sha256 6c04bb7a…)

After:

  (/tmp/kdevtmpfsi is in the repair journal)
`
