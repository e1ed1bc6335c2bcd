package images

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"rescue/disk"
)

// build builds a layout, skipping the test when a tool or root is missing.
func build(t *testing.T, l Layout) *Image {
	t.Helper()
	img, err := Build(context.Background(), t.TempDir(), l)
	if errors.Is(err, ErrMissingTool) || errors.Is(err, ErrNeedRoot) {
		t.Skipf("cannot build the image here: %v", err)
	}
	require.NoError(t, err)
	return img
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: loop devices and mounts")
	}
}

// blkid runs blkid -p on a byte range of the image: the reference the
// layout must agree with.
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

func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed", name)
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return string(out)
}

func TestGPTWithESPAndXFS(t *testing.T) {
	needRoot(t)
	rootUUID := "0b6a4c39-5d2e-4b0f-9e6c-6f0e2f8c1a01"
	root := tree(t, map[string]string{"etc/os-release": "ID=debian\n", "etc/fstab": "UUID=" + rootUUID + " / xfs defaults 0 0\n"})
	esp := tree(t, map[string]string{"EFI/debian/grub.cfg": "search.fs_uuid " + rootUUID + " root\n"})
	img := build(t, Layout{
		Table: GPT, SizeMiB: 420, DiskID: "5C1B2E3A-1111-4222-8333-444455556666",
		Partitions: []Partition{
			{SizeMiB: 1, Type: BIOSBoot, Name: "bios"},
			{SizeMiB: 40, Type: ESP, Name: "EFI System Partition", PartUUID: "AAAAAAAA-1111-4222-8333-000000000002",
				FS: &Filesystem{Type: "vfat", UUID: "1A2B-3C4D", Label: "ESP", From: esp}},
			{SizeMiB: 320, Type: Linux, Name: "root", FS: &Filesystem{Type: "xfs", UUID: rootUUID, Label: "root", From: root}},
			{Type: Swap, FS: &Filesystem{Type: "swap", Label: "swap"}},
		},
	})
	whole := blkid(t, img.Path, 0, 0)
	require.Equal(t, "gpt", whole["PTTYPE"])
	require.Equal(t, strings.ToLower(img.DiskID), whole["PTUUID"])

	require.Len(t, img.Parts, 4)
	for i, p := range img.Parts {
		require.Equal(t, i+1, p.Number)
		require.Zero(t, p.Offset%(1<<20), "partition %d is 1 MiB aligned", p.Number)
		if i > 0 {
			prev := img.Parts[i-1]
			require.GreaterOrEqual(t, p.Offset, prev.Offset+prev.Size, "partitions do not overlap")
		}
	}
	require.Equal(t, int64(40<<20), img.Parts[1].Size)
	require.Equal(t, gptTypes[ESP], img.Parts[1].TypeCode)
	require.Equal(t, "AAAAAAAA-1111-4222-8333-000000000002", img.Parts[1].PartUUID)
	end := img.Parts[3].Offset + img.Parts[3].Size
	require.LessOrEqual(t, end, img.Size-33*512, "the last partition ends before the backup GPT")
	require.Greater(t, end, img.Size-(1<<20)-33*512, "the last partition takes the rest of the disk")

	espProbe := blkid(t, img.Path, img.Parts[1].Offset, img.Parts[1].Size)
	require.Equal(t, "vfat", espProbe["TYPE"])
	require.Equal(t, "1A2B-3C4D", espProbe["UUID"])
	require.Equal(t, "ESP", espProbe["LABEL"])
	require.Equal(t, "1A2B-3C4D", img.Parts[1].FS.UUID)
	cfg := output(t, "mtype", "-i", img.Path+"@@"+strconv.FormatInt(img.Parts[1].Offset, 10), "::/EFI/debian/grub.cfg")
	require.Equal(t, "search.fs_uuid "+rootUUID+" root\n", cfg)

	rootProbe := blkid(t, img.Path, img.Parts[2].Offset, img.Parts[2].Size)
	require.Equal(t, "xfs", rootProbe["TYPE"])
	require.Equal(t, rootUUID, rootProbe["UUID"])
	require.Equal(t, "root", rootProbe["LABEL"])
	// The files are in the xfs filesystem.
	l, err := disk.AttachLoop(img.Path, img.Parts[2].Offset, img.Parts[2].Size, true)
	require.NoError(t, err)
	defer l.Detach()
	mnt := t.TempDir()
	require.NoError(t, unix.Mount(l.Path, mnt, "xfs", unix.MS_RDONLY, "norecovery"))
	data, err := os.ReadFile(filepath.Join(mnt, "etc/os-release"))
	unix.Unmount(mnt, 0)
	require.NoError(t, err)
	require.Equal(t, "ID=debian\n", string(data))

	swap := blkid(t, img.Path, img.Parts[3].Offset, img.Parts[3].Size)
	require.Equal(t, "swap", swap["TYPE"])
	require.Equal(t, img.Parts[3].FS.UUID, swap["UUID"])
	require.Equal(t, "swap", swap["LABEL"])
}

func TestDOSWithLogicalPartitionsAndLVM(t *testing.T) {
	needRoot(t)
	root := tree(t, map[string]string{"etc/hostname": "centos\n"})
	img := build(t, Layout{
		Table: DOS, SizeMiB: 160, DiskID: "0xdeadbeef",
		Partitions: []Partition{
			{SizeMiB: 20, Bootable: true, FS: &Filesystem{Type: "ext4", Label: "boot"}},
			{SizeMiB: 120, Type: Extended},
			{SizeMiB: 8, Type: Swap, Logical: true, FS: &Filesystem{Type: "swap"}},
			{Type: LVM, Logical: true, FS: &Filesystem{Type: "lvm", VG: &VolumeGroup{Name: "centos", LVs: []LogicalVolume{
				{Name: "root", SizeMiB: 40, FS: &Filesystem{Type: "ext4", Label: "lvroot", From: root}},
				{Name: "var", SizeMiB: 20, ExtendMiB: 8},
				{Name: "home", SizeMiB: 16, FS: &Filesystem{Type: "ext2"}},
			}}}},
			{Type: Linux, FS: &Filesystem{Type: "ext3"}},
		},
	})
	require.Equal(t, "deadbeef", img.DiskID)
	nums := []int{}
	for _, p := range img.Parts {
		nums = append(nums, p.Number)
	}
	require.Equal(t, []int{1, 2, 5, 6, 3}, nums)
	require.Equal(t, "deadbeef-05", img.Part(5).PartUUID)
	require.True(t, img.Part(1).Bootable)
	require.Equal(t, "5", img.Part(2).TypeCode)
	ext := img.Part(2)
	for _, n := range []int{5, 6} {
		p := img.Part(n)
		require.GreaterOrEqual(t, p.Offset, ext.Offset+512, "logical %d lies inside the extended partition, after an EBR", n)
		require.LessOrEqual(t, p.Offset+p.Size, ext.Offset+ext.Size)
	}
	for _, n := range []int{1, 5, 6, 3} {
		p := img.Part(n)
		got := blkid(t, img.Path, p.Offset, p.Size)
		want := map[string]string{"ext4": "ext4", "swap": "swap", "lvm": "LVM2_member", "ext3": "ext3"}[p.FS.Type]
		require.Equal(t, want, got["TYPE"], "partition %d", n)
		require.Equal(t, p.FS.UUID, got["UUID"], "partition %d", n)
	}

	root2 := img.LV("centos", "root")
	require.NotNil(t, root2)
	require.Len(t, root2.Segments, 1)
	require.Equal(t, int64(40<<20), root2.Segments[0].Size)
	got := blkid(t, img.Path, root2.Segments[0].Offset, root2.Segments[0].Size)
	require.Equal(t, "ext4", got["TYPE"])
	require.Equal(t, "lvroot", got["LABEL"])
	require.Equal(t, root2.FS.UUID, got["UUID"])
	require.Contains(t, output(t, "debugfs", "-R", "cat /etc/hostname", img.Path+"?offset="+strconv.FormatInt(root2.Segments[0].Offset, 10)), "centos")

	v := img.LV("centos", "var")
	require.Len(t, v.Segments, 2, "the extended LV has a second segment")
	require.Equal(t, int64(20<<20), v.Segments[0].Size)
	require.Equal(t, int64(8<<20), v.Segments[1].Size)
	home := img.LV("centos", "home")
	require.Equal(t, "ext2", blkid(t, img.Path, home.Segments[0].Offset, home.Segments[0].Size)["TYPE"])
	require.Equal(t, v.Segments[0].Offset+v.Segments[0].Size, home.Segments[0].Offset, "LVs are laid out in order")
}

func TestWholeDiskAndOthers(t *testing.T) {
	root := tree(t, map[string]string{"etc/os-release": "ID=debian\n"})
	img := build(t, Layout{Table: None, SizeMiB: 32, Partitions: []Partition{{FS: &Filesystem{Type: "ext4", UUID: "9d7c1b1e-0b39-4f4e-a4b7-3d0f4b8e7a11", From: root}}}})
	got := blkid(t, img.Path, 0, 0)
	require.Equal(t, "ext4", got["TYPE"])
	require.Equal(t, "9d7c1b1e-0b39-4f4e-a4b7-3d0f4b8e7a11", got["UUID"])
	require.Empty(t, got["PTTYPE"])
	require.Len(t, img.Parts, 1)
	require.Equal(t, 0, img.Parts[0].Number)
	require.Equal(t, img.Size, img.Parts[0].Size)

	img = build(t, Layout{Table: GPT, SizeMiB: 200, Partitions: []Partition{
		{SizeMiB: 130, FS: &Filesystem{Type: "btrfs", Label: "data", From: root}},
		{SizeMiB: 20, FS: &Filesystem{Type: "luks", Label: "crypt"}},
		{SizeMiB: 20, FS: &Filesystem{Type: "luks1"}},
	}})
	for _, p := range img.Parts {
		got := blkid(t, img.Path, p.Offset, p.Size)
		want := map[string]string{"btrfs": "btrfs", "luks": "crypto_LUKS", "luks1": "crypto_LUKS"}[p.FS.Type]
		require.Equal(t, want, got["TYPE"], "partition %d", p.Number)
		require.Equal(t, p.FS.UUID, got["UUID"], "partition %d", p.Number)
		require.Equal(t, p.FS.Label, got["LABEL"], "partition %d", p.Number)
	}
}

func TestLayoutErrors(t *testing.T) {
	ctx := context.Background()
	for name, l := range map[string]Layout{
		"no size":             {Table: GPT},
		"bad table":           {Table: "sun", SizeMiB: 8},
		"logical without ext": {Table: DOS, SizeMiB: 8, Partitions: []Partition{{Logical: true}}},
		"five primaries":      {Table: DOS, SizeMiB: 16, Partitions: []Partition{{SizeMiB: 1}, {SizeMiB: 1}, {SizeMiB: 1}, {SizeMiB: 1}, {SizeMiB: 1}}},
		"none with two":       {Table: None, SizeMiB: 8, Partitions: []Partition{{}, {}}},
		"unknown fs":          {Table: None, SizeMiB: 8, Partitions: []Partition{{FS: &Filesystem{Type: "reiserfs"}}}},
		"bad dos id":          {Table: DOS, SizeMiB: 8, DiskID: "xyz", Partitions: []Partition{{}}},
		"gpt extended":        {Table: GPT, SizeMiB: 8, Partitions: []Partition{{Type: Extended}}},
	} {
		_, err := Build(ctx, t.TempDir(), l)
		if errors.Is(err, ErrMissingTool) {
			continue
		}
		require.Error(t, err, name)
	}
}
