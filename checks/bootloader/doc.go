// Package bootloader checks what the firmware starts: the boot code of
// the disk's sector 0 and GRUB's core image (BIOS), and the EFI system
// partition's loaders (UEFI).
package bootloader

const doc = `a boot loader the firmware cannot start: zeroed boot code, GRUB's core image gone, an empty ESP

Read from the target's own disk (rescue scan DEVICE or IMAGE), never
written; a directory target says nothing about its disk, and rescue does
not guess.

BIOS (a DOS partition table, or a GPT with a BIOS boot partition, and GRUB
for BIOS in /boot/grub/i386-pc):

  - sector 0 without its 55aa signature, or its boot code (the first 440
    bytes) all zeros: the BIOS finds no boot loader and the machine stops
    before GRUB, with nothing on the serial console (critical);
  - boot code that is not GRUB 2's (another loader's MBR): the machine
    boots only if that code chains to something still on the disk (a
    warning);
  - GRUB's boot.img pointing at a core image that is not there: the sector
    it names is not diskboot.img, or the sectors diskboot.img loads (in the
    gap before the first partition, or in the BIOS boot partition) are
    zeroed: GRUB stops at "GRUB " on the VGA console (critical).

UEFI (an EFI system partition):

  - the ESP holds no FAT filesystem: the firmware reads no other
    (critical; formatting cannot be undone, so rescue leaves it to the
    operator);
  - the ESP holds neither EFI/BOOT/BOOTX64.EFI (the removable-media path
    firmware tries without an NVRAM entry) nor a distribution's
    shimx64.efi or grubx64.efi (critical);
  - the distribution's loader without the removable-media path: it boots
    only through the NVRAM entry, which a new instance made from this disk
    does not have (a warning).

The fix (and rescue fix TARGET --reinstall-bootloader, asked for by name)
runs the target's own grub-install (grub2-install) in its chroot, so only
with --allow-chroot: for BIOS grub-install --target=i386-pc on the disk
(the partition map module named, as a helper that attached the partitions
as loop devices cannot tell grub-install which partition /boot is on), for
UEFI grub-install --target=x86_64-efi --efi-directory=/boot/efi --no-nvram
with the removable-media path as well (the NVRAM would be the helper's).
For UEFI the helper's kernel must mount the ESP (vfat, as cloud helper
images do): where it cannot, rescue reads the FAT into a copy, and
grub-install cannot install onto a copy (it probes the device under
--efi-directory), so the plan says so instead of running it.
What it rewrites outside the root's files is backed up into the journal
first: the sectors before the first partition (sector 0 and, on a DOS
disk, the core image) and a BIOS boot partition; rescue undo writes them
back byte for byte and refuses when they changed after the repair. Files
under /boot/grub and the ESP's EFI tree are backed up as files.

Before (rescue scan /dev/vdb, sector 0's boot code zeroed):

  critical  bootloader/mbr-code-zeroed#/dev/vdb
    the boot code of sector 0 of /dev/vdb is all zeros (the partition
    table is intact): GRUB's boot.img was wiped

After (rescue fix /dev/vdb --apply --allow-chroot --reinstall-bootloader):

  sector 0 holds GRUB 2's boot.img again, its core image follows it, and
  the machine boots; rescue undo /dev/vdb puts the zeroed sectors back.

Before (rescue scan /dev/vdb on a helper, the ESP's loaders deleted):

  critical  bootloader/efi-loader-missing:/boot/efi/EFI
    the EFI system partition /dev/vdb1 holds no boot loader: neither
    EFI/BOOT/BOOTX64.EFI nor EFI/<distribution>/shimx64.efi or grubx64.efi

After (the same fix, on that helper):

  EFI/debian/grubx64.efi and EFI/BOOT/BOOTX64.EFI are back (the target's
  signed GRUB; shim too where the target has it), and the machine boots;
  rescue undo /dev/vdb removes them and puts back what grub-install
  rewrote (EFI/debian/grub.cfg, /boot/grub/x86_64-efi).
`
