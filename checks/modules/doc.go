// Package modules finds kernel modules a compromise makes the machine load.
package modules

const doc = `kernel modules loaded at boot from odd places or that no package installed, and modprobe commands that run programs

A kernel rootkit (Diamorphine, Reptile and the like, which miner kits use to
hide their processes) stays by being loaded at every boot: its name in
/etc/modules or /etc/modules-load.d, its file dropped into the kernel's
module tree, or an "install" line in modprobe.d that runs insmod on a file
elsewhere. The check reads, without running anything:

  - /etc/modules and modules-load.d/*.conf in /etc, /run, /usr/local/lib
    and /usr/lib: an entry is reported when it names a file instead of a
    module, when it is a public rootkit's name, or when its module file
    (found through every kernel's modules.dep) sits in the kernel's tree
    but no package installed it;
  - install and remove lines of modprobe.d/*.conf: their commands are
    judged like any command (insmod of a file outside /lib/modules, a
    program in a world-writable or hidden place, a download fed to a
    shell).

A file a package installed and nobody changed is not looked into; modules
of DKMS (updates/, extra/) are not judged unowned.

The fix comments the line out ("# disabled by rescue: kernel module: …")
and quarantines the module file or program no package installed.

Before (/etc/modules-load.d/net.conf):

  diamorphine

After:

  # disabled by rescue: kernel module: diamorphine
  (/lib/modules/6.1.0-28-amd64/kernel/drivers/net/diamorphine.ko is in the repair journal)
`
