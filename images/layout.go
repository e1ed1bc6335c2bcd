// Package images builds real disk images for tests and demos with the
// distribution's own tools: a partition table written by sfdisk (GPT, DOS
// with an extended partition and logical partitions, or none), filesystems
// made by mkfs.ext4, mkfs.xfs, mkfs.fat, mkfs.btrfs, mkswap and cryptsetup,
// optionally filled from a host directory, and LVM volume groups written by
// pvcreate/vgcreate/lvcreate without device-mapper.
//
// A Layout describes the disk; Build writes it into a sparse file and
// returns an Image that says where every partition and logical volume
// lies, so that a caller can reach it with
// `losetup --offset OFF --sizelimit SIZE` (or disk.AttachLoop) on a kernel
// that parses no partition tables.
//
//	img, err := images.Build(ctx, t.TempDir(), images.Layout{
//		Table: images.GPT, SizeMiB: 600,
//		Partitions: []images.Partition{
//			{SizeMiB: 100, Type: images.ESP, FS: &images.Filesystem{Type: "vfat", UUID: "1A2B3C4D", From: espDir}},
//			{Type: images.Linux, FS: &images.Filesystem{Type: "xfs", UUID: rootUUID, Label: "root", From: rootDir}},
//		},
//	})
//
// What needs root: xfs filled from a directory (loop mount), and LVM (a
// loop device for pvcreate). ext2/3/4 and vfat are written straight into
// the image file at the partition's offset; btrfs, swap, LUKS and empty xfs
// are made in a scratch file and copied in, sparsely. Missing tools give an
// error naming the tool (ErrMissingTool), so a test can skip.
package images

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"rescue/disk"
)

// Partition table kinds.
const (
	GPT  = "gpt"
	DOS  = "dos"
	None = "none" // a whole-disk filesystem: exactly one Partition, no table
)

// Partition types. A Type may also be given raw: a GPT type GUID or a DOS
// type byte in hex ("83", "0x8e").
const (
	Linux    = "linux"
	ESP      = "esp"
	Swap     = "swap"
	LVM      = "lvm"
	BIOSBoot = "bios"     // GPT only: the BIOS boot partition GRUB embeds core.img in
	Extended = "extended" // DOS only: the container of logical partitions
)

var gptTypes = map[string]string{
	Linux:    "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
	ESP:      "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
	Swap:     "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
	LVM:      "E6D6D379-F507-44C2-A23C-238F2A3DF928",
	BIOSBoot: "21686148-6449-6E6F-744E-656564454649",
}

var dosTypes = map[string]string{Linux: "83", ESP: "ef", Swap: "82", LVM: "8e", Extended: "5"}

// Layout describes a disk image.
type Layout struct {
	// Table is GPT, DOS or None.
	Table string
	// SizeMiB is the size of the whole image.
	SizeMiB int64
	// DiskID is the GPT disk GUID or the DOS disk signature (8 hex
	// digits); empty means random. DOS PARTUUIDs are derived from it
	// (SIGNATURE-NN).
	DiskID string
	// Partitions in table order. For DOS, at most four primary and
	// extended partitions, numbered 1-4 in the order given; logical
	// partitions (Logical: true) come after their extended partition and
	// are numbered from 5 as Linux numbers them.
	Partitions []Partition
	// Name is the image's file name in the build directory (default
	// disk.img).
	Name string
}

// Partition is one partition (or, for Table None, the whole disk).
type Partition struct {
	// SizeMiB is the size; 0 takes the rest of the disk, or of the
	// extended partition for the last logical one.
	SizeMiB int64
	// Type is Linux (default), ESP, Swap, LVM, BIOSBoot, Extended or raw.
	Type     string
	Logical  bool
	Bootable bool // DOS: the active flag; GPT: the LegacyBIOSBootable attribute
	// PartUUID and Name are the GPT partition GUID and name (PARTLABEL);
	// empty PartUUID means random.
	PartUUID string
	Name     string
	// FS is what the partition holds; nil leaves it empty (zeros).
	FS *Filesystem
}

// Filesystem is a filesystem, swap area, LUKS header or LVM physical
// volume.
type Filesystem struct {
	// Type is ext2, ext3, ext4, xfs, vfat, btrfs, swap, luks (LUKS2; luks1
	// for LUKS1) or lvm (a physical volume holding VG). vfat is FAT32 from
	// 36 MiB up, FAT16 from 16 MiB, else FAT12, unless MkfsArgs has -F.
	Type string
	// UUID is the filesystem UUID; vfat takes an 8-hex-digit volume id
	// ("1A2B3C4D" or "1A2B-3C4D"); lvm the PV UUID in LVM's 32-character
	// form. Empty means random (vfat, lvm: chosen by the tool).
	UUID  string
	Label string
	// From is a host directory whose contents the filesystem is filled
	// with (ext*, xfs, vfat, btrfs).
	From string
	// MkfsArgs are extra arguments for the mkfs tool.
	MkfsArgs []string
	// Passphrase is the LUKS passphrase (default "rescue").
	Passphrase string
	// VG is the volume group on an lvm physical volume.
	VG *VolumeGroup
}

// VolumeGroup is an LVM volume group on one physical volume.
type VolumeGroup struct {
	Name string
	// ExtentMiB is the physical extent size (default 4).
	ExtentMiB int64
	LVs       []LogicalVolume
}

// LogicalVolume is a linear logical volume, created in order.
type LogicalVolume struct {
	Name string
	// SizeMiB is the size; 0 takes the rest of the VG (last LV only).
	SizeMiB int64
	// ExtendMiB, when set, extends the LV after all LVs were created, which
	// gives it a second segment that does not follow the first (a linear
	// LV that is not one byte range of the PV).
	ExtendMiB int64
	FS        *Filesystem
}

// Image is a built disk image.
type Image struct {
	Path   string
	Size   int64
	Table  string
	DiskID string // GPT disk GUID (upper case) or DOS signature (8 lower-case hex digits)
	Parts  []Part
	LVs    []Volume
}

// Part says where a partition lies.
type Part struct {
	// Number is the partition number as Linux names it (sda5 is 5);
	// 0 for a whole-disk filesystem.
	Number int
	Offset int64 // bytes from the start of the image
	Size   int64 // bytes
	Type   string
	// TypeCode is the GPT type GUID or the DOS type byte ("83").
	TypeCode string
	Bootable bool
	PartUUID string
	Name     string
	FS       *FSInfo
}

// Volume says where a logical volume lies.
type Volume struct {
	VG, Name string
	// Segments are byte ranges of the image, in LV order; a plain linear
	// LV has one.
	Segments []Range
	FS       *FSInfo
}

// Range is a byte range.
type Range struct{ Offset, Size int64 }

// FSInfo is what Build made.
type FSInfo struct {
	Type, UUID, Label string
}

// ErrMissingTool is returned (wrapped) when a tool Build needs is not
// installed.
var ErrMissingTool = errors.New("missing tool")

// ErrNeedRoot is returned (wrapped) when a layout needs root (loop
// devices, mounts) and the caller is not.
var ErrNeedRoot = errors.New("needs root")

const mib = 1 << 20

// Build writes the image described by l into dir and returns where
// everything lies. On error the partial image is left for inspection.
func Build(ctx context.Context, dir string, l Layout) (*Image, error) {
	if l.SizeMiB <= 0 {
		return nil, fmt.Errorf("layout: SizeMiB must be positive")
	}
	name := l.Name
	if name == "" {
		name = "disk.img"
	}
	img := &Image{Path: filepath.Join(dir, name), Size: l.SizeMiB * mib, Table: l.Table}
	f, err := os.OpenFile(img.Path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	err = f.Truncate(img.Size)
	f.Close()
	if err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, dir: dir, img: img}
	switch l.Table {
	case GPT, DOS:
		if err := b.table(l); err != nil {
			return nil, err
		}
	case None:
		if len(l.Partitions) != 1 {
			return nil, fmt.Errorf("layout: a disk without a table has exactly one filesystem, got %d partitions", len(l.Partitions))
		}
		img.Parts = []Part{{Offset: 0, Size: img.Size, Type: l.Partitions[0].Type}}
	default:
		return nil, fmt.Errorf("layout: unknown table %q (want gpt, dos or none)", l.Table)
	}
	for i, p := range l.Partitions {
		if p.FS == nil {
			continue
		}
		part := &img.Parts[i]
		info, err := b.mkfs(part.Offset, part.Size, p.FS)
		if err != nil {
			return nil, fmt.Errorf("partition %d (%s): %w", part.Number, p.FS.Type, err)
		}
		part.FS = info
	}
	return img, nil
}

type builder struct {
	ctx context.Context
	dir string
	img *Image
}

// table writes the partition table with sfdisk and reads back where sfdisk
// put each partition (it aligns them, and places logical partitions after
// their EBRs).
func (b *builder) table(l Layout) error {
	var sc strings.Builder
	fmt.Fprintf(&sc, "label: %s\n", l.Table)
	id := l.DiskID
	if l.Table == GPT {
		if id == "" {
			id = newUUID()
		}
		id = strings.ToUpper(id)
	} else {
		if id == "" {
			id = fmt.Sprintf("%08x", randUint32())
		}
		id = strings.ToLower(strings.TrimPrefix(strings.ToLower(id), "0x"))
		if _, err := strconv.ParseUint(id, 16, 32); err != nil || len(id) > 8 {
			return fmt.Errorf("layout: DOS disk id %q: want 8 hex digits", l.DiskID)
		}
		id = fmt.Sprintf("%08s", id)
	}
	b.img.DiskID = id
	if l.Table == GPT {
		fmt.Fprintf(&sc, "label-id: %s\n", id)
	} else {
		fmt.Fprintf(&sc, "label-id: 0x%s\n", id)
	}
	sc.WriteString("unit: sectors\n")

	nums := make([]int, len(l.Partitions))
	primary, logical := 0, 4
	extended := false
	for i, p := range l.Partitions {
		typ := p.Type
		if typ == "" {
			typ = Linux
		}
		code, err := typeCode(l.Table, typ)
		if err != nil {
			return err
		}
		if p.Logical {
			if l.Table != DOS || !extended {
				return fmt.Errorf("layout: logical partition %d needs a DOS table with an extended partition before it", i+1)
			}
			logical++
			nums[i] = logical
		} else {
			primary++
			nums[i] = primary
		}
		if typ == Extended {
			extended = true
		}
		if l.Table == DOS && primary > 4 {
			return fmt.Errorf("layout: a DOS table holds at most 4 primary and extended partitions")
		}
		var fields []string
		if p.SizeMiB > 0 {
			fields = append(fields, fmt.Sprintf("size=%dMiB", p.SizeMiB))
		}
		fields = append(fields, "type="+code)
		if l.Table == GPT {
			u := p.PartUUID
			if u == "" {
				u = newUUID()
			}
			fields = append(fields, "uuid="+strings.ToUpper(u))
			if p.Name != "" {
				fields = append(fields, fmt.Sprintf("name=%q", p.Name))
			}
			if p.Bootable {
				fields = append(fields, `attrs="LegacyBIOSBootable"`)
			}
		} else if p.Bootable {
			fields = append(fields, "bootable")
		}
		fmt.Fprintf(&sc, "%d: %s\n", nums[i], strings.Join(fields, ", "))
	}
	if _, err := b.run(sc.String(), "sfdisk", "--no-reread", "--no-tell-kernel", "-q", b.img.Path); err != nil {
		return err
	}
	out, err := b.run("", "sfdisk", "-J", b.img.Path)
	if err != nil {
		return err
	}
	var dump struct {
		PartitionTable struct {
			SectorSize int64 `json:"sectorsize"`
			Partitions []struct {
				Node     string `json:"node"`
				Start    int64  `json:"start"`
				Size     int64  `json:"size"`
				Type     string `json:"type"`
				UUID     string `json:"uuid"`
				Name     string `json:"name"`
				Bootable bool   `json:"bootable"`
				Attrs    string `json:"attrs"`
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal(out, &dump); err != nil {
		return fmt.Errorf("reading sfdisk -J: %w", err)
	}
	ss := dump.PartitionTable.SectorSize
	if ss == 0 {
		ss = 512
	}
	byNum := map[int]int{}
	for j, p := range dump.PartitionTable.Partitions {
		n, err := nodeNumber(p.Node)
		if err != nil {
			return err
		}
		byNum[n] = j
	}
	for i, p := range l.Partitions {
		j, ok := byNum[nums[i]]
		if !ok {
			return fmt.Errorf("sfdisk did not create partition %d", nums[i])
		}
		d := dump.PartitionTable.Partitions[j]
		typ := p.Type
		if typ == "" {
			typ = Linux
		}
		part := Part{Number: nums[i], Offset: d.Start * ss, Size: d.Size * ss, Type: typ,
			TypeCode: strings.ToUpper(d.Type), Bootable: d.Bootable || strings.Contains(d.Attrs, "LegacyBIOSBootable"),
			PartUUID: strings.ToUpper(d.UUID), Name: d.Name}
		if l.Table == DOS {
			part.TypeCode = strings.ToLower(d.Type)
			part.PartUUID = fmt.Sprintf("%s-%02x", id, nums[i])
		}
		b.img.Parts = append(b.img.Parts, part)
	}
	return nil
}

// nodeNumber takes the partition number from sfdisk's node name
// ("disk.img5").
func nodeNumber(node string) (int, error) {
	i := len(node)
	for i > 0 && node[i-1] >= '0' && node[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(node[i:])
	if err != nil {
		return 0, fmt.Errorf("sfdisk -J: cannot read the partition number of %q", node)
	}
	return n, nil
}

func typeCode(table, typ string) (string, error) {
	if table == GPT {
		if c, ok := gptTypes[typ]; ok {
			return c, nil
		}
		if len(typ) == 36 {
			return strings.ToUpper(typ), nil
		}
		return "", fmt.Errorf("layout: partition type %q is not a GPT type", typ)
	}
	if c, ok := dosTypes[typ]; ok {
		return c, nil
	}
	h := strings.TrimPrefix(strings.ToLower(typ), "0x")
	if v, err := strconv.ParseUint(h, 16, 8); err == nil {
		return strconv.FormatUint(v, 16), nil
	}
	return "", fmt.Errorf("layout: partition type %q is not a DOS type", typ)
}

// mkfs makes fs in the byte range [off, off+size) of the image.
func (b *builder) mkfs(off, size int64, fs *Filesystem) (*FSInfo, error) {
	info := &FSInfo{Type: fs.Type, UUID: fs.UUID, Label: fs.Label}
	switch fs.Type {
	case "ext2", "ext3", "ext4":
		if info.UUID == "" {
			info.UUID = newUUID()
		}
		args := []string{"-q", "-F", "-t", fs.Type, "-U", info.UUID, "-E", fmt.Sprintf("offset=%d", off)}
		if fs.Label != "" {
			args = append(args, "-L", fs.Label)
		}
		if fs.From != "" {
			args = append(args, "-d", fs.From)
		}
		args = append(args, fs.MkfsArgs...)
		args = append(args, b.img.Path, fmt.Sprintf("%dk", size/1024))
		_, err := b.run("", "mke2fs", args...)
		return info, err
	case "vfat":
		return info, b.vfat(off, size, fs, info)
	case "xfs", "btrfs", "swap", "luks", "luks1", "luks2":
		return info, b.viaScratch(off, size, fs, info)
	case "lvm":
		return info, b.lvm(off, size, fs, info)
	}
	return nil, fmt.Errorf("layout: unknown filesystem type %q", fs.Type)
}

// vfat formats with mkfs.fat --offset and fills with mtools' image@@offset,
// so no loop device and no vfat driver are needed.
func (b *builder) vfat(off, size int64, fs *Filesystem, info *FSInfo) error {
	if off%512 != 0 {
		return fmt.Errorf("vfat: offset %d is not a multiple of 512", off)
	}
	id := strings.ToUpper(strings.ReplaceAll(fs.UUID, "-", ""))
	if id == "" {
		id = fmt.Sprintf("%08X", randUint32())
	}
	if _, err := strconv.ParseUint(id, 16, 32); err != nil || len(id) != 8 {
		return fmt.Errorf("vfat: volume id %q: want 8 hex digits", fs.UUID)
	}
	info.UUID = id[:4] + "-" + id[4:]
	args := []string{"--offset", strconv.FormatInt(off/512, 10), "-i", id}
	if !slices.Contains(fs.MkfsArgs, "-F") {
		// mkfs.fat picks the FAT size from the size of the whole image
		// file, not of the partition: choose it from the partition.
		// FAT32 needs 65525 clusters, so small ESPs get 512-byte ones.
		switch {
		case size >= 260<<20:
			args = append(args, "-F", "32")
		case size >= 36<<20:
			args = append(args, "-F", "32", "-s", "1")
		case size >= 16<<20:
			args = append(args, "-F", "16")
		default:
			args = append(args, "-F", "12")
		}
	}
	if fs.Label != "" {
		args = append(args, "-n", fs.Label)
	}
	args = append(args, fs.MkfsArgs...)
	args = append(args, b.img.Path, strconv.FormatInt(size/1024, 10))
	if _, err := b.run("", "mkfs.fat", args...); err != nil {
		return err
	}
	if fs.From == "" {
		return nil
	}
	entries, err := os.ReadDir(fs.From)
	if err != nil {
		return err
	}
	target := fmt.Sprintf("%s@@%d", b.img.Path, off)
	for _, e := range entries {
		if _, err := b.run("", "mcopy", "-s", "-p", "-m", "-Q", "-i", target, filepath.Join(fs.From, e.Name()), "::/"); err != nil {
			return err
		}
	}
	return nil
}

// viaScratch makes the filesystem in a scratch file the size of the range,
// fills it, and copies its data blocks into the image.
func (b *builder) viaScratch(off, size int64, fs *Filesystem, info *FSInfo) error {
	scratch, err := os.CreateTemp(b.dir, "fs-*.img")
	if err != nil {
		return err
	}
	defer os.Remove(scratch.Name())
	err = scratch.Truncate(size)
	scratch.Close()
	if err != nil {
		return err
	}
	s := scratch.Name()
	if info.UUID == "" {
		info.UUID = newUUID()
	}
	switch fs.Type {
	case "xfs":
		args := []string{"-q", "-f", "-m", "uuid=" + info.UUID}
		if fs.Label != "" {
			args = append(args, "-L", fs.Label)
		}
		args = append(args, fs.MkfsArgs...)
		if _, err := b.run("", "mkfs.xfs", append(args, s)...); err != nil {
			return err
		}
		if fs.From != "" {
			if err := b.fillByMount(s, "xfs", fs.From); err != nil {
				return err
			}
		}
	case "btrfs":
		args := []string{"-q", "-f", "-U", info.UUID}
		if fs.Label != "" {
			args = append(args, "-L", fs.Label)
		}
		if fs.From != "" {
			args = append(args, "--rootdir", fs.From)
		}
		args = append(args, fs.MkfsArgs...)
		if _, err := b.run("", "mkfs.btrfs", append(args, s)...); err != nil {
			return err
		}
	case "swap":
		args := []string{"-U", info.UUID}
		if fs.Label != "" {
			args = append(args, "-L", fs.Label)
		}
		args = append(args, fs.MkfsArgs...)
		if _, err := b.run("", "mkswap", append(args, s)...); err != nil {
			return err
		}
	default: // luks, luks1, luks2
		version := "luks2"
		if fs.Type == "luks1" {
			version = "luks1"
		}
		pass := fs.Passphrase
		if pass == "" {
			pass = "rescue"
		}
		// A cheap key derivation keeps the test fast; the header is real.
		args := []string{"luksFormat", "-q", "--type", version, "--uuid", info.UUID, "--key-file", "-",
			"--pbkdf-force-iterations", "1000"}
		if version == "luks2" {
			args = append(args, "--pbkdf", "pbkdf2")
			if fs.Label != "" {
				args = append(args, "--label", fs.Label)
			}
		}
		args = append(args, fs.MkfsArgs...)
		if _, err := b.run(pass, "cryptsetup", append(args, s)...); err != nil {
			return err
		}
	}
	return copySparse(b.img.Path, off, s, size)
}

// fillByMount mounts a filesystem image through a loop device and copies
// dir into it with cp -a (owners, modes, xattrs, hard links, times).
func (b *builder) fillByMount(file, fstype, dir string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("filling %s from a directory mounts it: %w", fstype, ErrNeedRoot)
	}
	l, err := disk.AttachLoop(file, 0, 0, false)
	if err != nil {
		return err
	}
	defer l.Detach()
	mnt, err := os.MkdirTemp(b.dir, "mnt-*")
	if err != nil {
		return err
	}
	defer os.Remove(mnt)
	if err := unix.Mount(l.Path, mnt, fstype, 0, ""); err != nil {
		return fmt.Errorf("mounting %s: %w", fstype, err)
	}
	_, err = b.run("", "cp", "-a", "--", filepath.Clean(dir)+"/.", mnt+"/")
	if uerr := unix.Unmount(mnt, 0); uerr != nil && err == nil {
		err = fmt.Errorf("unmounting %s: %w", mnt, uerr)
	}
	return err
}

// copySparse copies the data extents of src (found with SEEK_DATA and
// SEEK_HOLE) into dst at off, so that holes stay holes.
func copySparse(dst string, off int64, src string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer out.Close()
	pos := int64(0)
	for pos < size {
		data, err := unix.Seek(int(in.Fd()), pos, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole is left
		}
		if err != nil {
			return fmt.Errorf("seeking data in %s: %w", src, err)
		}
		hole, err := unix.Seek(int(in.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return fmt.Errorf("seeking a hole in %s: %w", src, err)
		}
		if hole > size {
			hole = size
		}
		for p := data; p < hole; {
			roff, woff := p, off+p
			n, err := unix.CopyFileRange(int(in.Fd()), &roff, int(out.Fd()), &woff, int(hole-p), 0)
			if err != nil {
				return fmt.Errorf("copying %s into %s: %w", src, dst, err)
			}
			if n == 0 {
				return fmt.Errorf("copying %s into %s: short copy at %d", src, dst, p)
			}
			p += int64(n)
		}
		pos = hole
	}
	return out.Sync()
}

// lvm writes a physical volume, its volume group and linear logical
// volumes through a loop device over the partition, with activation
// disabled, so no device-mapper is needed; then makes each LV's filesystem
// in its byte range of the image.
func (b *builder) lvm(off, size int64, fs *Filesystem, info *FSInfo) error {
	if fs.VG == nil || fs.VG.Name == "" {
		return fmt.Errorf("lvm: the physical volume needs a VG with a name")
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("lvm: pvcreate needs a loop device: %w", ErrNeedRoot)
	}
	l, err := disk.AttachLoop(b.img.Path, off, size, false)
	if err != nil {
		return err
	}
	defer l.Detach()
	lv := lvmTool{b: b, dev: l.Path}
	pv := []string{"pvcreate", "-ff", "-y", "--norestorefile"}
	if fs.UUID != "" {
		pv = append(pv, "-u", fs.UUID)
	}
	if _, err := lv.run(append(pv, l.Path)...); err != nil {
		return err
	}
	ext := fs.VG.ExtentMiB
	if ext == 0 {
		ext = 4
	}
	if _, err := lv.run("vgcreate", "-s", fmt.Sprintf("%dm", ext), fs.VG.Name, l.Path); err != nil {
		return err
	}
	for i, v := range fs.VG.LVs {
		args := []string{"lvcreate", "--driverloaded", "n", "-an", "-Zn", "-y", "-n", v.Name}
		if v.SizeMiB > 0 {
			args = append(args, "-L", fmt.Sprintf("%dm", v.SizeMiB))
		} else if i == len(fs.VG.LVs)-1 {
			args = append(args, "-l", "100%FREE")
		} else {
			return fmt.Errorf("lvm: only the last LV may take the rest (SizeMiB 0)")
		}
		if _, err := lv.run(append(args, fs.VG.Name)...); err != nil {
			return err
		}
	}
	for _, v := range fs.VG.LVs {
		if v.ExtendMiB > 0 {
			if _, err := lv.run("lvextend", "--driverloaded", "n", "-L", fmt.Sprintf("+%dm", v.ExtendMiB), fs.VG.Name+"/"+v.Name); err != nil {
				return err
			}
		}
	}
	out, err := lv.run("pvs", "--noheadings", "--nosuffix", "--units", "b", "-o", "pv_uuid,pe_start")
	if err != nil {
		return err
	}
	pvf := strings.Fields(string(out))
	if len(pvf) != 2 {
		return fmt.Errorf("lvm: cannot read pvs output %q", out)
	}
	info.UUID = pvf[0]
	peStart, err := strconv.ParseInt(pvf[1], 10, 64)
	if err != nil {
		return fmt.Errorf("lvm: pe_start %q: %w", pvf[1], err)
	}
	out, err = lv.run("lvs", "--segments", "--noheadings", "--nosuffix", "--units", "b", "--separator", "|",
		"-o", "lv_name,seg_pe_ranges,vg_extent_size", fs.VG.Name)
	if err != nil {
		return err
	}
	segs := map[string][]Range{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) != 3 {
			return fmt.Errorf("lvm: cannot read lvs output %q", line)
		}
		extSize, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return fmt.Errorf("lvm: extent size %q: %w", f[2], err)
		}
		// seg_pe_ranges is DEVICE:FIRST-LAST (inclusive extents).
		_, rng, ok := strings.Cut(f[1], ":")
		lo, hi, ok2 := strings.Cut(rng, "-")
		a, err1 := strconv.ParseInt(lo, 10, 64)
		z, err2 := strconv.ParseInt(hi, 10, 64)
		if !ok || !ok2 || err1 != nil || err2 != nil {
			return fmt.Errorf("lvm: cannot read the extents %q", f[1])
		}
		segs[f[0]] = append(segs[f[0]], Range{Offset: off + peStart + a*extSize, Size: (z - a + 1) * extSize})
	}
	if err := l.Detach(); err != nil {
		return err
	}
	for _, v := range fs.VG.LVs {
		vol := Volume{VG: fs.VG.Name, Name: v.Name, Segments: segs[v.Name]}
		if len(vol.Segments) == 0 {
			return fmt.Errorf("lvm: lvs does not list %s/%s", fs.VG.Name, v.Name)
		}
		if v.FS != nil {
			if len(vol.Segments) != 1 {
				return fmt.Errorf("lvm: %s/%s has %d segments; a filesystem can only be made on one", fs.VG.Name, v.Name, len(vol.Segments))
			}
			if v.FS.Type == "lvm" {
				return fmt.Errorf("lvm: a PV inside an LV is not supported")
			}
			fi, err := b.mkfs(vol.Segments[0].Offset, vol.Segments[0].Size, v.FS)
			if err != nil {
				return fmt.Errorf("LV %s/%s: %w", fs.VG.Name, v.Name, err)
			}
			vol.FS = fi
		}
		b.img.LVs = append(b.img.LVs, vol)
	}
	return nil
}

// lvmTool runs LVM commands that see only one device and leave nothing on
// the host: no backup or archive in /etc/lvm, no devices file, no udev.
type lvmTool struct {
	b   *builder
	dev string
}

func (t lvmTool) run(args ...string) ([]byte, error) {
	cfg := fmt.Sprintf(`devices { filter = [ "a|^%s$|", "r|.*|" ] global_filter = [ "a|^%s$|", "r|.*|" ] use_devicesfile = 0 obtain_device_list_from_udev = 0 }
backup { backup = 0 archive = 0 }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
global { use_lvmpolld = 0 }`, t.dev, t.dev)
	full := append([]string{args[0], "--config", cfg}, args[1:]...)
	return t.b.runEnv([]string{"LVM_SUPPRESS_FD_WARNINGS=1"}, "", "lvm", full...)
}

func (b *builder) run(stdin, name string, args ...string) ([]byte, error) {
	return b.runEnv(nil, stdin, name, args...)
}

func (b *builder) runEnv(env []string, stdin, name string, args ...string) ([]byte, error) {
	if _, err := exec.LookPath(name); err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrMissingTool)
	}
	cmd := exec.CommandContext(b.ctx, name, args...)
	cmd.Env = append(append(os.Environ(), "LC_ALL=C", "MTOOLS_SKIP_CHECK=1"), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// newUUID returns a random (version 4) UUID in lower case.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func randUint32() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Part returns the partition numbered n (as Linux numbers it), or nil.
func (img *Image) Part(n int) *Part {
	for i := range img.Parts {
		if img.Parts[i].Number == n {
			return &img.Parts[i]
		}
	}
	return nil
}

// LV returns the logical volume vg/name, or nil.
func (img *Image) LV(vg, name string) *Volume {
	for i := range img.LVs {
		if img.LVs[i].VG == vg && img.LVs[i].Name == name {
			return &img.LVs[i]
		}
	}
	return nil
}
