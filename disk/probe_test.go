package disk_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"rescue/disk"
	"rescue/images"
)

func build(t *testing.T, l images.Layout) *images.Image {
	t.Helper()
	img, err := images.Build(context.Background(), t.TempDir(), l)
	if errors.Is(err, images.ErrMissingTool) || errors.Is(err, images.ErrNeedRoot) {
		t.Skipf("cannot build the image here: %v", err)
	}
	require.NoError(t, err)
	return img
}

func blkid(t *testing.T, path string, off, size int64) map[string]string {
	t.Helper()
	if _, err := exec.LookPath("blkid"); err != nil {
		t.Skip("blkid is not installed")
	}
	args := []string{"-p", "-o", "export", "-O", strconv.FormatInt(off, 10)}
	if size > 0 {
		args = append(args, "-S", strconv.FormatInt(size, 10))
	}
	out, _ := exec.Command("blkid", append(args, path)...).Output()
	m := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// sfdiskParts is sfdisk's reading of the table: the reference for ours.
type sfdiskDump struct {
	PartitionTable struct {
		Label      string `json:"label"`
		ID         string `json:"id"`
		Partitions []struct {
			Node     string `json:"node"`
			Start    int64  `json:"start"`
			Size     int64  `json:"size"`
			Type     string `json:"type"`
			UUID     string `json:"uuid"`
			Name     string `json:"name"`
			Bootable bool   `json:"bootable"`
		} `json:"partitions"`
	} `json:"partitiontable"`
}

func sfdisk(t *testing.T, path string) sfdiskDump {
	t.Helper()
	out, err := exec.Command("sfdisk", "-J", path).Output()
	require.NoError(t, err)
	var d sfdiskDump
	require.NoError(t, json.Unmarshal(out, &d))
	return d
}

// agree checks a probed disk against sfdisk -J (the table) and blkid -p
// (each volume's filesystem).
func agree(t *testing.T, img *images.Image, d *disk.Disk) {
	t.Helper()
	whole := blkid(t, img.Path, 0, 0)
	if img.Table == images.None {
		require.Nil(t, d.Table)
	} else {
		require.NotNil(t, d.Table)
		require.Equal(t, whole["PTTYPE"], d.Table.Kind)
		require.Equal(t, whole["PTUUID"], d.Table.ID)
		ref := sfdisk(t, img.Path)
		require.Len(t, d.Table.Partitions, len(ref.PartitionTable.Partitions))
		for i, rp := range ref.PartitionTable.Partitions {
			p := d.Table.Partitions[i]
			require.True(t, strings.HasSuffix(rp.Node, strconv.Itoa(p.Number)), "partition %d is %s", p.Number, rp.Node)
			require.Equal(t, rp.Start*512, p.Start, "start of %s", rp.Node)
			require.Equal(t, rp.Size*512, p.Size, "size of %s", rp.Node)
			require.Equal(t, rp.Bootable, p.Bootable && d.Table.Kind == "dos", "bootable %s", rp.Node)
			if d.Table.Kind == "gpt" {
				require.Equal(t, rp.Type, p.Type)
				require.Equal(t, strings.ToLower(rp.UUID), p.PartUUID)
				require.Equal(t, rp.Name, p.Name)
			} else {
				require.Equal(t, "0x"+rp.Type, p.Type)
			}
		}
	}
	for _, v := range d.Volumes {
		if !v.Reachable() {
			continue
		}
		ref := blkid(t, img.Path, v.Offset, v.Size)
		if ref["TYPE"] == "" {
			require.Nil(t, v.FS, "%s: blkid sees nothing", v.Name)
			continue
		}
		require.NotNil(t, v.FS, "%s: blkid sees %v", v.Name, ref)
		require.Equal(t, ref["TYPE"], v.FS.Type, v.Name)
		require.Equal(t, ref["UUID"], v.FS.UUID, v.Name)
		require.Equal(t, ref["LABEL"], v.FS.Label, v.Name)
	}
}

func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := dir + "/" + name
		require.NoError(t, os.MkdirAll(p[:strings.LastIndex(p, "/")], 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func TestProbeGPT(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the image has xfs filled through a mount")
	}
	root := tree(t, map[string]string{"etc/os-release": "ID=rocky\n"})
	img := build(t, images.Layout{Table: images.GPT, SizeMiB: 400, Partitions: []images.Partition{
		{SizeMiB: 1, Type: images.BIOSBoot},
		{SizeMiB: 32, Type: images.ESP, Name: "EFI System Partition", FS: &images.Filesystem{Type: "vfat", Label: "ESP"}},
		{SizeMiB: 310, Name: "root", FS: &images.Filesystem{Type: "xfs", Label: "root", From: root}},
		{Type: images.Swap, FS: &images.Filesystem{Type: "swap"}},
	}})
	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	require.Empty(t, d.Warnings)
	agree(t, img, d)
	require.Len(t, d.Volumes, 4)
	require.Equal(t, img.Path+"3", d.Volumes[2].Name)
	require.Equal(t, "esp", d.Volumes[1].Partition.TypeName)
	require.Equal(t, "xfs", d.Volumes[2].FS.Type)
	require.True(t, d.Volumes[2].FS.State.Clean())

	// A corrupt primary GPT header: the backup is used, and we say so.
	f, err := os.OpenFile(img.Path, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("garbage!"), 512+24)
	require.NoError(t, err)
	d2, err := disk.Probe(img.Path)
	require.NoError(t, err)
	require.Len(t, d2.Warnings, 1)
	require.Contains(t, d2.Warnings[0], "using the backup GPT")
	require.Equal(t, d.Table.Partitions, d2.Table.Partitions)

	// Both headers corrupt: a clear error, no guessing.
	fi, _ := f.Stat()
	_, err = f.WriteAt([]byte("garbage!"), fi.Size()-512+24)
	require.NoError(t, err)
	f.Close()
	d3, err := disk.Probe(img.Path)
	require.Error(t, err)
	require.Contains(t, err.Error(), "the disk has a GPT, but it cannot be read: primary GPT: GPT header at LBA 1: checksum mismatch")
	require.Contains(t, err.Error(), "backup GPT: GPT header at LBA 819199: checksum mismatch")
	require.NotNil(t, d3)
}

func TestProbeDOSLogicalAndLVM(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: LVM is written through a loop device")
	}
	img := build(t, images.Layout{Table: images.DOS, SizeMiB: 200, Partitions: []images.Partition{
		{SizeMiB: 20, Bootable: true, FS: &images.Filesystem{Type: "ext4", Label: "boot"}},
		{Type: images.Extended},
		{SizeMiB: 10, Type: images.Swap, Logical: true, FS: &images.Filesystem{Type: "swap"}},
		{SizeMiB: 20, Logical: true, FS: &images.Filesystem{Type: "ext2", Label: "data"}},
		{Type: images.LVM, Logical: true, FS: &images.Filesystem{Type: "lvm", VG: &images.VolumeGroup{Name: "centos", LVs: []images.LogicalVolume{
			{Name: "root", SizeMiB: 60, FS: &images.Filesystem{Type: "ext4", Label: "lvroot"}},
			{Name: "var-log", SizeMiB: 12, ExtendMiB: 8, FS: nil},
			{Name: "swap", SizeMiB: 8, FS: &images.Filesystem{Type: "swap"}},
		}}}},
	}})
	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	require.Empty(t, d.Warnings)
	agree(t, img, d)
	var nums []int
	for _, p := range d.Table.Partitions {
		nums = append(nums, p.Number)
	}
	require.Equal(t, []int{1, 2, 5, 6, 7}, nums)
	require.True(t, d.Table.Partitions[2].Logical)
	require.Equal(t, img.DiskID+"-06", d.Table.Partitions[3].PartUUID)

	require.Len(t, d.Groups, 1)
	vg := d.Groups[0]
	require.Equal(t, "centos", vg.Name)
	for _, name := range []string{"root", "swap"} {
		v := d.Volume("centos/" + name)
		require.NotNil(t, v, name)
		want := img.LV("centos", name)
		require.Equal(t, want.Segments[0].Offset, v.Offset, "offset of %s agrees with lvs", name)
		require.Equal(t, want.Segments[0].Size, v.Size, "size of %s agrees with lvs", name)
		require.Equal(t, want.FS.UUID, v.FS.UUID)
	}
	require.Equal(t, "/dev/mapper/centos-root", d.Volume("centos/root").Name)
	split := d.Volume("/dev/mapper/centos-var--log")
	require.NotNil(t, split)
	require.False(t, split.Reachable())
	require.Contains(t, split.Problem, "not contiguous")
	pv := d.Volume(img.Path + "7")
	require.Equal(t, "LVM2_member", pv.FS.Type)
}

func TestProbeWholeDiskAndTruncated(t *testing.T) {
	img := build(t, images.Layout{Table: images.None, SizeMiB: 24, Partitions: []images.Partition{{FS: &images.Filesystem{Type: "ext4", Label: "whole"}}}})
	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	agree(t, img, d)
	require.Len(t, d.Volumes, 1)
	require.Equal(t, disk.KindDisk, d.Volumes[0].Kind)
	require.Equal(t, "whole", d.Volumes[0].FS.Label)

	// A whole-disk FAT filesystem has 55AA at byte 510 like an MBR; it is
	// not a partition table.
	img = build(t, images.Layout{Table: images.None, SizeMiB: 40, Partitions: []images.Partition{{FS: &images.Filesystem{Type: "vfat", UUID: "ABCD0123"}}}})
	d, err = disk.Probe(img.Path)
	require.NoError(t, err)
	agree(t, img, d)
	require.Nil(t, d.Table)
	require.Equal(t, "ABCD-0123", d.Volumes[0].FS.UUID)

	// A truncated image: the last partition runs past the end.
	img = build(t, images.Layout{Table: images.DOS, SizeMiB: 40, Partitions: []images.Partition{
		{SizeMiB: 10, FS: &images.Filesystem{Type: "ext4"}}, {FS: &images.Filesystem{Type: "ext4"}},
	}})
	require.NoError(t, os.Truncate(img.Path, 20<<20))
	d, err = disk.Probe(img.Path)
	require.NoError(t, err)
	require.Len(t, d.Warnings, 1)
	require.Contains(t, d.Warnings[0], "partition 2: it ends at byte")
	require.Contains(t, d.Warnings[0], "truncated")
	require.True(t, d.Volumes[0].Reachable())
	require.False(t, d.Volumes[1].Reachable())
	require.Equal(t, "ext4", d.Volumes[1].FS.Type, "the superblock at the start is still read")

	// Cut inside the first partition's superblock area: no panic.
	require.NoError(t, os.Truncate(img.Path, 1<<20+1500))
	d, err = disk.Probe(img.Path)
	require.NoError(t, err)
	require.Nil(t, d.Volumes[0].FS)

	empty := t.TempDir() + "/empty.img"
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = disk.Probe(empty)
	require.ErrorContains(t, err, "empty")
}
