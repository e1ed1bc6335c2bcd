package bootloader

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"rescue/facts"
	"rescue/repair"
	"rescue/sysroot"
)

// Reinstall is a planned reinstall of the target's boot loader and its
// account.
type Reinstall struct {
	Fix     repair.Fix
	Changes []string
	Notes   []string
}

// ErrNoDisk says why nothing is planned for a directory target.
var ErrNoDisk = errors.New("the target is a directory: rescue cannot tell which disk it boots from, and grub-install writes that disk's boot sector; give the device or image (rescue fix /dev/vdb …)")

// PlanReinstall plans reinstalling GRUB on the target's disk with the
// target's own grub-install (grub2-install), run in its chroot, for the
// firmware given ("bios", "uefi"; "" for what the disk is made for). For
// BIOS it backs up what grub-install may rewrite outside the root's files:
// the sectors before the first partition (boot.img in sector 0 and, on a
// DOS disk, the core image after it) and a BIOS boot partition.
func PlanReinstall(r *sysroot.Root, d *facts.Disk, firmware string) (*Reinstall, error) {
	if d == nil {
		return nil, ErrNoDisk
	}
	if firmware == "" {
		firmware = Firmware(r, d)
		if firmware == "" {
			return nil, fmt.Errorf("no boot loader to reinstall: the target has no GRUB for BIOS (/boot/grub/i386-pc) and %s no EFI system partition", d.Path)
		}
	}
	installer, bootDir := "", ""
	for _, c := range []struct{ bin, dir string }{
		{"/usr/sbin/grub-install", "/boot/grub"}, {"/usr/sbin/grub2-install", "/boot/grub2"},
		{"/sbin/grub-install", "/boot/grub"}, {"/sbin/grub2-install", "/boot/grub2"},
	} {
		if fi, err := r.Stat(c.bin); err == nil && fi.Mode().IsRegular() {
			installer, bootDir = c.bin, c.dir
			break
		}
	}
	if installer == "" {
		return nil, errors.New("the target has no grub-install or grub2-install (/usr/sbin): install GRUB's package (grub-pc, grub2-tools) from a running system")
	}
	// The full path: the command is looked up before the chroot, in
	// the helper's PATH otherwise.
	switch firmware {
	case "bios":
		return planBIOS(r, d, installer, bootDir)
	case "uefi":
		return planUEFI(r, d, installer, bootDir)
	}
	return nil, fmt.Errorf("unknown firmware %q", firmware)
}

// Firmware says how the disk is made to boot: "bios" when the target has
// GRUB for BIOS and the disk can hold its core image (a DOS table, or a
// GPT with a BIOS boot partition), "uefi" when it has an EFI system
// partition, "" when neither.
func Firmware(r *sysroot.Root, d *facts.Disk) string {
	bios := false
	for _, p := range []string{"/boot/grub/i386-pc", "/boot/grub2/i386-pc"} {
		if fi, err := r.Stat(p); err == nil && fi.IsDir() {
			bios = true
		}
	}
	switch {
	case bios && (d.Table == "dos" || d.Partition("bios-boot") != nil):
		return "bios"
	case d.Partition("esp") != nil:
		return "uefi"
	}
	return ""
}

// maxGap bounds the sectors before the first partition that are backed
// up (1 MiB on every disk partitioned since 2009).
const maxGap = 64 << 20

func planBIOS(r *sysroot.Root, d *facts.Disk, installer, bootDir string) (*Reinstall, error) {
	if !isDir(r, "/usr/lib/grub/i386-pc") {
		return nil, errors.New("the target lacks GRUB's modules for BIOS (/usr/lib/grub/i386-pc: package grub-pc-bin, grub2-pc-modules): grub-install --target=i386-pc would fail")
	}
	var partmap string
	switch d.Table {
	case "dos":
		partmap = "part_msdos"
	case "gpt":
		partmap = "part_gpt"
		if d.Partition("bios-boot") == nil {
			return nil, fmt.Errorf("%s has a GPT and no BIOS boot partition: GRUB for BIOS has nowhere to put its core image", d.Path)
		}
	default:
		return nil, fmt.Errorf("%s has no partition table: GRUB for BIOS has nowhere to put its core image", d.Path)
	}
	first := d.FirstPartition()
	if first <= 512 || first > maxGap {
		return nil, fmt.Errorf("the first partition of %s starts at byte %d: the gap before it cannot be backed up whole", d.Path, first)
	}
	// The partition map is named: grub-install asks the helper's kernel
	// which partition /boot/grub is on, and a helper that attached the
	// disk's partitions as loop devices (no partition nodes) has no
	// answer, so the core image would lack the module that finds it.
	// An LVM root needs the lvm module for the same reason.
	mods := []string{partmap}
	if d.Partition("lvm") != nil {
		mods = append(mods, "lvm")
	}
	argv := []string{installer, "--target=i386-pc", "--modules=" + strings.Join(mods, " "), repair.DiskArg}
	touches, err := filesUnder(r, bootDir+"/i386-pc", bootDir+"/fonts", bootDir+"/locale")
	if err != nil {
		return nil, err
	}
	op, err := repair.Exec(r, argv, touches...)
	if err != nil {
		return nil, err
	}
	op.Disk = d.Path
	gap, err := repair.NewRegion("the boot sector and the sectors before the first partition", d.Path, 0, first)
	if err != nil {
		return nil, err
	}
	op.Regions = append(op.Regions, gap)
	if bb := d.Partition("bios-boot"); bb != nil && d.Table == "gpt" {
		if bb.Size > maxGap {
			return nil, fmt.Errorf("the BIOS boot partition of %s is %d bytes: too large to back up whole", d.Path, bb.Size)
		}
		reg, err := repair.NewRegion(fmt.Sprintf("the BIOS boot partition (%d)", bb.Number), d.Path, bb.Start, bb.Size)
		if err != nil {
			return nil, err
		}
		op.Regions = append(op.Regions, reg)
	}
	fix, err := repair.NewFix(fmt.Sprintf("Reinstall GRUB for BIOS on %s with the target's %s --target=i386-pc (in its chroot)", DiskName(d.Path), path.Base(installer))).Add(op, nil).Build()
	if err != nil {
		return nil, err
	}
	rs := &Reinstall{Fix: fix}
	rs.Changes = append(rs.Changes, fmt.Sprintf("run the target's %s in its chroot on %s: GRUB's boot.img into sector 0, its core image into %s, its modules into %s", strings.Join(argv, " "), d.Path, where(d), bootDir))
	for _, reg := range op.Regions {
		rs.Notes = append(rs.Notes, fmt.Sprintf("backed up into the journal before it runs, and put back byte for byte by rescue undo: %s", reg.Describe()))
	}
	return rs, nil
}

func where(d *facts.Disk) string {
	if d.Table == "gpt" {
		return "the BIOS boot partition"
	}
	return "the sectors before the first partition"
}

func planUEFI(r *sysroot.Root, d *facts.Disk, installer, bootDir string) (*Reinstall, error) {
	esp := d.Partition("esp")
	if esp == nil {
		return nil, fmt.Errorf("%s has no EFI system partition", d.Path)
	}
	if esp.FSType != "vfat" {
		return nil, fmt.Errorf("the EFI system partition of %s holds no FAT filesystem: make one (mkfs.vfat -F 32; it cannot be undone) and mount it at /boot/efi first", d.Path)
	}
	if esp.MountPoint == "" {
		return nil, fmt.Errorf("the EFI system partition of %s is not mounted in the target: its fstab has no /boot/efi", d.Path)
	}
	if esp.Copy {
		// grub-install probes the device under the EFI directory; the
		// copy's is the helper's own (measured: grub-install exits 1
		// with "disk `hostdisk//dev/vda' not found" for a copy on the
		// helper's disk).
		return nil, errors.New("this helper's kernel cannot mount FAT (no vfat), so rescue mounted a copy of the EFI system partition, and grub-install cannot install onto a copy (it probes the device under it, which is the helper's): reinstall from a helper whose kernel has vfat (every cloud helper image has)")
	}
	if !isDir(r, "/usr/lib/grub/x86_64-efi") && !isDir(r, "/usr/lib/grub/x86_64-efi-signed") {
		return nil, errors.New("the target lacks GRUB's EFI modules (/usr/lib/grub/x86_64-efi: package grub-efi-amd64-bin, grub2-efi-x64): grub-install --target=x86_64-efi would fail")
	}
	// --no-nvram: the NVRAM it would write is the helper's, not the
	// broken machine's. The removable-media path (EFI/BOOT/BOOTX64.EFI)
	// is what the firmware of the machine the disk goes back to (or of a
	// new instance made from it) finds without an NVRAM entry; Debian's
	// grub-install writes it besides its own with
	// --force-extra-removable, others only instead with --removable.
	argv := []string{installer, "--target=x86_64-efi", "--efi-directory=" + esp.MountPoint, "--no-nvram"}
	if r.Exists("/etc/debian_version") {
		argv = append(argv, "--force-extra-removable")
	} else {
		argv = append(argv, "--removable")
	}
	touches, err := filesUnder(r, strings.TrimSuffix(esp.MountPoint, "/")+"/EFI", bootDir+"/x86_64-efi", bootDir+"/fonts", bootDir+"/locale")
	if err != nil {
		return nil, err
	}
	op, err := repair.Exec(r, argv, touches...)
	if err != nil {
		return nil, err
	}
	fix, err := repair.NewFix(fmt.Sprintf("Reinstall GRUB for UEFI on the EFI system partition of %s with the target's %s --target=x86_64-efi (in its chroot)", DiskName(d.Path), path.Base(installer))).Add(op, nil).Build()
	if err != nil {
		return nil, err
	}
	rs := &Reinstall{Fix: fix}
	rs.Changes = append(rs.Changes, fmt.Sprintf("run the target's %s in its chroot: GRUB (and shim, where the target has it) into %s/EFI, including the removable-media path EFI/BOOT/BOOTX64.EFI", strings.Join(argv, " "), esp.MountPoint))
	rs.Notes = append(rs.Notes, fmt.Sprintf("the %d files under %s/EFI are backed up into the journal first; rescue undo puts them back and removes what grub-install added", countUnder(touches, esp.MountPoint), esp.MountPoint),
		"no NVRAM boot entry is written (it would be the helper's): the machine boots the removable-media path, or its existing entry")
	return rs, nil
}

func countUnder(ps []string, dir string) int {
	n := 0
	for _, p := range ps {
		if strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/") {
			n++
		}
	}
	return n
}

func isDir(r *sysroot.Root, p string) bool {
	fi, err := r.Stat(p)
	return err == nil && fi.IsDir()
}

// maxTouched bounds the files backed up for one reinstall.
const maxTouched = 5000

// filesUnder lists the regular files under dirs (those that exist):
// what grub-install rewrites, backed up so that undo puts them back.
func filesUnder(r *sysroot.Root, dirs ...string) ([]string, error) {
	var out []string
	for _, dir := range dirs {
		if !isDir(r, dir) {
			continue
		}
		err := r.Walk(dir, func(name string, fi fs.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if fi.Mode().IsRegular() {
				out = append(out, name)
			}
			if len(out) > maxTouched {
				return fmt.Errorf("more than %d files under %s", maxTouched, dir)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
