// Package disk finds the broken system on a block device or a disk image:
// it reads the partition table (GPT with its backup, MBR with the EBR
// chain of logical partitions), probes every volume's superblock (ext2/3/4,
// xfs, btrfs, vfat, swap, LVM2, LUKS, md, squashfs) and the LVM2 text
// metadata, all in pure Go; it picks the root filesystem by what the
// filesystems hold; and it mounts the root and the target's own /boot,
// /boot/efi, /usr and /var through loop devices, read-only unless asked,
// recording what it mounted so that Unmount undoes exactly that, even
// after a crash.
//
// The helper's kernel may parse no partition tables and have no
// device-mapper: every partition and every linear logical volume is
// reached as a byte range of the disk through a loop device with an offset
// and a size limit.
package disk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"rescue/parse/kname"
)

// Disk is what Probe found on a device or an image.
type Disk struct {
	// Path is the device or image file.
	Path string `json:"path"`
	Size int64  `json:"size"`
	// Table is the partition table; nil when there is none (a whole-disk
	// filesystem, or nothing).
	Table *Table `json:"table,omitempty"`
	// Volumes are everything that can hold a filesystem: partitions, the
	// whole disk when it has no table, and LVM logical volumes.
	Volumes []*Volume `json:"volumes"`
	// Groups are the LVM volume groups whose metadata is on the disk.
	Groups   []*VolumeGroup `json:"volume_groups,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
}

// Volume kinds.
const (
	KindPartition = "partition"
	KindDisk      = "disk" // a filesystem on the whole disk, no table
	KindLV        = "lv"
)

// Volume is a partition, a whole disk or an LVM logical volume.
type Volume struct {
	// Name is how people and the target's fstab know the volume:
	// /dev/vdb2 (a partition of /dev/vdb, named as Linux would name it
	// even where the helper's kernel made no node), disk.img2 (a partition
	// of an image), /dev/mapper/VG-LV.
	Name      string     `json:"name"`
	Kind      string     `json:"kind"`
	Partition *Partition `json:"partition,omitempty"`
	VG        string     `json:"vg,omitempty"`
	LV        string     `json:"lv,omitempty"`
	// Offset and Size are the volume's byte range on the disk; Size is 0
	// when it is not one range (a non-linear LV).
	Offset int64 `json:"offset"`
	Size   int64 `json:"size"`
	// Device is the block device rescue mounts instead of a loop device
	// over the range: an LV the helper's LVM activated (see lvmact.go).
	Device string `json:"device,omitempty"`
	// FS is what the superblock says; nil when no known signature is
	// there.
	FS *Superblock `json:"fs,omitempty"`
	// Problem says why the volume cannot be used or read ("" when fine).
	Problem string `json:"problem,omitempty"`
	// HostDuplicate names the helper's own mounted filesystem that has
	// the same UUID (a clone of the helper's disk), when there is one.
	HostDuplicate string `json:"host_duplicate,omitempty"`
}

// Reachable reports whether the volume can be mounted: one byte range that
// a loop device can map, or a device the helper's LVM activated.
func (v *Volume) Reachable() bool { return v.Problem == "" && (v.Size > 0 || v.Device != "") }

// Describe names the volume for messages: "/dev/vdb2 (partition 2, xfs
// UUID=…)".
func (v *Volume) Describe() string {
	var what []string
	switch v.Kind {
	case KindPartition:
		what = append(what, fmt.Sprintf("partition %d", v.Partition.Number))
	case KindLV:
		what = append(what, fmt.Sprintf("LV %s/%s", v.VG, v.LV))
	case KindDisk:
		what = append(what, "whole disk")
	}
	if v.FS != nil {
		fs := v.FS.Type
		if v.FS.UUID != "" {
			fs += " UUID=" + v.FS.UUID
		}
		what = append(what, fs)
	}
	return fmt.Sprintf("%s (%s)", v.Name, strings.Join(what, ", "))
}

// ReaderAt returns a reader of the volume's bytes within the disk.
func (v *Volume) section(r io.ReaderAt) *io.SectionReader {
	return io.NewSectionReader(r, v.Offset, v.Size)
}

// Probe reads a device or image file: its partition table, the superblock
// of each volume and the LVM metadata. Problems with single volumes (a
// corrupt superblock, a partition past the end) are recorded on the volume
// and in Warnings; an error means the disk itself cannot be read.
func Probe(path string) (*Disk, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("finding the size of %s: %w", path, err)
	}
	return ProbeReader(path, f, size)
}

// ProbeReader is Probe on an open disk of size bytes; path names it.
func ProbeReader(path string, r io.ReaderAt, size int64) (*Disk, error) {
	d := &Disk{Path: path, Size: size}
	if size == 0 {
		return nil, fmt.Errorf("%s is empty (0 bytes)", path)
	}
	t, tableErr := ReadTable(r, size)
	switch {
	case tableErr == nil:
		d.Table = t
		d.Warnings = append(d.Warnings, t.Warnings...)
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if p.IsExtended() {
				continue
			}
			v := &Volume{Name: kname.Partition(path, p.Number), Kind: KindPartition, Partition: p,
				Offset: p.Start, Size: p.Size, Problem: p.Problem}
			if v.Problem != "" && p.Start < size {
				// Probe what is there: the superblock may well be
				// readable even when the end is missing.
				v.Size = min(p.Size, size-p.Start)
			}
			d.Volumes = append(d.Volumes, v)
		}
	case errors.Is(tableErr, ErrNoTable):
		d.Volumes = append(d.Volumes, &Volume{Name: path, Kind: KindDisk, Offset: 0, Size: size})
	default:
		// The table is there but unreadable: say so, and still look for a
		// whole-disk filesystem so that the operator sees everything.
		d.Warnings = append(d.Warnings, "partition table: "+tableErr.Error())
		v := &Volume{Name: path, Kind: KindDisk, Offset: 0, Size: size}
		d.Volumes = append(d.Volumes, v)
	}
	for _, v := range d.Volumes {
		if v.Size <= 0 {
			continue
		}
		sb, err := ProbeFS(v.section(r), v.Size)
		if err != nil {
			v.Problem = joinProblem(v.Problem, err.Error())
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %v", v.Name, err))
			continue
		}
		v.FS = sb
	}
	if tableErr != nil && !errors.Is(tableErr, ErrNoTable) && d.Volumes[0].FS == nil {
		return d, fmt.Errorf("%s: %w", path, tableErr)
	}
	d.readLVM(r)
	return d, nil
}

func joinProblem(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// readLVM reads the volume groups of the disk's PVs and adds their LVs.
func (d *Disk) readLVM(r io.ReaderAt) {
	pvs := map[string]*Volume{} // PV UUID -> its volume
	var order []*Volume
	for _, v := range d.Volumes {
		if v.FS != nil && v.FS.Type == "LVM2_member" && v.Problem == "" {
			pvs[v.FS.UUID] = v
			order = append(order, v)
		}
	}
	seen := map[string]bool{}
	for _, pvVol := range order {
		vg, _, err := ReadVG(pvVol.section(r), pvVol.Size)
		if err != nil {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %v", pvVol.Name, err))
			continue
		}
		if seen[vg.UUID+vg.Name] {
			continue
		}
		seen[vg.UUID+vg.Name] = true
		d.Groups = append(d.Groups, vg)
		for i := range vg.LVs {
			lv := &vg.LVs[i]
			if !lv.Visible() {
				continue
			}
			v := &Volume{Name: MapperName(vg.Name, lv.Name), Kind: KindLV, VG: vg.Name, LV: lv.Name}
			d.Volumes = append(d.Volumes, v)
			pv, rng, err := vg.LinearRange(lv)
			if err != nil {
				v.Problem = err.Error() + "; rescue reaches only linear LVs without device-mapper"
				continue
			}
			host := pvs[pv.UUID]
			if host == nil {
				v.Problem = fmt.Sprintf("LV %s/%s lies on PV %s, which is not on this disk", vg.Name, lv.Name, pv.UUID)
				continue
			}
			if rng.Offset+rng.Size > host.Size {
				v.Problem = fmt.Sprintf("LV %s/%s runs past the end of its PV %s", vg.Name, lv.Name, host.Name)
				continue
			}
			v.Offset, v.Size = host.Offset+rng.Offset, rng.Size
			sb, err := ProbeFS(v.section(r), v.Size)
			if err != nil {
				v.Problem = err.Error()
				continue
			}
			v.FS = sb
		}
	}
}

// Volume returns the volume with the given name, partition number
// ("2"), UUID, label or VG/LV, or nil.
func (d *Disk) Volume(key string) *Volume {
	for _, v := range d.Volumes {
		if v.Name == key || (v.Partition != nil && fmt.Sprint(v.Partition.Number) == key) ||
			(v.Kind == KindLV && v.VG+"/"+v.LV == key) {
			return v
		}
	}
	for _, v := range d.Volumes {
		if v.FS != nil && (strings.EqualFold(v.FS.UUID, key) || v.FS.Label == key && key != "") {
			return v
		}
	}
	return nil
}
