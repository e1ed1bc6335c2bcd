package facts

import (
	"errors"
	"fmt"
	"os"
)

// BootDisk names the fact of the target's disk as the firmware reads it:
// its partition table, the sectors before the first partition and a BIOS
// boot partition, which are no file of the root.
const BootDisk Fact = "boot-disk"

// Disk is the target's whole disk, when rescue was given one (a device or
// an image); nil for a directory, whose disk nobody can tell.
type Disk struct {
	// Path is the device or image on the helper.
	Path string `json:"path"`
	// Table is "dos", "gpt", or "" (no partition table).
	Table      string          `json:"table"`
	Partitions []DiskPartition `json:"partitions"`
}

// BootAreas are the bytes of the disk's boot areas, read (never written)
// when a check first asks.
type BootAreas struct {
	// Head is the disk from sector 0 up to the first partition, at most
	// MaxHead bytes: the MBR and, on a DOS disk, GRUB's core image.
	Head []byte
	// BIOSBoot is the start of the BIOS boot partition (GPT), at most
	// MaxHead bytes, where GRUB keeps its core image; nil when none.
	BIOSBoot []byte
}

// MaxHead bounds what is read of each boot area.
const MaxHead = 4 << 20

// DiskPartition is one partition of the target's disk.
type DiskPartition struct {
	Name   string `json:"name"`
	Number int    `json:"number"`
	Start  int64  `json:"start"`
	Size   int64  `json:"size"`
	// Kind is the partition's use: esp, bios-boot, linux, lvm, swap…
	Kind string `json:"kind"`
	// FSType is what its superblock says ("" when nothing: an
	// unformatted partition).
	FSType     string `json:"fs_type,omitempty"`
	MountPoint string `json:"mount_point,omitempty"`
	// Copy: the helper's kernel cannot mount it (FAT without vfat), so
	// rescue mounted a copy of its files, written back at the end.
	Copy bool `json:"copy,omitempty"`
}

// FirstPartition is the offset of the first partition, or 0.
func (d *Disk) FirstPartition() int64 {
	var first int64
	for _, p := range d.Partitions {
		if p.Start > 0 && (first == 0 || p.Start < first) {
			first = p.Start
		}
	}
	return first
}

// Partition returns the first partition of kind, or nil.
func (d *Disk) Partition(kind string) *DiskPartition {
	for i := range d.Partitions {
		if d.Partitions[i].Kind == kind {
			return &d.Partitions[i]
		}
	}
	return nil
}

// HeadSize is how much of the disk before the first partition is read:
// up to it, at most MaxHead; one sector on a disk without partitions.
func (d *Disk) HeadSize() int64 {
	first := d.FirstPartition()
	if first <= 0 {
		return 512
	}
	return min(first, MaxHead)
}

// ReadAreas reads the disk's boot areas, read-only.
func (d *Disk) ReadAreas() (*BootAreas, error) {
	f, err := os.Open(d.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	read := func(off, size int64) ([]byte, error) {
		buf := make([]byte, size)
		if n, err := f.ReadAt(buf, off); err != nil && n < len(buf) {
			return nil, fmt.Errorf("reading %s at %d: %w", d.Path, off, err)
		}
		return buf, nil
	}
	a := &BootAreas{}
	if a.Head, err = read(0, d.HeadSize()); err != nil {
		return nil, err
	}
	if bb := d.Partition("bios-boot"); bb != nil && bb.Size > 0 {
		if a.BIOSBoot, err = read(bb.Start, min(bb.Size, MaxHead)); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Disk returns the target's whole disk, or nil when rescue was given a
// directory.
func (f *Facts) Disk() *Disk {
	f.note(BootDisk)
	return f.opt.Disk
}

// BootAreas returns the bytes of the disk's boot areas, read once.
func (f *Facts) BootAreas() (*BootAreas, error) {
	f.note(BootDisk)
	f.areasOnce.Do(func() {
		if f.opt.Disk == nil {
			f.areasErr = errors.New("no disk")
			return
		}
		f.areas, f.areasErr = f.opt.Disk.ReadAreas()
	})
	return f.areas, f.areasErr
}
