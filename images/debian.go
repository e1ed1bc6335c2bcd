package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Flavor is the disk layout and boot method of a bootable image.
type Flavor string

// Flavors a Debian image can be built with.
const (
	// MBRExt4: DOS partition table, one bootable ext4 root partition at
	// 1 MiB, GRUB i386-pc in the MBR and the gap after it.
	MBRExt4 Flavor = "mbr-ext4"
	// GPTXfsUEFI: GPT, a FAT32 EFI system partition with Debian's signed
	// grubx64.efi at the removable-media path, and an xfs root; boots
	// with OVMF.
	GPTXfsUEFI Flavor = "gpt-xfs-uefi"
	// LVMExt4: DOS partition table, one LVM partition holding volume
	// group vg0 with a linear LV "root" (ext4), named
	// /dev/mapper/vg0-root in fstab and on the kernel line as the Debian
	// installer writes it; GRUB i386-pc reads the LV itself.
	LVMExt4 Flavor = "mbr-lvm-ext4"
)

// grubTarget is what grub-probe would say about the root of the disk the
// guest sees.
type grubTarget struct {
	platform    string // i386-pc, x86_64-efi
	partmap     string // msdos, gpt
	drive       string // (hd0,msdos1), (lvm/vg0-root)
	abstraction string // "" or lvm
	modules     []string
}

// espUUID is the volume id of the EFI system partition of UEFI images.
const espUUID = "1A2B-3C4D"

// DebianOptions say how to build a bootable Debian image.
type DebianOptions struct {
	// Root is the Debian root to put on the disk.
	Root *BootRoot
	// Out is the image file to write (replaced if it exists).
	Out string
	// Flavor of the disk (default MBRExt4).
	Flavor Flavor
	// SizeMB is the size of the (sparse) image; default 3072.
	SizeMB int
	// RootUUID is the root filesystem's UUID (default fixed, so that
	// builds are comparable).
	RootUUID string
	// WorkDir holds the unpacked root while building (default: beside Out).
	WorkDir string
	// SSHKey, when set, is the private key file to create (with
	// ssh-keygen) whose public half root and LoginUser accept over SSH.
	SSHKey string
}

// DebianImage is a built image and what a test needs to know about it.
type DebianImage struct {
	Path     string
	Flavor   Flavor
	RootUUID string
	FSType   string
	// RootOffset and RootSize locate the root filesystem in the image, in
	// bytes.
	RootOffset, RootSize int64
	// RootDevice is the root's device as the guest sees it (/dev/vda1).
	RootDevice string
	// Blkid lists the image's filesystems as the guest sees them, in
	// `blkid` output form, for `rescue --devices`.
	Blkid string
	// UEFI says the image boots with UEFI firmware (OVMF) only.
	UEFI bool
	// Kernels are the installed kernel versions, newest (the default
	// boot entry) first.
	Kernels []string
	// Debs is the directory of the .debs the root was built from.
	Debs string
	// SSHKey is the private key root and LoginUser accept over SSH (""
	// when the image was built without one).
	SSHKey string `json:",omitempty"`
}

// DefaultRootUUID is the root filesystem UUID of built images.
const DefaultRootUUID = "11111111-2222-4333-8444-555555555555"

// diskID is the DOS disk signature of built images ("RESC").
const diskID = "52455343"

// sectorSize is the logical sector size of built images.
const sectorSize = 512

// BuildDebian builds a bootable Debian image from a root tarball. The
// partition table and filesystems come from Build (sfdisk, mkfs.ext4 -d at
// the partition's offset, mkfs.xfs and a copy, mkfs.fat and mtools); GRUB
// is installed without grub-install, which needs a block device: for BIOS,
// boot.img and a core.img from the root's own grub-mkimage go into the MBR
// and the gap after it; for UEFI, Debian's signed grubx64.efi goes to the
// removable-media path of the ESP with a grub.cfg that finds the root by
// UUID. /boot/grub/grub.cfg comes from the root's own grub-mkconfig, run in
// a chroot with grub-probe answered for the disk the guest will see. Besides
// root, the ordinary user LoginUser can log in, on the console and (with
// SSHKey) over SSH.
func BuildDebian(ctx context.Context, o DebianOptions) (*DebianImage, error) {
	if o.Root == nil {
		return nil, errors.New("building image: no root")
	}
	if o.Flavor == "" {
		o.Flavor = MBRExt4
	}
	if o.SizeMB == 0 {
		o.SizeMB = 3072
	}
	if o.RootUUID == "" {
		o.RootUUID = DefaultRootUUID
	}
	for _, tool := range []string{"tar", "chroot"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("building image: %w", err)
		}
	}
	if o.WorkDir == "" {
		o.WorkDir = filepath.Dir(o.Out)
	}
	dir, err := os.MkdirTemp(o.WorkDir, "root-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := runCmd(ctx, "tar", "-C", dir, "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", o.Root.Tarball); err != nil {
		return nil, err
	}
	img, gt, err := installRoot(ctx, dir, o.Flavor, o.RootUUID)
	if err != nil {
		return nil, err
	}
	pub := ""
	if o.SSHKey != "" {
		if err := NewSSHKey(ctx, o.SSHKey); err != nil {
			return nil, err
		}
		img.SSHKey, pub = o.SSHKey, o.SSHKey+".pub"
	}
	if err := addLogins(ctx, dir, pub); err != nil {
		return nil, err
	}
	// The disk's own blkid lines follow, partition UUIDs included.
	img.Path, img.Debs, img.Blkid = o.Out, o.Root.Debs, ""

	rootFS := &Filesystem{Type: img.FSType, UUID: o.RootUUID, Label: "rootfs", From: dir}
	layout := Layout{SizeMiB: int64(o.SizeMB), Name: filepath.Base(o.Out)}
	rootPart := 0
	switch o.Flavor {
	case MBRExt4:
		// One bootable Linux partition from 1 MiB to the end.
		layout.Table, layout.DiskID = DOS, diskID
		layout.Partitions = []Partition{{Type: Linux, Bootable: true, FS: rootFS}}
	case GPTXfsUEFI:
		esp, err := espTree(dir, o.WorkDir, o.RootUUID)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(esp)
		if err := os.MkdirAll(filepath.Join(dir, "boot/efi"), 0o755); err != nil {
			return nil, err
		}
		layout.Table = GPT
		layout.Partitions = []Partition{
			{SizeMiB: 100, Type: ESP, Name: "EFI System Partition", FS: &Filesystem{Type: "vfat", UUID: espUUID, Label: "ESP", From: esp,
				// FAT32 as Debian makes it; the cluster size is given
				// because mkfs.fat would size it for the whole image file.
				MkfsArgs: []string{"-F", "32", "-s", "1"}}},
			{Type: Linux, Name: "root", FS: rootFS},
		}
		rootPart = 1
	case LVMExt4:
		layout.Table, layout.DiskID = DOS, diskID
		layout.Partitions = []Partition{{Type: LVM, Bootable: true, FS: &Filesystem{Type: "lvm",
			VG: &VolumeGroup{Name: "vg0", LVs: []LogicalVolume{{Name: "root", FS: rootFS}}}}}}
	}
	disk, err := Build(ctx, filepath.Dir(o.Out), layout)
	if err != nil {
		return nil, err
	}
	part := disk.Parts[rootPart]
	img.RootOffset, img.RootSize = part.Offset, part.Size
	if o.Flavor == LVMExt4 {
		lv := disk.LV("vg0", "root")
		if lv == nil || len(lv.Segments) != 1 {
			return nil, errors.New("building image: the root LV is not one linear segment")
		}
		img.RootOffset, img.RootSize = lv.Segments[0].Offset, lv.Segments[0].Size
	}
	if gt.platform == "i386-pc" {
		if part.Offset < 1<<20 {
			return nil, fmt.Errorf("building image: the first partition starts at %d, leaving no room for GRUB's core.img", part.Offset)
		}
		if err := installGrubBIOS(ctx, dir, o.Out, gt.drive+"/boot/grub", gt.modules); err != nil {
			return nil, err
		}
	}
	for _, p := range disk.Parts {
		if p.FS == nil {
			continue
		}
		line := fmt.Sprintf("/dev/vda%d: ", p.Number)
		if p.FS.Type == "lvm" {
			img.Blkid += line + fmt.Sprintf("UUID=%q TYPE=\"LVM2_member\" PARTUUID=%q\n", p.FS.UUID, strings.ToLower(p.PartUUID))
			continue
		}
		if p.FS.Label != "" {
			line += fmt.Sprintf("LABEL=%q ", p.FS.Label)
		}
		line += fmt.Sprintf("UUID=%q TYPE=%q", p.FS.UUID, p.FS.Type)
		if p.Name != "" {
			line += fmt.Sprintf(" PARTLABEL=%q", p.Name)
		}
		img.Blkid += line + fmt.Sprintf(" PARTUUID=%q\n", strings.ToLower(p.PartUUID))
	}
	for _, v := range disk.LVs {
		if v.FS != nil {
			img.Blkid += fmt.Sprintf("/dev/mapper/%s-%s: LABEL=%q UUID=%q TYPE=%q\n", v.VG, v.Name, v.FS.Label, v.FS.UUID, v.FS.Type)
		}
	}
	return img, nil
}

// InstallRoot makes an unpacked boot root in dir what an installer leaves
// on a disk of the given flavor: an fstab naming the root (by UUID, or by
// its LVM device path), the serial console, and /boot/grub/grub.cfg from
// the root's own grub-mkconfig with GRUB's modules beside it. BuildDebian
// puts the result on a disk; tests that scan healthy roots use it on a
// directory. The returned image knows the flavor's devices (Blkid has the
// root's line, without the partition UUIDs a disk gives) but no path.
func InstallRoot(ctx context.Context, dir string, flavor Flavor, rootUUID string) (*DebianImage, error) {
	img, _, err := installRoot(ctx, dir, flavor, rootUUID)
	return img, err
}

func installRoot(ctx context.Context, dir string, flavor Flavor, rootUUID string) (*DebianImage, grubTarget, error) {
	if rootUUID == "" {
		rootUUID = DefaultRootUUID
	}
	img := &DebianImage{Flavor: flavor, RootUUID: rootUUID}
	var (
		gt         grubTarget
		extraFstab string
	)
	rootSource := "UUID=" + rootUUID
	switch flavor {
	case MBRExt4:
		img.FSType, img.RootDevice = "ext4", "/dev/vda1"
		gt = grubTarget{platform: "i386-pc", partmap: "msdos", drive: "(hd0,msdos1)",
			modules: []string{"biosdisk", "part_msdos", "part_gpt", "ext2", "xfs"}}
	case GPTXfsUEFI:
		img.FSType, img.RootDevice, img.UEFI = "xfs", "/dev/vda2", true
		gt = grubTarget{platform: "x86_64-efi", partmap: "gpt", drive: "(hd0,gpt2)"}
		extraFstab = fmt.Sprintf("UUID=%s  /boot/efi       vfat    umask=0077      0       1\n", espUUID)
	case LVMExt4:
		img.FSType, img.RootDevice = "ext4", "/dev/mapper/vg0-root"
		rootSource = img.RootDevice
		gt = grubTarget{platform: "i386-pc", partmap: "msdos", drive: "(lvm/vg0-root)", abstraction: "lvm",
			modules: []string{"biosdisk", "part_msdos", "lvm", "ext2"}}
	default:
		return nil, gt, fmt.Errorf("building image: unknown flavor %q", flavor)
	}
	var err error
	if img.Kernels, err = kernels(dir); err != nil {
		return nil, gt, err
	}
	if err := configureRoot(dir, img, rootSource, extraFstab); err != nil {
		return nil, gt, err
	}
	if err := grubMkconfig(ctx, dir, img, gt); err != nil {
		return nil, gt, err
	}
	img.Blkid = fmt.Sprintf("%s: LABEL=\"rootfs\" UUID=%q TYPE=%q\n", img.RootDevice, rootUUID, img.FSType)
	return img, gt, nil
}

// espTree lays out an EFI system partition as Debian's grub-install
// --removable would, minus shim: the signed grubx64.efi at
// EFI/BOOT/BOOTX64.EFI (where firmware without boot entries looks) and at
// EFI/debian, each beside a grub.cfg that finds the root by UUID and loads
// its /boot/grub/grub.cfg.
func espTree(root, work, rootUUID string) (string, error) {
	signed, err := os.ReadFile(filepath.Join(root, "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"))
	if err != nil {
		return "", fmt.Errorf("the root has no signed GRUB (grub-efi-amd64-signed): %w", err)
	}
	esp, err := os.MkdirTemp(work, "esp-")
	if err != nil {
		return "", err
	}
	cfg := fmt.Sprintf("search.fs_uuid %s root hd0,gpt2\nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n", rootUUID)
	for _, d := range []struct{ dir, efi string }{{"EFI/BOOT", "BOOTX64.EFI"}, {"EFI/debian", "grubx64.efi"}} {
		if err := os.MkdirAll(filepath.Join(esp, d.dir), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(esp, d.dir, d.efi), signed, 0o644); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(esp, d.dir, "grub.cfg"), []byte(cfg), 0o644); err != nil {
			return "", err
		}
	}
	return esp, nil
}

// configureRoot makes the unpacked root what an installed, console-first
// system looks like: its fstab names the root by UUID, GRUB shows its menu
// and the kernel its messages on the serial console, and the host has a
// name.
func configureRoot(dir string, img *DebianImage, rootSource, extraFstab string) error {
	opts := "errors=remount-ro"
	if img.FSType == "xfs" {
		opts = "defaults"
	}
	fstab := fmt.Sprintf("# /etc/fstab: static file system information.\n"+
		"# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n"+
		"%s /               %s    %s 0       1\n", rootSource, img.FSType, opts) + extraFstab
	if err := os.WriteFile(filepath.Join(dir, "etc/fstab"), []byte(fstab), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/hostname"), []byte("rescue-test\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/hosts"), []byte("127.0.0.1 localhost\n127.0.1.1 rescue-test\n"), 0o644); err != nil {
		return err
	}
	// The serial getty waits for udev to announce ttyS0, by default for
	// 90 s. Under software emulation on a busy host udev's coldplug can
	// take longer, and the machine then has no login on the serial console
	// at all: give the device the time a slow machine needs. This is test
	// plumbing, like the console settings, not part of any fault.
	dropIn := filepath.Join(dir, "etc/systemd/system/dev-ttyS0.device.d")
	if err := os.MkdirAll(dropIn, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dropIn, "rescue-e2e.conf"), []byte("[Unit]\nJobRunningTimeoutSec=15min\n"), 0o644); err != nil {
		return err
	}
	p := filepath.Join(dir, "etc/default/grub")
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("reading /etc/default/grub: %w", err)
	}
	set := map[string]string{
		"GRUB_TIMEOUT":               "1",
		"GRUB_CMDLINE_LINUX_DEFAULT": `""`,
		"GRUB_CMDLINE_LINUX":         `"console=tty0 console=ttyS0,115200n8"`,
		"GRUB_TERMINAL":              `"console serial"`,
		"GRUB_SERIAL_COMMAND":        `"serial --speed=115200"`,
	}
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		k, _, ok := strings.Cut(strings.TrimPrefix(l, "#"), "=")
		if v, found := set[k]; ok && found {
			if v == "" {
				continue
			}
			l = k + "=" + v
			set[k] = ""
		}
		out = append(out, l)
	}
	keys := make([]string, 0, len(set))
	for k, v := range set {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+set[k])
	}
	return os.WriteFile(p, []byte(strings.Join(out, "\n")+"\n"), 0o644)
}

// grubMkconfig writes /boot/grub/grub.cfg with the root's own grub-mkconfig
// in a chroot. The unpacked root has no block device, so grub-probe is
// answered by a stub for the duration, and /dev/disk/by-uuid/UUID exists
// because 10_linux writes root=UUID= only when it does. The GRUB modules go
// into /boot/grub/PLATFORM, as grub-install would put them.
func grubMkconfig(ctx context.Context, dir string, img *DebianImage, gt grubTarget) error {
	modDir := filepath.Join(dir, "boot/grub", gt.platform)
	if err := os.MkdirAll(modDir, 0o755); err != nil {
		return err
	}
	src := filepath.Join(dir, "usr/lib/grub", gt.platform)
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("grub i386-pc modules: %w", err)
	}
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, ".mod") || strings.HasSuffix(n, ".lst") {
			data, err := os.ReadFile(filepath.Join(src, n))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(modDir, n), data, 0o644); err != nil {
				return err
			}
		}
	}
	probe := filepath.Join(dir, "usr/sbin/grub-probe")
	real := probe + ".real"
	if err := os.Rename(probe, real); err != nil {
		return err
	}
	defer os.Rename(real, probe)
	hint := strings.Trim(gt.drive, "()")
	stub := fmt.Sprintf(`#!/bin/sh
# Build-time stub: the root being configured has no block device yet.
for a in "$@"; do case "$a" in
 --target=device) echo %[1]s; exit 0;;
 --target=fs_uuid) echo %[2]s; exit 0;;
 --target=fs) echo %[3]s; exit 0;;
 --target=partmap) echo %[4]s; exit 0;;
 --target=abstraction) echo %[8]s; exit 0;;
 --target=drive) echo '%[5]s'; exit 0;;
 --target=compatibility_hint) echo '%[6]s'; exit 0;;
 --target=hints_string) echo '--hint-bios=%[6]s --hint-efi=%[6]s --hint-baremetal=ahci0,%[7]s'; exit 0;;
 --target=partuuid) exit 0;;
 --target=fs_label) echo rootfs; exit 0;;
 --target=disk) echo /dev/vda; exit 0;;
esac; done
exec /usr/sbin/grub-probe.real "$@"
`, img.RootDevice, img.RootUUID, grubFS(img.FSType), gt.partmap, gt.drive, hint, strings.TrimPrefix(hint, "hd0,"), gt.abstraction)
	if err := os.WriteFile(probe, []byte(stub), 0o755); err != nil {
		return err
	}
	byUUID := filepath.Join(dir, "dev/disk/by-uuid")
	if err := os.MkdirAll(byUUID, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Join(dir, "dev/disk"))
	if err := os.Symlink("../../null", filepath.Join(byUUID, img.RootUUID)); err != nil {
		return err
	}
	// 10_linux names an LVM root by its device path only when that path
	// exists, as it does on the installed system.
	if gt.abstraction == "lvm" {
		mapper := filepath.Join(dir, filepath.Dir(img.RootDevice))
		if _, err := os.Lstat(mapper); os.IsNotExist(err) {
			if err := os.Mkdir(mapper, 0o755); err != nil {
				return err
			}
			defer os.Remove(mapper)
		}
		link := filepath.Join(dir, img.RootDevice)
		if err := os.Symlink("../null", link); err != nil {
			return err
		}
		defer os.Remove(link)
	}
	if err := runCmd(ctx, "chroot", dir, "grub-mkconfig", "-o", "/boot/grub/grub.cfg"); err != nil {
		return err
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "boot/grub/grub.cfg"))
	if err != nil {
		return err
	}
	want := "root=UUID=" + img.RootUUID
	if gt.abstraction == "lvm" {
		want = "root=" + img.RootDevice
	}
	if !strings.Contains(string(cfg), want+" ") {
		first := ""
		for _, l := range strings.Split(string(cfg), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "linux") {
				first = strings.TrimSpace(l)
				break
			}
		}
		return fmt.Errorf("grub-mkconfig wrote no %s entry (first kernel line: %q)", want, first)
	}
	return nil
}

func grubFS(fstype string) string {
	if strings.HasPrefix(fstype, "ext") {
		return "ext2"
	}
	return fstype
}

// installGrubBIOS installs GRUB for BIOS boot without grub-install (which
// needs a block device): core.img, made by the root's own grub-mkimage
// with the disk, partition table and filesystem modules built in, goes to
// sector 1, and the first 440 bytes of boot.img (the boot code, before the
// partition table) to sector 0. boot.img already points at sector 1.
func installGrubBIOS(ctx context.Context, dir, image, prefix string, modules []string) error {
	args := append([]string{dir, "grub-mkimage", "-d", "/usr/lib/grub/i386-pc", "-O", "i386-pc",
		"-o", "/tmp/core.img", "-p", prefix}, modules...)
	if err := runCmd(ctx, "chroot", args...); err != nil {
		return err
	}
	core, err := os.ReadFile(filepath.Join(dir, "tmp/core.img"))
	if err != nil {
		return err
	}
	if len(core) > 2047*sectorSize {
		return fmt.Errorf("core.img is %d bytes: it does not fit before the first partition", len(core))
	}
	bootImg, err := os.ReadFile(filepath.Join(dir, "usr/lib/grub/i386-pc/boot.img"))
	if err != nil {
		return err
	}
	if len(bootImg) < 440 {
		return fmt.Errorf("boot.img is %d bytes", len(bootImg))
	}
	f, err := os.OpenFile(image, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(bootImg[:440], 0); err != nil {
		return err
	}
	if _, err := f.WriteAt(core, sectorSize); err != nil {
		return err
	}
	return f.Sync()
}

// kernels lists the kernel versions in /boot, newest first (the order
// grub-mkconfig gives its entries).
func kernels(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "boot/vmlinuz-*"))
	if err != nil {
		return nil, err
	}
	var vs []string
	for _, p := range m {
		vs = append(vs, strings.TrimPrefix(filepath.Base(p), "vmlinuz-"))
	}
	if len(vs) == 0 {
		return nil, errors.New("the root has no kernel in /boot")
	}
	sort.Slice(vs, func(i, j int) bool { return versionLess(vs[j], vs[i]) })
	return vs, nil
}

// versionLess compares kernel versions by their numeric fields.
func versionLess(a, b string) bool {
	num := regexp.MustCompile(`\d+|\D+`)
	pa, pb := num.FindAllString(a, -1), num.FindAllString(b, -1)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] == pb[i] {
			continue
		}
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea == nil && eb == nil {
			return na < nb
		}
		return pa[i] < pb[i]
	}
	return len(pa) < len(pb)
}
