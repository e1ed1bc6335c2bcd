// Package auditd checks the actions auditd takes when its disk fills.
package auditd

const doc = `auditd set to halt the machine or drop it to single-user mode when its disk fills

auditd.conf's disk_full_action, disk_error_action, admin_space_left_action
and space_left_action may be HALT (power the machine off) or SINGLE
(switch to single-user mode: the console only, no network, no SSH). Hardened
systems set them on purpose, and then a full /var/log/audit takes the
machine down: it stops, or boots and halts again as soon as auditd starts
and sees the disk full.

When rescue was given the disk, it knows how full the filesystem holding
log_file is, and reports:

  - an action that fires now (free space below admin_space_left or
    space_left, in MB or as a percentage; no space at all for
    disk_full_action; recorded filesystem errors for disk_error_action):
    critical for HALT (the machine halts after every boot), error for
    SINGLE (nobody can log in over the network). Fix: SUSPEND in its place
    (auditd stops writing, the machine keeps running), or SYSLOG; the fix
    says plainly that it relaxes an audit policy, to be set back once
    there is room again.
  - an action that would fire when the disk fills: a warning with the
    arithmetic (free space against the threshold), and no fix: it is
    policy.

For a directory target rescue cannot see the free space: the settings are
reported as warnings.

Before (/etc/audit/auditd.conf, /var/log/audit full):

  disk_full_action = HALT

After:

  disk_full_action = SUSPEND
`
