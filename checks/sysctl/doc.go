// Package sysctl checks the kernel settings applied at boot for values that
// starve or stop the machine.
package sysctl

const doc = `sysctl settings that starve the machine of memory or processes

At boot systemd-sysctl (or rc.sysinit on CentOS 6) writes every key of
/etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d
and /lib/sysctl.d (one file per name, the first directory wins, files in
name order) and then /etc/sysctl.conf; the last value of a key wins. The
check follows that order and judges the value each key ends up with:

  - vm.min_free_kbytes: the kernel keeps that much memory free at all
    times. A value that is a large share of RAM (the seed's 1 GB on a small
    instance) makes the OOM killer run during boot: services die, logins
    fail, the machine may never finish booting. With the instance's RAM
    (--memory, or else what the last boot's kernel log said: "Memory:
    …K/…K available") the share is computed (20% or more: critical, 5% or
    more: warning); without it a
    value of 1 GiB or more, above anything the kernel picks itself, is
    reported as a warning.
  - vm.nr_hugepages: huge pages (2 MiB each on x86_64) are reserved at boot
    and unusable for anything else. Compared with --memory: 90% of RAM or
    less than 512 MiB left is critical, half of RAM a warning.
  - vm.overcommit_memory = 2 with vm.overcommit_ratio (or
    vm.overcommit_kbytes) that leaves too little: every allocation past the
    commit limit fails, so fork fails and sshd and login cannot start a
    session. The limit is computed as the kernel does and shown: the
    ratio of the RAM huge pages do not take (--memory), or
    overcommit_kbytes, plus the swap fstab turns on (a swap file's size is
    read; a swap partition's is not known, which lowers an error to a
    warning). Below 512 MiB: an error.
  - fs.file-max below 4096 (an error: a boot alone opens more, and past it
    every process but root's gets "Too many open files in system"), below
    65536 a warning; kernel.threads-max below 512 (an error: fork fails
    for everyone), below 4096 a warning; fs.nr_open below 1024 (a
    warning: services' open-file limits are cut to it, and the limits
    check judges limits.conf against it). With --memory the finding shows
    the kernel's own default for that RAM.
  - vm.panic_on_oom = 1 or 2: an out-of-memory situation panics the kernel
    instead of killing one process.
  - kernel.pid_max below 4096 (below 1024: an error): fork fails once that
    many processes and threads exist.
  - net.ipv4.tcp_tw_recycle: removed in Linux 4.12 (systemd-sysctl logs a
    failure for it at every boot); on older kernels 1 drops connections from
    clients behind NAT.

The fix comments out every line that sets the key to the harmful value,
marked "# disabled by rescue: <why>:", so that the kernel default (or an
earlier, sane line) applies. Nothing else in the files changes.

Before (/etc/sysctl.conf, instance with 2 GiB of RAM):

  vm.min_free_kbytes = 1048576

After:

  # disabled by rescue: keeps half of RAM free: vm.min_free_kbytes = 1048576
`
