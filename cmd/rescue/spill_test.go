package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"rescue/images"
)

// fileRecord is what undo must give back of a file, bit for bit.
type fileRecord struct {
	Type   string
	SHA256 string
	Mode   uint32
	UID    uint32
	GID    uint32
	Mtime  int64
	Xattrs map[string]string
}

// fileSnapshot records every regular file and symlink under dir (directories
// by mode and owner only: unlinking and linking a file changes its
// directory's mtime, which no undo claims to keep).
func fileSnapshot(t *testing.T, dir string) map[string]fileRecord {
	t.Helper()
	out := map[string]fileRecord{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, p)
		if rel == "lost+found" {
			return filepath.SkipDir
		}
		var st unix.Stat_t
		require.NoError(t, unix.Lstat(p, &st))
		r := fileRecord{Mode: st.Mode, UID: st.Uid, GID: st.Gid, Xattrs: map[string]string{}}
		switch {
		case d.IsDir():
			r.Type = "dir"
		case d.Type()&fs.ModeSymlink != 0:
			r.Type = "symlink"
			target, _ := os.Readlink(p)
			r.SHA256 = target
		default:
			r.Type = "file"
			r.Mtime = st.Mtim.Nano()
			f, err := os.Open(p)
			require.NoError(t, err)
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			require.NoError(t, err)
			r.SHA256 = hex.EncodeToString(h.Sum(nil))
			buf := make([]byte, 4096)
			n, _ := unix.Llistxattr(p, buf)
			for _, name := range strings.Split(strings.TrimRight(string(buf[:max(n, 0)]), "\x00"), "\x00") {
				if name == "" {
					continue
				}
				v := make([]byte, 4096)
				m, err := unix.Lgetxattr(p, name, v)
				require.NoError(t, err)
				r.Xattrs[name] = string(v[:m])
			}
		}
		out[rel] = r
		return nil
	}))
	return out
}

// mountImage mounts a whole-disk image (read-write when rw) and returns
// the mount point and a function that unmounts it and frees the loop.
func mountImage(t *testing.T, img string, rw bool) (string, func()) {
	t.Helper()
	loop, err := exec.Command("losetup", "-f", "--show", img).Output()
	require.NoError(t, err)
	dev := strings.TrimSpace(string(loop))
	mnt := t.TempDir()
	flags, data := uintptr(0), ""
	if !rw {
		flags, data = unix.MS_RDONLY, "noload"
	}
	if err := unix.Mount(dev, mnt, "ext4", flags, data); err != nil {
		exec.Command("losetup", "-d", dev).Run()
		t.Fatal(err)
	}
	return mnt, func() {
		require.NoError(t, unix.Unmount(mnt, 0))
		exec.Command("losetup", "-d", dev).Run()
	}
}

// TestDiskSpill makes a real ext4 filesystem with mkfs, fills it, and
// checks that fix --spill moves exactly the rotated logs, archived journal
// files, package caches and core dumps to the helper, that the disk gets
// the room back (fsstate no longer reports it full), and that undo puts
// every file back with its content, mode, owner, mtime and xattrs.
func TestDiskSpill(t *testing.T) {
	needDiskRoot(t)
	root := systemTree(t, "debian", "LABEL=root / ext4 defaults 0 1\n")
	img := buildImage(t, images.Layout{Table: images.None, SizeMiB: 64, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "ext4", Label: "root", From: root}}}})

	// What the spill may move, with odd metadata, and what it must not.
	spilled := map[string]int{
		"var/log/syslog.1":                                    6 << 20,
		"var/log/apt/history.log.2.gz":                        1 << 20,
		"var/log/messages-20261120":                           1 << 20,
		"var/log/journal/0123abcd/system@00061a-0001.journal": 6 << 20,
		"var/log/journal/0123abcd/user-1000@0002.journal~":    1 << 20,
		"var/cache/apt/archives/bigpkg_1.0_amd64.deb":         4 << 20,
		"var/cache/dnf/baseos-1234/packages/x.rpm":            1 << 20,
		"var/lib/systemd/coredump/core.app.1000.zst":          2 << 20,
		"var/crash/_usr_bin_app.1000.crash":                   2 << 20,
	}
	kept := map[string]int{
		"var/log/syslog": 1 << 20,
		"var/log/journal/0123abcd/system.journal":    1 << 20,
		"var/log/journal/0123abcd/user-1000.journal": 64 << 10,
		"var/cache/apt/archives/partial/half.deb":    64 << 10,
		"var/cache/apt/pkgcache.bin":                 64 << 10,
		"home/user/video.mp4":                        2 << 20,
		"var/lib/mysql/ibdata1":                      1 << 20,
	}
	mnt, umount := mountImage(t, img.Path, true)
	put := func(rel string, size int) {
		p := filepath.Join(mnt, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		f, err := os.Create(p)
		require.NoError(t, err)
		_, err = io.CopyN(f, rand.Reader, int64(size))
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	for rel, size := range spilled {
		put(rel, size)
	}
	for rel, size := range kept {
		put(rel, size)
	}
	syslog1 := filepath.Join(mnt, "var/log/syslog.1")
	require.NoError(t, os.Chmod(syslog1, 0o640))
	require.NoError(t, os.Lchown(syslog1, 0, 4)) // root:adm, as rsyslog leaves it
	require.NoError(t, unix.Lsetxattr(syslog1, "user.rescue-test", []byte("kept"), 0))
	journal := filepath.Join(mnt, "var/log/journal/0123abcd/system@00061a-0001.journal")
	require.NoError(t, os.Chmod(journal, 0o640))
	require.NoError(t, os.Lchown(journal, 0, 101))
	old := time.Date(2026, 11, 20, 6, 25, 1, 123456789, time.UTC)
	require.NoError(t, os.Chtimes(syslog1, old, old))
	require.NoError(t, os.Chtimes(journal, old, old))
	// A hard-linked rotated log frees nothing: left alone.
	require.NoError(t, os.Link(filepath.Join(mnt, "var/log/messages-20261120"), filepath.Join(mnt, "var/log/messages-linked")))
	delete(spilled, "var/log/messages-20261120")
	kept["var/log/messages-20261120"] = 1 << 20
	// Fill the rest (the reserved blocks too: root writes them).
	filler, err := os.Create(filepath.Join(mnt, "home/user/filler"))
	require.NoError(t, err)
	_, err = io.Copy(filler, io.LimitReader(zeroReader{}, 1<<30))
	require.True(t, errors.Is(err, syscall.ENOSPC), "filling: %v", err)
	filler.Close()
	before := fileSnapshot(t, mnt)
	var sfs unix.Statfs_t
	require.NoError(t, unix.Statfs(mnt, &sfs))
	availBefore := int64(sfs.Bavail) * sfs.Bsize
	umount()

	code, out, errOut := cli(t, "scan", img.Path, "--checks", "fsstate")
	require.Contains(t, out, "fsstate/full:/", "%d %s", code, errOut)

	// --spill keeps the journal in its directory: another --journal-dir
	// is refused.
	spill := filepath.Join(t.TempDir(), "spill")
	code, _, errOut = cli(t, "fix", img.Path, "--apply", "--only", "fsstate", "--spill", spill, "--journal-dir", t.TempDir())
	require.Equal(t, 16, code, errOut)

	// The dry run shows the moves and changes nothing.
	code, out, errOut = cli(t, "fix", img.Path, "--only", "fsstate", "--spill", spill)
	require.Contains(t, out, "# spill: move 8 files", "%d %s", code, errOut)
	require.Contains(t, out, "# spilled: moved to the journal on the helper")
	require.NotContains(t, out, "var/log/syslog\n")

	code, out, errOut = cli(t, "fix", img.Path, "--apply", "--only", "fsstate", "--spill", spill)
	t.Logf("fix --apply --spill: exit %d\n%s%s", code, out, errOut)
	require.Contains(t, out, "applied", errOut)
	require.NotEqual(t, 8, code, errOut) // 4: the tree has other findings, left alone by --only
	require.NotContains(t, out, "fsstate/full:/", "the scan after the repair measures the room again")
	var spilledBytes int64
	for _, size := range spilled {
		spilledBytes += int64(size)
	}

	mnt, umount = mountImage(t, img.Path, false)
	for rel := range spilled {
		_, err := os.Lstat(filepath.Join(mnt, rel))
		require.True(t, errors.Is(err, fs.ErrNotExist), "%s is still there", rel)
	}
	for rel := range kept {
		require.FileExists(t, filepath.Join(mnt, rel))
	}
	require.NoError(t, unix.Statfs(mnt, &sfs))
	availAfter := int64(sfs.Bavail) * sfs.Bsize
	freeAfter := int64(sfs.Bfree) * sfs.Bsize
	t.Logf("spilled %d bytes; available before %d, after %d (free after %d)", spilledBytes, availBefore, availAfter, freeAfter)
	require.GreaterOrEqual(t, freeAfter, spilledBytes)
	umount()

	code, out, errOut = cli(t, "scan", img.Path, "--checks", "fsstate")
	require.NotContains(t, out, "fsstate/full:/", "%d %s", code, errOut)
	var journals []string
	filepath.WalkDir(spill, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "journal.json" {
			journals = append(journals, p)
		}
		return nil
	})
	require.Len(t, journals, 1, "the journal is in the spill directory")

	code, out, errOut = cli(t, "undo", img.Path, "--journal-dir", spill)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	mnt, umount = mountImage(t, img.Path, false)
	after := fileSnapshot(t, mnt)
	umount()
	var diffs []string
	for rel, b := range before {
		a, ok := after[rel]
		switch {
		case !ok:
			diffs = append(diffs, rel+": missing after undo")
		case b.Type == "dir":
			if a.Type != "dir" || a.Mode != b.Mode || a.UID != b.UID || a.GID != b.GID {
				diffs = append(diffs, fmt.Sprintf("%s: %+v, was %+v", rel, a, b))
			}
		case fmt.Sprint(a) != fmt.Sprint(b):
			diffs = append(diffs, fmt.Sprintf("%s: %+v, was %+v", rel, a, b))
		}
	}
	for rel := range after {
		if _, ok := before[rel]; !ok {
			diffs = append(diffs, rel+": new after undo")
		}
	}
	sort.Strings(diffs)
	require.Empty(t, diffs)
	require.Equal(t, "kept", before["var/log/syslog.1"].Xattrs["user.rescue-test"], "the test must set what undo must keep")
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
