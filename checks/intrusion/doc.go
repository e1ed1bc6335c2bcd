// Package intrusion is what the intrusion checks share: the analysis of
// the commands persistence places run, the judgement of the files they
// name, and the findings and fixes that follow. It is not a check itself;
// FamilyDoc describes the "intrusions" family of checks that use it
// (rescue explain intrusions prints it).
package intrusion

// FamilyDoc is the documentation of the intrusions family: the checks, the
// marks, the fixes, and the public reports the marks and goldens follow.
const FamilyDoc = `what a compromise left on the disk to come back: the intrusions family of checks

The checks of the "intrusions" family look at the places a cryptominer or
another intruder uses to come back after a cleanup, on a disk that cannot
fight back because it is not running:

  cron       crontabs, cron.{hourly,daily,…} scripts, anacron and at jobs
  units      systemd units, timers, wants/ links, drop-ins and generators
             (system and user), SysV init scripts and rc.local
  preload    /etc/ld.so.preload and LD_PRELOAD in environment files
  startup    shell start-up files of the system and of every user
  sshkeys    authorized_keys of every account
  backdoors  second uid 0 accounts, shells on service accounts, sudo rules
  hosts      /etc/hosts entries for security and update hosts, and pools
  modules    kernel modules loaded from odd places, modprobe install hooks
  udev       udev rules that run programs
  replaced   package programs (ps, ss, sshd, …) whose content changed
  dropped    programs and miner configurations in world-writable places

"rescue scan --checks intrusions" runs the family alone, "--checks
-intrusions" leaves it out. A miner deleted by hand on the running machine
comes back from one of these places within minutes; on a stopped disk
attached to a helper it cannot. Findings carry indicators for the incident
(--json: "indicators", see docs/json.md): the place, the marks, the URLs,
hosts, wallets and key fingerprints, and every file with its sha256, size,
mtime and ctime; the text report lists them grouped by place.

What makes an entry suspicious

An entry (a cron line, a unit, a preload entry, a key, …) is reported
only when at least one mark applies, and the finding names every mark:

  writable-dir        it runs a file in /tmp, /var/tmp, /dev/shm or
                      another world-writable directory
  hidden-dir          the path hides behind a dot-name (/root/.configrc,
                      /tmp/.X25-unix), other than ordinary tool directories
                      (~/.local, ~/.cargo, ~/.acme.sh, …)
  download-to-shell   a download piped or fed into a shell (curl … | sh,
                      bash -c "$(wget -O- …)", bash <(curl …))
  base64-to-shell     decoded base64 piped or fed into a shell; base64
                      text is decoded and judged too
  dev-tcp             bash's /dev/tcp network redirections
  reverse-shell       nc -e, socat exec:
  miner               a miner's name, a pool, stratum+tcp://, or a program
                      carrying xmrig's strings
  miner-config        an xmrig-style configuration (pools, donate-level)
  wallet              a Monero wallet address
  kernel-thread-name  a file named like a kernel thread (kworker,
                      kdevtmpfs, …), which has no file
  unowned             a program or library no package installed, in a
                      directory the package database says is packaged
  replaced            a package's program whose content no longer matches
                      the package database
  immutable, chattr   files protected with chattr +i/+a, or commands that
                      set it (on the entry's own file this only adds to
                      other marks: administrators lock files too)
  preload             a library forced into programs (ld.so.preload,
                      LD_PRELOAD, LD_AUDIT) that no package installed
  rootkit             a kernel module named like a public rootkit

The checks of keys, accounts, sudo rules, hosts entries, modules and
units add marks of their own (a key in a Redis dump, a second uid 0, a
sudo rule for a service account, a security agent's host sent elsewhere,
debug-shell enabled, …): their pages say which.

A file a package installed and nobody changed is never marked for its
name or place, and never quarantined.

What the fixes do

Nothing is deleted for good; every fix goes through the repair journal
and "rescue undo" takes it back:

  - a line (cron job, start-up statement, key, hosts entry, sudo rule,
    udev rule, module entry) is commented out, marked
    "# disabled by rescue: KIND: ";
  - a unit is disabled by removing its wants/ and alias links, and its
    file is quarantined when no package owns it;
  - a file no package owns that an entry runs and that is marked (the
    miner, the dropper script, the preloaded library) is quarantined:
    moved into the repair journal, kept under its sha256 (mode 0600),
    and listed in the journal;
  - a package's program that was replaced is restored from the package
    (the restore of pkgfiles, checked against the database's digest);
  - chattr +i/+a on a file the fix edits is cleared for good and recorded
    (apply needs --clear-immutable); undo sets it again.

The reports followed

The marks and the golden roots (checks/*/testdata/*.txtar) follow the layouts these public reports describe; addresses in the
goldens are documentation addresses (RFC 5737), not the campaigns' own:

  - Aqua Security (Team Nautilus), "Threat Alert: Kinsing Malware Attacks
    Targeting Container Environments" (April 2020): a cron job piping
    wget -q -O - http://…/d.sh into sh every minute, the miner as
    /tmp/kdevtmpfsi, the dropper as /tmp/kinsing.
  - Trend Micro, "Analysis of Kinsing Malware's Use of Rootkit" (2020):
    a library written to /etc/libsystem.so and named in /etc/ld.so.preload
    to hide the miner's process, next to the cron job and a systemd unit
    that starts the dropper again.
  - Cado Security, "Migo – a Redis Miner with Novel System Weakening
    Techniques" (February 2024), and the older Redis campaigns it builds
    on: a Redis server made to write its dump as a crontab or as root's
    authorized_keys (REDIS0009 … header around the planted line), a
    systemd service and timer for the miner, and a process-hiding
    library in /etc/ld.so.preload.
  - Cado Security and Palo Alto Networks Unit 42 on TeamTNT (2020-2021):
    an SSH key appended to root's authorized_keys and the file locked with
    chattr +i, miners in hidden directories.
  - SentinelOne and Trend Micro on the 8220 Gang (2021-2023): cron lines
    of the form (curl -fsSL …/ldr.sh || wget -q -O- …/ldr.sh) | bash, and
    miners named sysupdate, networkservice and sysguard with an xmrig
    config.json beside them.
  - Honeypot reports on the Outlaw ("dota") kit (SANS ISC, Juniper Threat
    Labs): a key with the comment "mdrfckr" in root's authorized_keys and
    cron lines running /root/.configrc*/a/upd.

The hosts, udev, modules and backdoors checks follow no single report:
they look for what stops a machine from being repaired or watched (a
security agent's or the distribution's update hosts sent elsewhere) and
for the generic ways back in (a second UID 0 account, a shell on a
service account, a sudo rule for one, a rule that runs a program).

Before (a scan of an infected Debian 12 disk, abridged):

  /etc/cron.d/kinsing:1  cron/job:/etc/cron.d/kinsing#1
    cron job (* * * * *) of root: pipes a download (wget) into a shell (sh)
  /usr/lib/systemd/system/bot.service  units/unit:/usr/lib/systemd/system/bot.service
  /etc/ld.so.preload:1  preload/preload:/etc/ld.so.preload#1

After rescue fix --apply (rescue undo takes it all back):

  No problems found.
`
