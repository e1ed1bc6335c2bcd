package bootloader

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"rescue/checks"
	"rescue/facts"
	"rescue/parse/bootsector"
	"rescue/sysroot"
)

// Check is the bootloader check.
var Check = &checks.Check{
	Name:     "bootloader",
	Doc:      doc,
	Requires: []facts.Fact{facts.BootDisk},
	Kinds:    []string{"mbr-signature-missing", "mbr-code-zeroed", "mbr-code-foreign", "core-missing", "esp-unformatted", "efi-loader-missing", "efi-fallback-missing"},
	Reads:    []string{"/boot/grub/i386-pc", "/boot/grub2/i386-pc", "/usr/lib/grub/i386-pc", "/usr/lib/grub/x86_64-efi", "/usr/sbin/grub-install", "/usr/sbin/grub2-install", "/boot/efi/EFI/..."},
	Run:      run,
}

const sector = bootsector.SectorSize

func run(pass *checks.Pass) error {
	d := pass.Facts.Disk()
	if d == nil {
		pass.Note("no disk: the boot sector, GRUB's core image and the EFI system partition are checked when rescue is given the device or image (rescue scan /dev/vdb); a directory says nothing about them")
		return nil
	}
	c := &checker{pass: pass, d: d}
	esp := d.Partition("esp")
	areas, err := pass.Facts.BootAreas()
	if err != nil {
		pass.Note("the boot areas of %s could not be read: %v", d.Path, err)
		areas = &facts.BootAreas{}
	}
	c.a = areas
	switch {
	case c.biosGRUB() == "":
		if esp == nil {
			pass.Note("the target has no GRUB for BIOS (no /boot/grub/i386-pc) and the disk no EFI system partition: its boot loader is not judged")
		}
	case d.Table == "gpt" && d.Partition("bios-boot") == nil:
		// A GPT disk without a BIOS boot partition has nowhere to
		// embed GRUB's core image: it boots by UEFI (the ESP), and
		// the GRUB modules for BIOS are only installed files.
		if esp == nil {
			pass.Note("GPT disk without a BIOS boot partition or an EFI system partition: GRUB for BIOS cannot be embedded, and no UEFI loader can be")
		}
	default:
		c.bios()
	}
	if esp != nil {
		c.uefi(esp)
	}
	return nil
}

type checker struct {
	pass *checks.Pass
	d    *facts.Disk
	a    *facts.BootAreas
}

// biosGRUB returns GRUB's BIOS module directory in the target's /boot
// ("" when none): grub-install put it there, so the machine was made to
// boot by BIOS through GRUB.
func (c *checker) biosGRUB() string {
	for _, p := range []string{"/boot/grub/i386-pc", "/boot/grub2/i386-pc"} {
		if fi, err := c.pass.Root.Stat(p); err == nil && fi.IsDir() {
			return p
		}
	}
	return ""
}

// report adds the reinstall fix to a finding about the BIOS boot path.
func (c *checker) report(f checks.Finding, firmware string) {
	p, err := PlanReinstall(c.pass.Root, c.d, firmware)
	switch {
	case err != nil:
		f.NoFix = err.Error()
	default:
		f.Fixes = append(f.Fixes, p.Fix)
	}
	c.pass.Report(f)
}

// bios judges what a BIOS runs: sector 0, then GRUB's core image.
func (c *checker) bios() {
	d := c.d
	if len(c.a.Head) < sector {
		c.pass.Note("sector 0 of %s could not be read", d.Path)
		return
	}
	m, err := bootsector.ParseMBR(c.a.Head[:sector])
	if err != nil {
		c.pass.Note("sector 0 of %s: %v", d.Path, err)
		return
	}
	ev := []string{fmt.Sprintf("%s sector 0: boot code %s, signature 55aa %s", DiskName(d.Path), describe(m), yes(m.Signature))}
	impactNone := "the BIOS finds no boot loader: the machine stops before GRUB (\"No bootable device\", or a blank console); nothing reaches the serial console"
	if !m.Signature {
		c.report(checks.Finding{Kind: "mbr-signature-missing", Severity: checks.Critical,
			Message:  fmt.Sprintf("sector 0 of %s does not end with the boot signature 55aa", DiskName(d.Path)),
			Impact:   "the BIOS does not boot from the disk: " + impactNone,
			Evidence: ev}, "bios")
		return
	}
	if m.CodeZero {
		c.report(checks.Finding{Kind: "mbr-code-zeroed", Severity: checks.Critical,
			Message:  fmt.Sprintf("the boot code of sector 0 of %s is all zeros (the partition table is intact): GRUB's boot.img was wiped", DiskName(d.Path)),
			Impact:   impactNone + "; the disk's data is intact",
			Evidence: ev}, "bios")
		return
	}
	if m.Loader != "grub2" {
		// Another loader may boot the machine: replacing it is the
		// operator's call, not a default fix.
		c.pass.Report(checks.Finding{Kind: "mbr-code-foreign", Severity: checks.Warning,
			Message:  fmt.Sprintf("the boot code of sector 0 of %s is not GRUB 2's (%s), while the target's GRUB is installed for BIOS (%s)", DiskName(d.Path), describe(m), c.biosGRUB()),
			Impact:   "the machine boots only if that code chains to a loader still on the disk (a partition's boot sector); it does not start the target's GRUB, so kernel updates (grub-mkconfig) no longer choose what boots",
			Evidence: ev,
			NoFix:    "another boot loader may be what boots this machine: rescue fix --apply --allow-chroot --reinstall-bootloader puts GRUB's boot code back if GRUB is what it should boot"})
		return
	}
	c.core(m, ev)
}

// core follows boot.img to GRUB's core image: diskboot.img in the sector
// it names, and the sectors its block lists load.
func (c *checker) core(m bootsector.MBR, ev []string) {
	d := c.d
	area, base, where := c.a.Head, int64(0), "the gap before the first partition"
	if bb := d.Partition("bios-boot"); bb != nil && d.Table == "gpt" {
		area, base, where = c.a.BIOSBoot, bb.Start, "the BIOS boot partition"
	}
	ks := int64(m.KernelSector) * sector
	if ks < base || ks+sector > base+int64(len(area)) {
		c.pass.Note("GRUB's boot code in sector 0 of %s loads its core image from sector %d, outside %s: GRUB was installed with block lists into a filesystem; the core image is not judged", d.Path, m.KernelSector, where)
		return
	}
	sectorAt := func(n int64) []byte {
		off := n*sector - base
		if off < 0 || off+sector > int64(len(area)) {
			return nil
		}
		return area[off : off+sector]
	}
	missing := func(why string) {
		c.report(checks.Finding{Kind: "core-missing", Severity: checks.Critical,
			Message:  fmt.Sprintf("GRUB's core image is missing from %s of %s: %s", where, DiskName(d.Path), why),
			Impact:   "GRUB's boot code finds no core image to load: the machine stops at \"GRUB \" (or \"Read Error\") on the VGA console, before any menu; nothing reaches the serial console",
			Evidence: append(ev, fmt.Sprintf("boot.img loads the core image from sector %d", m.KernelSector))}, "bios")
	}
	db, err := bootsector.ParseDiskboot(sectorAt(int64(m.KernelSector)))
	if err != nil {
		if zero(sectorAt(int64(m.KernelSector))) {
			missing(fmt.Sprintf("sector %d, where boot.img loads it from, is all zeros", m.KernelSector))
		} else {
			missing(fmt.Sprintf("sector %d, where boot.img loads it from, is not GRUB's diskboot.img (%v)", m.KernelSector, err))
		}
		return
	}
	for _, b := range db.Blocks {
		first, last := sectorAt(int64(b.Start)), sectorAt(int64(b.Start)+int64(b.Len)-1)
		switch {
		case first == nil || last == nil:
			missing(fmt.Sprintf("its sectors %d-%d lie outside %s", b.Start, b.Start+uint64(b.Len)-1, where))
			return
		case zero(first) || zero(last):
			missing(fmt.Sprintf("its sectors %d-%d (after diskboot.img in sector %d) are zeroed", b.Start, b.Start+uint64(b.Len)-1, m.KernelSector))
			return
		}
	}
}

// loaderNames are the EFI loaders the firmware starts: the removable
// media path, which firmware tries when no NVRAM entry works (a new
// instance from this disk has none), and the distribution's own, which
// the NVRAM entry grub-install made points at.
const fallbackLoader = "BOOTX64.EFI"

var distroLoaders = []string{"shimx64.efi", "grubx64.efi"}

// uefi judges the EFI system partition.
func (c *checker) uefi(esp *facts.DiskPartition) {
	name := esp.Name
	if name == "" {
		name = fmt.Sprintf("partition %d of %s", esp.Number, DiskName(c.d.Path))
	}
	if esp.FSType != "vfat" {
		what := "has no filesystem"
		if esp.FSType != "" {
			what = "holds " + esp.FSType + ", not FAT"
		}
		f := checks.Finding{Kind: "esp-unformatted", Severity: checks.Critical, Subject: name,
			Message: fmt.Sprintf("the EFI system partition %s %s", name, what),
			Impact:  "UEFI firmware reads boot loaders from a FAT filesystem only: it finds none on this disk and the machine does not boot (the firmware's boot manager or shell comes up)",
			NoFix:   "formatting a partition cannot be undone: make a FAT filesystem on it (mkfs.vfat -F 32), mount it at /boot/efi, then rescue fix --apply --allow-chroot --reinstall-bootloader installs GRUB on it"}
		c.pass.Report(f)
		return
	}
	if esp.MountPoint == "" {
		c.pass.Note("the EFI system partition %s is not mounted in the target (no /boot/efi in its fstab?): its loaders are not checked", name)
		return
	}
	found, err := loaders(c.pass.Root, esp.MountPoint)
	if err != nil {
		c.pass.Note("listing %s/EFI: %v", esp.MountPoint, err)
		return
	}
	ev := []string{fmt.Sprintf("%s mounted at %s; loaders: %s", name, esp.MountPoint, orNone(found))}
	fallback, distro := "", ""
	for _, f := range found {
		if strings.EqualFold(f, "EFI/BOOT/"+fallbackLoader) {
			fallback = f
		} else if distro == "" {
			distro = f
		}
	}
	p := strings.TrimSuffix(esp.MountPoint, "/") + "/EFI"
	switch {
	case fallback == "" && distro == "":
		c.report(checks.Finding{Kind: "efi-loader-missing", Severity: checks.Critical, Path: p,
			Message:  fmt.Sprintf("the EFI system partition %s holds no boot loader: neither EFI/BOOT/%s nor EFI/<distribution>/%s", name, fallbackLoader, strings.Join(distroLoaders, " or ")),
			Impact:   "the UEFI firmware finds nothing to start: the machine does not boot (the firmware's boot manager, PXE or shell comes up)",
			Evidence: ev}, "uefi")
	case fallback == "":
		c.report(checks.Finding{Kind: "efi-fallback-missing", Severity: checks.Warning, Path: p,
			Message:  fmt.Sprintf("the EFI system partition %s has %s but not the removable-media path EFI/BOOT/%s", name, distro, fallbackLoader),
			Impact:   "the machine boots only through an NVRAM boot entry naming " + distro + ": an instance made from this disk (an image, a snapshot) or firmware whose NVRAM was reset finds no loader",
			Evidence: ev}, "uefi")
	}
}

// loaders lists the EFI loaders on the ESP mounted at mp, as paths
// relative to it. FAT is case-insensitive, so names are compared so.
func loaders(r *sysroot.Root, mp string) ([]string, error) {
	top := strings.TrimSuffix(mp, "/") + "/EFI"
	dirs, err := r.ReadDir(top)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, dir := range dirs {
		if !dir.IsDir() {
			continue
		}
		files, err := r.ReadDir(top + "/" + dir.Name())
		if err != nil {
			continue
		}
		for _, f := range files {
			n := f.Name()
			ok := strings.EqualFold(dir.Name(), "BOOT") && strings.EqualFold(n, fallbackLoader)
			for _, l := range distroLoaders {
				ok = ok || !strings.EqualFold(dir.Name(), "BOOT") && strings.EqualFold(n, l)
			}
			if fi, err := f.Info(); ok && err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
				out = append(out, "EFI/"+dir.Name()+"/"+n)
			}
		}
	}
	return out, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func describe(m bootsector.MBR) string {
	switch {
	case m.CodeZero:
		return "all zeros"
	case m.Loader == "grub2":
		return fmt.Sprintf("GRUB 2 boot.img (core image at sector %d)", m.KernelSector)
	case m.Loader != "":
		return m.Loader + "'s"
	}
	return "not a known boot loader's"
}

func yes(b bool) string {
	if b {
		return "present"
	}
	return "missing"
}

func zero(b []byte) bool {
	if b == nil {
		return false
	}
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// DiskName names the disk in findings: the device (/dev/vdb), or an
// image by its file name, which stays the same wherever it was copied.
func DiskName(p string) string {
	if strings.HasPrefix(p, "/dev/") {
		return p
	}
	return path.Base(p)
}
