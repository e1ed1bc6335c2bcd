package disk_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"rescue/disk"
	"rescue/images"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: loop devices and mounts")
	}
}

func hashFile(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

// opts returns mount options with a private state directory.
func opts(t *testing.T, writable bool) disk.MountOptions {
	return disk.MountOptions{Writable: writable, StateDir: t.TempDir()}
}

// rootTree is a small root filesystem: os-release, an fstab, /boot and
// /boot/efi.
func rootTree(t *testing.T, osName, fstabText string) string {
	return tree(t, map[string]string{
		"etc/os-release":     "PRETTY_NAME=\"" + osName + "\"\nID=debian\n",
		"etc/fstab":          fstabText,
		"etc/hostname":       "target\n",
		"sbin/init":          "",
		"boot/efi/.keep":     "",
		"var/log/syslog":     "log\n",
		"usr/lib/os-release": "ID=debian\n",
	})
}

func TestMountGPTXFSWithESP(t *testing.T) {
	needRoot(t)
	rootUUID := "5e0f5b2c-3a47-4d7e-8b1e-0c6f9a2d4b11"
	root := rootTree(t, "Debian GNU/Linux 12 (bookworm)",
		"UUID="+rootUUID+" / xfs defaults 0 0\nUUID=7A1B-2C3D /boot/efi vfat umask=0077 0 1\n")
	esp := tree(t, map[string]string{"EFI/debian/grub.cfg": "search.fs_uuid " + rootUUID + " root\n", "EFI/BOOT/BOOTX64.EFI": "MZ-fake"})
	img := build(t, images.Layout{Table: images.GPT, SizeMiB: 400, Partitions: []images.Partition{
		{SizeMiB: 40, Type: images.ESP, FS: &images.Filesystem{Type: "vfat", UUID: "7A1B2C3D", From: esp}},
		{Type: images.Linux, FS: &images.Filesystem{Type: "xfs", UUID: rootUUID, From: root}},
	}})
	before := hashFile(t, img.Path)
	d, err := disk.Probe(img.Path)
	require.NoError(t, err)

	o := opts(t, false)
	dir := filepath.Join(t.TempDir(), "mnt")
	s, err := disk.Mount(context.Background(), d, dir, o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.Equal(t, img.Path+"2", s.Root.Name)
	require.Len(t, s.Mounts, 2, "notes: %v", s.Notes)
	require.Equal(t, "/boot/efi", s.Mounts[1].Point)
	require.Equal(t, "fstab line 2", s.Mounts[1].Why)

	data, err := os.ReadFile(filepath.Join(dir, "etc/hostname"))
	require.NoError(t, err)
	require.Equal(t, "target\n", string(data))
	data, err = os.ReadFile(filepath.Join(dir, "boot/efi/EFI/debian/grub.cfg"))
	require.NoError(t, err)
	require.Contains(t, string(data), rootUUID)
	// Read-only all the way down.
	require.ErrorIs(t, os.WriteFile(filepath.Join(dir, "etc/x"), nil, 0o644), unix.EROFS)
	require.ErrorIs(t, os.WriteFile(filepath.Join(dir, "boot/efi/x"), nil, 0o644), unix.EROFS)

	// A second mount at the same place is refused.
	_, err = disk.Mount(context.Background(), d, dir, o)
	require.ErrorIs(t, err, disk.ErrMounted)

	// umount, as a separate command would do it: from the record alone.
	require.NoError(t, disk.Unmount(o.StateDir, dir, nil))
	requireNothingMounted(t, dir)
	list, _ := disk.Sessions(o.StateDir)
	require.Empty(t, list)
	require.Equal(t, before, hashFile(t, img.Path), "a read-only mount leaves the image byte-identical")

	// Read-write: change the ESP through the copy; umount writes it back.
	d, err = disk.Probe(img.Path)
	require.NoError(t, err)
	o = opts(t, true)
	s, err = disk.Mount(context.Background(), d, dir, o)
	require.NoError(t, err)
	cfg := filepath.Join(dir, "boot/efi/EFI/debian/grub.cfg")
	newCfg := strings.Repeat("set timeout=5\n", 400) // several clusters
	require.NoError(t, os.WriteFile(cfg, []byte(newCfg), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "boot/efi/EFI/rescue"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "boot/efi/EFI/rescue/note.txt"), []byte("hello\n"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(dir, "boot/efi/EFI/BOOT/BOOTX64.EFI")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/hostname"), []byte("fixed\n"), 0o644))
	require.NoError(t, s.Close())
	requireNothingMounted(t, dir)

	espOff := strconv.FormatInt(img.Parts[0].Offset, 10)
	require.Equal(t, newCfg, mtools(t, "mtype", "-i", img.Path+"@@"+espOff, "::/EFI/debian/grub.cfg"))
	require.Equal(t, "hello\n", mtools(t, "mtype", "-i", img.Path+"@@"+espOff, "::/EFI/rescue/note.txt"))
	require.NotContains(t, mtools(t, "mdir", "-b", "-i", img.Path+"@@"+espOff, "::/EFI/BOOT"), "BOOTX64")
	requireFsckFATClean(t, img.Path, img.Parts[0].Offset, img.Parts[0].Size)

	// The root change is on the disk too.
	d, err = disk.Probe(img.Path)
	require.NoError(t, err)
	s, err = disk.Mount(context.Background(), d, dir, opts(t, false))
	require.NoError(t, err)
	data, err = os.ReadFile(filepath.Join(dir, "etc/hostname"))
	require.NoError(t, err)
	require.Equal(t, "fixed\n", string(data))
	require.NoError(t, s.Close())
}

func mtools(t *testing.T, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed", name)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return string(out)
}

func requireFsckFATClean(t *testing.T, img string, off, size int64) {
	t.Helper()
	if _, err := exec.LookPath("fsck.fat"); err != nil {
		t.Skip("fsck.fat is not installed")
	}
	require.NoError(t, disk.FsckFAT(img, off, size))
}

func requireNothingMounted(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	require.NotContains(t, string(data), " "+dir, "nothing stays mounted under %s", dir)
}

func TestRootScoringAndChoice(t *testing.T) {
	needRoot(t)
	a, b := "1f0a6c55-0000-4000-8000-00000000000a", "1f0a6c55-0000-4000-8000-00000000000b"
	// Two roots, each with an fstab naming itself: a tie.
	img := build(t, images.Layout{Table: images.DOS, SizeMiB: 80, Partitions: []images.Partition{
		{SizeMiB: 20, FS: &images.Filesystem{Type: "ext4", UUID: a, From: rootTree(t, "A", "UUID="+a+" / ext4 defaults 0 1\n")}},
		{SizeMiB: 20, FS: &images.Filesystem{Type: "ext4", UUID: b, From: rootTree(t, "B", "UUID="+b+" / ext4 defaults 0 1\n")}},
		{SizeMiB: 10, FS: &images.Filesystem{Type: "ext4", From: tree(t, map[string]string{"vmlinuz-6.1.0": "k", "grub/grub.cfg": ""})}},
		{FS: &images.Filesystem{Type: "ext4", From: tree(t, map[string]string{"notes.txt": "data"})}},
	}})
	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "mnt")
	_, err = disk.Mount(context.Background(), d, dir, opts(t, false))
	require.ErrorIs(t, err, disk.ErrAmbiguousRoot)
	require.Contains(t, err.Error(), "--root-partition")
	requireNothingMounted(t, dir)

	o := opts(t, false)
	o.Root = "2"
	s, err := disk.Mount(context.Background(), d, dir, o)
	require.NoError(t, err)
	require.Equal(t, b, s.Root.FS.UUID)
	roles := map[string]string{}
	for _, c := range s.Candidates {
		roles[c.Name] = c.Role
	}
	require.Equal(t, map[string]string{img.Path + "1": "root", img.Path + "2": "root", img.Path + "3": "boot", img.Path + "4": "data"}, roles)
	// /boot is not in the fstab: it is found by its contents.
	require.Len(t, s.Mounts, 2)
	require.Equal(t, "/boot", s.Mounts[1].Point)
	require.Contains(t, s.Mounts[1].Why, "by content")
	_, err = os.Stat(filepath.Join(dir, "boot/vmlinuz-6.1.0"))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// An fstab that names the other filesystem as / loses points: B's
	// fstab says A is the root.
	img = build(t, images.Layout{Table: images.DOS, SizeMiB: 60, Partitions: []images.Partition{
		{SizeMiB: 20, FS: &images.Filesystem{Type: "ext4", UUID: a, From: rootTree(t, "A", "UUID="+a+" / ext4 defaults 0 1\n")}},
		{SizeMiB: 20, FS: &images.Filesystem{Type: "ext4", UUID: b, From: rootTree(t, "B", "UUID="+a+" / ext4 defaults 0 1\n")}},
	}})
	d, err = disk.Probe(img.Path)
	require.NoError(t, err)
	s, err = disk.Mount(context.Background(), d, dir, opts(t, false))
	require.NoError(t, err)
	require.Equal(t, a, s.Root.FS.UUID)
	require.NoError(t, s.Close())

	o.Root = "nonesuch"
	_, err = disk.Mount(context.Background(), d, dir, o)
	require.ErrorContains(t, err, "--root-partition nonesuch: the disk has no such volume")
}

// TestInterruptedSession: a scan that was killed leaves its mounts; the
// next run undoes them from the record.
func TestInterruptedSession(t *testing.T) {
	needRoot(t)
	img := build(t, images.Layout{Table: images.None, SizeMiB: 24, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "ext4", From: rootTree(t, "X", "")}}}})
	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	o := opts(t, false)
	o.Temporary = true
	dir := filepath.Join(t.TempDir(), "mnt")
	s, err := disk.Mount(context.Background(), d, dir, o)
	require.NoError(t, err)
	_ = s // the process "dies" without closing the session

	// Make the record look like it came from a process that is gone.
	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	list, err := disk.Sessions(o.StateDir)
	require.NoError(t, err)
	require.Len(t, list, 1)
	rewritePID(t, o.StateDir, gone.Process.Pid)

	disk.SweepStale(o.StateDir, nil)
	requireNothingMounted(t, dir)
	list, _ = disk.Sessions(o.StateDir)
	require.Empty(t, list)
	_, err = os.Stat(dir)
	require.True(t, errors.Is(err, os.ErrNotExist), "the mount directory rescue created is gone")
}

func rewritePID(t *testing.T, stateDir string, pid int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(stateDir, "sessions", "*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		i := strings.Index(string(data), `"pid": `)
		require.GreaterOrEqual(t, i, 0)
		j := i + len(`"pid": `)
		k := j
		for data[k] >= '0' && data[k] <= '9' {
			k++
		}
		out := string(data[:j]) + strconv.Itoa(pid) + string(data[k:])
		require.NoError(t, os.WriteFile(f, []byte(out), 0o600))
	}
}

// TestDuplicateUUIDClone: the target is a clone of a disk the helper has
// mounted (same UUIDs). It is detected, and xfs mounts with nouuid.
func TestDuplicateUUIDClone(t *testing.T) {
	needRoot(t)
	u := "0c10e000-1111-4222-8333-444455556666"
	orig := build(t, images.Layout{Table: images.DOS, SizeMiB: 330, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "xfs", UUID: u, From: rootTree(t, "orig", "UUID="+u+" / xfs defaults 0 0\n")}}}})
	clone := filepath.Join(t.TempDir(), "clone.img")
	out, err := exec.Command("cp", "--sparse=always", orig.Path, clone).CombinedOutput()
	require.NoError(t, err, "%s", out)

	// The "helper's own" filesystem: the original, mounted.
	l, err := disk.AttachLoop(orig.Path, orig.Parts[0].Offset, orig.Parts[0].Size, false)
	require.NoError(t, err)
	hostMnt := t.TempDir()
	require.NoError(t, unix.Mount(l.Path, hostMnt, "xfs", 0, ""))
	l.Release()
	defer unix.Unmount(hostMnt, 0)

	d, err := disk.Probe(clone)
	require.NoError(t, err)
	for _, w := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "mnt")
		s, err := disk.Mount(context.Background(), d, dir, opts(t, w))
		require.NoError(t, err, "writable=%v", w)
		require.Contains(t, s.Root.HostDuplicate, hostMnt)
		require.NoError(t, s.Close())
	}
}

// TestFsckBeforeWritable: a filesystem with recorded errors is not mounted
// read-write without --allow-fsck; with it, e2fsck -p runs first.
func TestFsckBeforeWritable(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("debugfs"); err != nil {
		t.Skip("debugfs is not installed")
	}
	u := "0c10e000-1111-4222-8333-777755556666"
	img := build(t, images.Layout{Table: images.DOS, SizeMiB: 40, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "ext4", UUID: u, From: rootTree(t, "E", "UUID="+u+" / ext4 defaults 0 1\n")}}}})
	target := img.Path + "?offset=" + strconv.FormatInt(img.Parts[0].Offset, 10)
	out, err := exec.Command("debugfs", "-w", "-R", "ssv state 2", target).CombinedOutput()
	require.NoError(t, err, "%s", out)

	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	require.True(t, d.Volumes[0].FS.State.Errors)
	dir := filepath.Join(t.TempDir(), "mnt")
	// A read-only mount is fine.
	s, err := disk.Mount(context.Background(), d, dir, opts(t, false))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	_, err = disk.Mount(context.Background(), d, dir, opts(t, true))
	require.ErrorIs(t, err, disk.ErrNeedsFsck)
	require.Contains(t, err.Error(), "--allow-fsck")
	requireNothingMounted(t, dir)

	o := opts(t, true)
	o.AllowFsck = true
	s, err = disk.Mount(context.Background(), d, dir, o)
	require.NoError(t, err)
	require.Len(t, s.Fscks, 1)
	require.Equal(t, "e2fsck", s.Fscks[0].Command[0])
	require.True(t, s.Fscks[0].Clean)
	require.True(t, s.Root.FS.State.Clean())
	require.NoError(t, s.Close())
}

// dirtyXFS makes the log of an xfs partition dirty the way a crash does:
// writes, then a forced shutdown, so no unmount record is written.
func dirtyXFS(t *testing.T, img string, off, size int64) {
	t.Helper()
	if _, err := exec.LookPath("xfs_io"); err != nil {
		t.Skip("xfs_io is not installed")
	}
	l, err := disk.AttachLoop(img, off, size, false)
	require.NoError(t, err)
	mnt := t.TempDir()
	require.NoError(t, unix.Mount(l.Path, mnt, "xfs", 0, ""))
	l.Release()
	// A new file is metadata the log carries (its data may not be: xfs
	// leaves files written just before a crash empty).
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "etc/created-before-crash"), []byte("x"), 0o644))
	out, err := exec.Command("xfs_io", "-x", "-c", "shutdown -f", mnt).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, unix.Unmount(mnt, 0))
}

// TestXFSDirtyLogFlow: a crashed xfs root is scanned without replaying its
// log (the image stays byte-identical); a writable mount replays it; with
// --allow-fsck, the log is replayed by a mount and xfs_repair checks it.
func TestXFSDirtyLogFlow(t *testing.T) {
	needRoot(t)
	u := "0d10e000-1111-4222-8333-444455556666"
	img := build(t, images.Layout{Table: images.DOS, SizeMiB: 330, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "xfs", UUID: u, From: rootTree(t, "X", "UUID="+u+" / xfs defaults 0 0\n")}}}})
	dirtyXFS(t, img.Path, img.Parts[0].Offset, img.Parts[0].Size)
	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	require.True(t, d.Volumes[0].FS.State.NeedsRecovery)

	before := hashFile(t, img.Path)
	dir := filepath.Join(t.TempDir(), "mnt")
	s, err := disk.Mount(context.Background(), d, dir, opts(t, false))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.Equal(t, before, hashFile(t, img.Path), "a read-only mount of a dirty xfs replays nothing")

	o := opts(t, true)
	o.AllowFsck = true
	s, err = disk.Mount(context.Background(), d, dir, o)
	require.NoError(t, err)
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	require.Len(t, s.Fscks, 1)
	require.Equal(t, "xfs_repair", s.Fscks[0].Command[0])
	require.Equal(t, 0, s.Fscks[0].ExitCode, s.Fscks[0].Output)
	require.True(t, s.Fscks[0].Clean)
	_, err = os.Stat(filepath.Join(dir, "etc/created-before-crash"))
	require.NoError(t, err, "the replayed log carried the last transactions")
	closed = true
	require.NoError(t, s.Close())

	d, err = disk.Probe(img.Path)
	require.NoError(t, err)
	require.True(t, d.Volumes[0].FS.State.Clean())
}

// TestBtrfsSubvolumeRoot: a root in the btrfs subvolume @ (Ubuntu, SUSE)
// is found and mounted with subvol=@.
func TestBtrfsSubvolumeRoot(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("btrfs"); err != nil {
		t.Skip("btrfs-progs is not installed")
	}
	img := build(t, images.Layout{Table: images.GPT, SizeMiB: 160, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "btrfs", Label: "root"}}}})
	l, err := disk.AttachLoop(img.Path, img.Parts[0].Offset, img.Parts[0].Size, false)
	require.NoError(t, err)
	mnt := t.TempDir()
	require.NoError(t, unix.Mount(l.Path, mnt, "btrfs", 0, ""))
	l.Release()
	out, err := exec.Command("btrfs", "subvolume", "create", filepath.Join(mnt, "@")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("cp", "-a", rootTree(t, "Ubuntu 24.04", "LABEL=root / btrfs subvol=@ 0 0\n")+"/.", filepath.Join(mnt, "@")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, unix.Unmount(mnt, 0))

	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "mnt")
	s, err := disk.Mount(context.Background(), d, dir, opts(t, false))
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, "@", s.Candidates[0].Subvol)
	data, err := os.ReadFile(filepath.Join(dir, "etc/os-release"))
	require.NoError(t, err)
	require.Contains(t, string(data), "Ubuntu 24.04")
}

// TestRefuseDiskInUse: a disk the helper has mounted itself is never
// mounted read-write a second time; a read-only look is allowed.
func TestRefuseDiskInUse(t *testing.T) {
	needRoot(t)
	u := "0e10e000-1111-4222-8333-444455556666"
	img := build(t, images.Layout{Table: images.DOS, SizeMiB: 30, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "ext4", UUID: u, From: rootTree(t, "E", "UUID="+u+" / ext4 defaults 0 1\n")}}}})
	l, err := disk.AttachLoop(img.Path, img.Parts[0].Offset, img.Parts[0].Size, false)
	require.NoError(t, err)
	host := t.TempDir()
	require.NoError(t, unix.Mount(l.Path, host, "ext4", 0, ""))
	l.Release()
	defer unix.Unmount(host, 0)

	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "mnt")
	_, err = disk.Mount(context.Background(), d, dir, opts(t, true))
	require.ErrorIs(t, err, disk.ErrInUse)
	require.Contains(t, err.Error(), host)
	s, err := disk.Mount(context.Background(), d, dir, opts(t, false))
	require.NoError(t, err)
	require.NoError(t, s.Close())
}

// TestRefuseSecondWritableSession: two read-write sessions on one disk
// would mount its filesystems twice.
func TestRefuseSecondWritableSession(t *testing.T) {
	needRoot(t)
	u := "0f10e000-1111-4222-8333-444455556666"
	img := build(t, images.Layout{Table: images.None, SizeMiB: 24, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "ext4", UUID: u, From: rootTree(t, "E", "UUID="+u+" / ext4 defaults 0 1\n")}}}})
	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	o := opts(t, true)
	s, err := disk.Mount(context.Background(), d, filepath.Join(t.TempDir(), "a"), o)
	require.NoError(t, err)
	defer s.Close()
	_, err = disk.Mount(context.Background(), d, filepath.Join(t.TempDir(), "b"), o)
	require.ErrorIs(t, err, disk.ErrInUse)
	o.Writable = false
	s2, err := disk.Mount(context.Background(), d, filepath.Join(t.TempDir(), "c"), o)
	require.NoError(t, err, "a read-only look beside it is allowed")
	require.NoError(t, s2.Close())
}

// TestXFSZeroLogNeedsSecondFlag: a dirty log that cannot be replayed (the
// replay mount fails, as it does on a corrupt log) is zeroed by
// xfs_repair -L only with AllowZeroLog as well as AllowFsck.
func TestXFSZeroLogNeedsSecondFlag(t *testing.T) {
	needRoot(t)
	u := "1d10e000-1111-4222-8333-444455556666"
	img := build(t, images.Layout{Table: images.None, SizeMiB: 310, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "xfs", UUID: u, From: rootTree(t, "X", "UUID="+u+" / xfs defaults 0 0\n")}}}})
	dirtyXFS(t, img.Path, 0, img.Size)
	old := *disk.ReplayMount
	*disk.ReplayMount = func(string, string, string, uintptr, string) error { return unix.EFSCORRUPTED }
	defer func() { *disk.ReplayMount = old }()

	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	require.True(t, d.Volumes[0].FS.State.NeedsRecovery)
	dir := filepath.Join(t.TempDir(), "mnt")
	o := opts(t, true)
	o.AllowFsck = true
	before := hashFile(t, img.Path)
	_, err = disk.Mount(context.Background(), d, dir, o)
	require.ErrorContains(t, err, "--allow-fsck-zero-log")
	require.Equal(t, before, hashFile(t, img.Path), "nothing was zeroed without the second flag")
	requireNothingMounted(t, dir)

	o.AllowZeroLog = true
	s, err := disk.Mount(context.Background(), d, dir, o)
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, []string{"xfs_repair", "-L"}, s.Fscks[0].Command[:2])
	require.True(t, s.Fscks[0].Clean)
}
