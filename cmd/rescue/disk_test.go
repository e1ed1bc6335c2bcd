package main

// End-to-end tests of rescue on real disk images built with images/: the
// CLI is run in-process (run()), exactly as the binary runs it. Each
// layout is probed (and compared with blkid -p), scanned (the image must
// stay byte-identical), repaired (only the planned files may change, apart
// from rescue's journal in /var/lib/rescue) and the repair undone (the
// filesystems are then as they were). These need root: loop devices and
// mounts.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"rescue/disk"
	"rescue/images"
	"rescue/report"
)

func needDiskRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: rescue mounts the image through loop devices")
	}
	// A private record directory: nothing here shares /run/rescue.
	t.Setenv("RESCUE_STATE_DIR", t.TempDir())
}

// cli runs rescue in-process and returns its exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func buildImage(t *testing.T, l images.Layout) *images.Image {
	t.Helper()
	img, err := images.Build(context.Background(), t.TempDir(), l)
	if errors.Is(err, images.ErrMissingTool) || errors.Is(err, images.ErrNeedRoot) {
		t.Skipf("cannot build the image here: %v", err)
	}
	require.NoError(t, err)
	return img
}

// systemTree writes a small but real-looking root: os-release, an fstab,
// an init, logs, a home, and directories with their usual modes.
func systemTree(t *testing.T, family, fstabText string) string {
	t.Helper()
	dir := t.TempDir()
	osRelease := "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"
	if family == "rhel" {
		osRelease = "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n"
	}
	files := map[string]string{
		"etc/os-release":        osRelease,
		"etc/fstab":             fstabText,
		"etc/hostname":          "target\n",
		"etc/passwd":            "root:x:0:0:root:/root:/bin/bash\n",
		"usr/sbin/init":         "#!/bin/sh\n",
		"var/log/messages":      strings.Repeat("log line\n", 200),
		"home/user/notes.txt":   "hello\n",
		"boot/efi/.keep":        "",
		"var/lib/dpkg/.keep":    "",
		"usr/lib/os-release":    osRelease,
		"usr/bin/true":          "#!/bin/sh\n",
		"usr/lib64/.keep":       "",
		"data/.keep":            "",
		"root/.bash_history":    "ls\n",
		"tmp/.keep":             "",
		"var/tmp/.keep":         "",
		"etc/ssh/sshd_config":   "PermitRootLogin no\n",
		"etc/default/.keep":     "",
		"boot/grub/grub.cfg":    "# grub\n",
		"boot/vmlinuz-6.1.0-21": "kernel",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "usr/sbin/init"), 0o755))
	// Debian 12 and CentOS 7 have merged /usr.
	for _, x := range []string{"bin", "sbin", "lib", "lib64"} {
		require.NoError(t, os.Symlink("usr/"+x, filepath.Join(dir, x)))
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "root"), 0o700))
	require.NoError(t, os.Chmod(filepath.Join(dir, "tmp"), 0o1777|fs.ModeSticky))
	require.NoError(t, os.Chmod(filepath.Join(dir, "var/tmp"), 0o1777|fs.ModeSticky))
	unix.Chmod(filepath.Join(dir, "tmp"), 0o1777)
	unix.Chmod(filepath.Join(dir, "var/tmp"), 0o1777)
	require.NoError(t, os.Chmod(dir, 0o755))
	return dir
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

// probeAgrees runs rescue probe --json and compares every filesystem it
// reports with blkid -p on the same byte range.
func probeAgrees(t *testing.T, img string) report.Probe {
	t.Helper()
	code, out, errOut := cli(t, "probe", img, "--json")
	require.Equal(t, 0, code, errOut)
	var res report.Probe
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	if _, err := exec.LookPath("blkid"); err != nil {
		t.Log("blkid is not installed: the probe is not compared with it")
		return res
	}
	compared := 0
	for _, v := range res.Disk.Volumes {
		if !v.Reachable() {
			continue
		}
		raw, _ := exec.Command("blkid", "-p", "-o", "export", "-O", strconv.FormatInt(v.Offset, 10), "-S", strconv.FormatInt(v.Size, 10), img).Output()
		ref := map[string]string{}
		for _, line := range strings.Split(string(raw), "\n") {
			if k, val, ok := strings.Cut(line, "="); ok {
				ref[k] = val
			}
		}
		if ref["TYPE"] == "" {
			require.Nil(t, v.FS, "%s: blkid sees nothing", v.Name)
			continue
		}
		require.NotNil(t, v.FS, "%s: blkid sees %v", v.Name, ref)
		require.Equal(t, ref["TYPE"], v.FS.Type, v.Name)
		require.Equal(t, ref["UUID"], v.FS.UUID, v.Name)
		require.Equal(t, ref["LABEL"], v.FS.Label, v.Name)
		compared++
	}
	require.Positive(t, compared)
	return res
}

// snapshot mounts the image read-only (as rescue does) and describes
// every path of the target (type, mode, owner, content hash), leaving out
// rescue's own journal.
func snapshot(t *testing.T, img, rootPartition string) map[string]string {
	t.Helper()
	d, err := disk.Probe(img)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "snap")
	s, err := disk.Mount(context.Background(), d, dir, disk.MountOptions{StateDir: t.TempDir(), Root: rootPartition})
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	snap := map[string]string{}
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		if rel == "/var/lib/rescue" {
			return fs.SkipDir
		}
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode().IsRegular():
			desc += " " + sha256File(t, p)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		snap[rel] = desc
		return nil
	})
	require.NoError(t, err)
	return snap
}

// changed lists the paths whose description differs. A directory the
// journal needed (/var/lib on a separate /var that had none) is rescue's,
// like /var/lib/rescue itself.
func changed(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok && !strings.HasPrefix("/var/lib/rescue", k+"/") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// planned returns the paths the dry-run plan of rescue fix --json changes.
func planned(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, errOut := cli(t, append([]string{"fix", "--json"}, args...)...)
	require.Contains(t, []int{0, 4}, code, errOut)
	var rep struct {
		Plan struct {
			Items []struct {
				Fix struct {
					Ops []struct {
						Path string `json:"path"`
					} `json:"ops"`
				} `json:"fix"`
			} `json:"items"`
		} `json:"plan"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	var paths []string
	for _, it := range rep.Plan.Items {
		for _, op := range it.Fix.Ops {
			paths = append(paths, op.Path)
		}
	}
	sort.Strings(paths)
	return slices.Compact(paths)
}

type scanReport struct {
	Target struct {
		Device, Partition, Filesystem, UUID string
	} `json:"target"`
	Findings []struct {
		ID, Location, Severity string
	} `json:"findings"`
}

// roundTrip is the common body of every layout: probe, scan (image
// unchanged), fix (only planned files change), undo (back to the start).
func roundTrip(t *testing.T, img *images.Image, rootPartition string, wantFindings []string, wantPlanned []string) scanReport {
	t.Helper()
	probeAgrees(t, img.Path)
	extra := []string{}
	if rootPartition != "" {
		extra = append(extra, "--root-partition", rootPartition)
	}

	before := sha256File(t, img.Path)
	code, out, errOut := cli(t, append([]string{"scan", img.Path, "--json"}, extra...)...)
	require.Equal(t, 4, code, "scan finds the fault: %s", errOut)
	require.Equal(t, before, sha256File(t, img.Path), "the scan leaves the image byte-identical")
	var rep scanReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Equal(t, img.Path, rep.Target.Device)
	var ids []string
	for _, f := range rep.Findings {
		ids = append(ids, f.ID)
		require.NotEmpty(t, f.Location, "finding %s names its device, partition and filesystem", f.ID)
	}
	for _, want := range wantFindings {
		require.Contains(t, ids, want)
	}

	// The dry run writes nothing either.
	paths := planned(t, append([]string{img.Path}, extra...)...)
	require.Equal(t, wantPlanned, paths)
	require.Equal(t, before, sha256File(t, img.Path), "the dry run leaves the image byte-identical")

	orig := snapshot(t, img.Path, rootPartition)
	code, out, errOut = cli(t, append([]string{"fix", img.Path, "--apply"}, extra...)...)
	require.Contains(t, []int{1, 4}, code, "fix --apply: %s\n%s", out, errOut)
	require.Contains(t, out, "Repair ")
	fixed := snapshot(t, img.Path, rootPartition)
	require.Equal(t, wantPlanned, changed(orig, fixed), "fix --apply changes exactly the planned files (the journal aside)\n%s\n%s", out, errOut)

	// A second apply has nothing to do.
	code, _, errOut = cli(t, append([]string{"fix", img.Path, "--apply"}, extra...)...)
	require.Contains(t, []int{0, 4}, code, errOut)
	require.Equal(t, fixed, snapshot(t, img.Path, rootPartition))

	code, out, errOut = cli(t, append([]string{"undo", img.Path}, extra...)...)
	require.Equal(t, 0, code, "undo: %s\n%s", out, errOut)
	require.Empty(t, changed(orig, snapshot(t, img.Path, rootPartition)), "undo puts every file back")
	return rep
}

func TestDiskGPTESPXFS(t *testing.T) {
	needDiskRoot(t)
	rootUUID := "6a1f0c2e-1d3b-4c5a-9e8f-0123456789ab"
	root := systemTree(t, "debian", "UUID="+rootUUID+" / xfs defaults 0 0\n"+
		"UUID=4E5F-6A7B /boot/efi vfat umask=0077 0 1\n"+
		"UUID=dead0000-0000-4000-8000-00000000beef /data ext4 defaults 0 2\n")
	esp := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(esp, "EFI/debian"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(esp, "EFI/debian/grub.cfg"), []byte("search.fs_uuid "+rootUUID+" root\nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n"), 0o644))
	img := buildImage(t, images.Layout{Table: images.GPT, SizeMiB: 400, Partitions: []images.Partition{
		{SizeMiB: 1, Type: images.BIOSBoot},
		{SizeMiB: 40, Type: images.ESP, Name: "EFI System Partition", FS: &images.Filesystem{Type: "vfat", UUID: "4E5F6A7B", From: esp}},
		{Type: images.Linux, Name: "root", FS: &images.Filesystem{Type: "xfs", UUID: rootUUID, From: root}},
	}})
	rep := roundTrip(t, img, "", []string{"fstab/source-unknown:/etc/fstab#/data"}, []string{"/etc/fstab"})
	require.Equal(t, img.Path+"3", rep.Target.Partition)
	require.Equal(t, "xfs", rep.Target.Filesystem)
	for _, f := range rep.Findings {
		if f.ID == "fstab/source-unknown:/etc/fstab#/data" {
			require.Equal(t, img.Path+"3 (partition 3, xfs UUID="+rootUUID+")", f.Location)
		}
	}
}

func TestDiskMBRLogical(t *testing.T) {
	needDiskRoot(t)
	rootUUID := "7b2f0c2e-1d3b-4c5a-9e8f-0123456789ab"
	bootUUID := "7b2f0c2e-1d3b-4c5a-9e8f-0000000b0075"
	// The fstab names / by a UUID that is not on the disk (a restored
	// snapshot): rescue still finds the root by content and points / at it.
	root := systemTree(t, "debian", "UUID=11111111-2222-4333-8444-555555555555 / ext4 errors=remount-ro 0 1\n"+
		"UUID="+bootUUID+" /boot ext4 defaults 0 2\n")
	boot := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(boot, "grub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(boot, "vmlinuz-6.1.0-21-amd64"), []byte("k"), 0o644))
	img := buildImage(t, images.Layout{Table: images.DOS, SizeMiB: 120, Partitions: []images.Partition{
		{SizeMiB: 20, Bootable: true, FS: &images.Filesystem{Type: "ext4", UUID: bootUUID, From: boot}},
		{Type: images.Extended},
		{SizeMiB: 8, Type: images.Swap, Logical: true, FS: &images.Filesystem{Type: "swap"}},
		{Logical: true, FS: &images.Filesystem{Type: "ext4", UUID: rootUUID, From: root}},
	}})
	rep := roundTrip(t, img, "", []string{"fstab/root-source-unknown:/etc/fstab#/"}, []string{"/etc/fstab"})
	require.Equal(t, img.Path+"6", rep.Target.Partition, "the root is the second logical partition")
}

func TestDiskLVMRoot(t *testing.T) {
	needDiskRoot(t)
	bootUUID := "8c3f0c2e-1d3b-4c5a-9e8f-0000000b0075"
	root := systemTree(t, "rhel", "/dev/mapper/centos-root / ext4 defaults 0 0\n"+
		"UUID="+bootUUID+" /boot ext4 defaults 0 0\n"+
		"/dev/centos/var /var ext4 defaults 0 0\n"+
		"/dev/mapper/centos-swap swap swap defaults 0 0\n"+
		"UUID=dead0000-0000-4000-8000-00000000beef /srv xfs defaults 0 0\n")
	boot := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(boot, "grub2"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(boot, "vmlinuz-3.10.0-1160.el7.x86_64"), []byte("k"), 0o644))
	varTree := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(varTree, "log"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(varTree, "log/messages"), []byte("from the var LV\n"), 0o644))
	img := buildImage(t, images.Layout{Table: images.DOS, SizeMiB: 140, Partitions: []images.Partition{
		{SizeMiB: 20, Bootable: true, FS: &images.Filesystem{Type: "ext4", UUID: bootUUID, From: boot}},
		{Type: images.LVM, FS: &images.Filesystem{Type: "lvm", VG: &images.VolumeGroup{Name: "centos", LVs: []images.LogicalVolume{
			{Name: "root", SizeMiB: 60, FS: &images.Filesystem{Type: "ext4", From: root}},
			{Name: "var", SizeMiB: 24, FS: &images.Filesystem{Type: "ext4", From: varTree}},
			{Name: "swap", FS: &images.Filesystem{Type: "swap"}},
		}}}},
	}})
	rep := roundTrip(t, img, "", []string{"fstab/source-unknown:/etc/fstab#/srv"}, []string{"/etc/fstab"})
	require.Equal(t, "/dev/mapper/centos-root", rep.Target.Partition)

	// rescue mount shows /boot mounted from the fstab, and umount undoes it.
	dir := filepath.Join(t.TempDir(), "mnt")
	code, out, errOut := cli(t, "mount", img.Path, dir)
	require.Equal(t, 0, code, errOut)
	t.Cleanup(func() { disk.Unmount(os.Getenv("RESCUE_STATE_DIR"), dir, nil) })
	require.Contains(t, out, filepath.Join(dir, "boot"))
	_, err := os.Stat(filepath.Join(dir, "boot/vmlinuz-3.10.0-1160.el7.x86_64"))
	require.NoError(t, err)
	require.Regexp(t, regexp.QuoteMeta(filepath.Join(dir, "var"))+` +/dev/mapper/centos-var +ext4 +\(fstab line 3\)`, out)
	data, err := os.ReadFile(filepath.Join(dir, "var/log/messages"))
	require.NoError(t, err)
	require.Equal(t, "from the var LV\n", string(data), "/var is the target's own LV, mounted as its fstab says")
	code, _, errOut = cli(t, "umount", dir)
	require.Equal(t, 0, code, errOut)
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	require.NotContains(t, string(mi), dir)
}

func TestDiskWholeDiskExt4(t *testing.T) {
	needDiskRoot(t)
	root := systemTree(t, "debian", "LABEL=cloudimg-rootfs / ext4 defaults 0 1\n"+
		"/dev/vdc1 /var/lib/docker ext4 defaults 0 2\n"+
		"UUID=dead0000-0000-4000-8000-00000000beef /data ext4 defaults 0 2\n")
	img := buildImage(t, images.Layout{Table: images.None, SizeMiB: 40, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "ext4", Label: "cloudimg-rootfs", From: root}}}})
	rep := roundTrip(t, img, "", []string{"fstab/source-unknown:/etc/fstab#/data"}, []string{"/etc/fstab"})
	require.Equal(t, img.Path, rep.Target.Partition)
}

func TestDiskDuplicateUUIDClone(t *testing.T) {
	needDiskRoot(t)
	rootUUID := "9d4f0c2e-1d3b-4c5a-9e8f-0123456789ab"
	root := systemTree(t, "rhel", "UUID="+rootUUID+" / xfs defaults 0 0\n"+
		"UUID=dead0000-0000-4000-8000-00000000beef /data xfs defaults 0 0\n")
	orig := buildImage(t, images.Layout{Table: images.DOS, SizeMiB: 330, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "xfs", UUID: rootUUID, From: root}}}})
	clone := &images.Image{Path: filepath.Join(t.TempDir(), "clone.img"), Size: orig.Size, Table: orig.Table, Parts: orig.Parts}
	out, err := exec.Command("cp", "--sparse=always", orig.Path, clone.Path).CombinedOutput()
	require.NoError(t, err, "%s", out)

	// The helper's own system disk, mounted: the original.
	l, err := disk.AttachLoop(orig.Path, orig.Parts[0].Offset, orig.Parts[0].Size, true)
	require.NoError(t, err)
	host := t.TempDir()
	require.NoError(t, unix.Mount(l.Path, host, "xfs", unix.MS_RDONLY, "norecovery"))
	l.Release()
	t.Cleanup(func() { unix.Unmount(host, 0) })

	rep := roundTrip(t, clone, "", []string{"fstab/source-unknown:/etc/fstab#/data", "fsstate/duplicate-uuid:/"}, []string{"/etc/fstab"})
	require.Equal(t, rootUUID, rep.Target.UUID)
	code, text, _ := cli(t, "probe", clone.Path)
	require.Equal(t, 0, code)
	require.Contains(t, text, "same UUID as the helper's")
}

// TestDiskFsck: a root with errors recorded is reported; fix --apply
// refuses to write to it until --allow-fsck, which runs e2fsck -p first.
func TestDiskFsck(t *testing.T) {
	needDiskRoot(t)
	if _, err := exec.LookPath("debugfs"); err != nil {
		t.Skip("debugfs is not installed")
	}
	u := "ad4f0c2e-1d3b-4c5a-9e8f-0123456789ab"
	root := systemTree(t, "debian", "UUID="+u+" / ext4 defaults 0 1\nUUID=dead0000-0000-4000-8000-00000000beef /data ext4 defaults 0 2\n")
	img := buildImage(t, images.Layout{Table: images.DOS, SizeMiB: 40, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "ext4", UUID: u, From: root}}}})
	out, err := exec.Command("debugfs", "-w", "-R", "ssv state 2", img.Path+"?offset="+strconv.FormatInt(img.Parts[0].Offset, 10)).CombinedOutput()
	require.NoError(t, err, "%s", out)

	before := sha256File(t, img.Path)
	code, text, errOut := cli(t, "scan", img.Path)
	require.Equal(t, 4, code, errOut)
	require.Contains(t, text, "fsstate/errors:/")
	require.Contains(t, text, "--allow-fsck")
	require.Equal(t, before, sha256File(t, img.Path))

	code, _, errOut = cli(t, "fix", img.Path, "--apply")
	require.Equal(t, 8, code)
	require.Contains(t, errOut, "--allow-fsck")
	require.Equal(t, before, sha256File(t, img.Path), "nothing was written without --allow-fsck")

	code, text, errOut = cli(t, "fix", img.Path, "--apply", "--allow-fsck")
	require.Contains(t, []int{1, 4}, code, "%s\n%s", text, errOut)
	require.Contains(t, errOut, "e2fsck")
	code, text, _ = cli(t, "scan", img.Path)
	require.NotContains(t, text, "fsstate/errors")
	require.NotContains(t, text, "fstab/source-unknown:", "the fstab fix was applied after the check")
}

// TestDiskUsage checks the usage errors and texts of the disk commands.
func TestDiskUsage(t *testing.T) {
	t.Setenv("RESCUE_STATE_DIR", t.TempDir())
	code, _, errOut := cli(t, "mount", t.TempDir())
	require.Equal(t, 16, code)
	require.Contains(t, errOut, "is a directory")
	code, _, errOut = cli(t, "mount", "/dev/null", "--allow-fsck")
	require.Equal(t, 16, code)
	require.Contains(t, errOut, "--allow-fsck needs --rw")
	code, _, errOut = cli(t, "umount", "/nonexistent/dir")
	require.Equal(t, 8, code)
	require.Contains(t, errOut, "rescue mounted nothing at")
	code, _, _ = cli(t, "probe")
	require.Equal(t, 16, code)
	code, out, _ := cli(t, "probe", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "rescue probe /dev/vdb")

	// A truncated, garbled image: a clear message, no panic.
	p := filepath.Join(t.TempDir(), "garbage.img")
	require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte("garbage!"), 100), 0o644))
	code, out, errOut = cli(t, "probe", p)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "no partition table")
}
