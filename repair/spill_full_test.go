package repair

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"rescue/disk"
	"rescue/images"
	"rescue/sysroot"
)

// ext4On makes an ext4 filesystem of sizeMiB with mkfs (4 KiB blocks, as
// the images have), mounts it read-write through a loop device and returns
// its mount point.
func ext4On(t *testing.T, sizeMiB int) string {
	t.Helper()
	requireRoot(t)
	img := filepath.Join(t.TempDir(), "fs.img")
	require.NoError(t, os.WriteFile(img, nil, 0o600))
	require.NoError(t, os.Truncate(img, int64(sizeMiB)<<20))
	out, err := exec.Command("mkfs.ext4", "-q", "-F", "-b", "4096", img).CombinedOutput()
	require.NoError(t, err, "%s", out)
	l, err := disk.AttachLoop(img, 0, 0, false)
	require.NoError(t, err)
	mnt := t.TempDir()
	if err := unix.Mount(l.Path, mnt, "ext4", 0, ""); err != nil {
		l.Detach()
		t.Fatal(err)
	}
	l.Release() // the mount holds the loop device; unmounting frees it
	t.Cleanup(func() { unix.Unmount(mnt, 0) })
	return mnt
}

// spillFiles are what the full filesystem's spill moves, of distinct
// sizes so that the order undo restores them in is known.
var spillFiles = []struct {
	path string
	size int64
}{
	{"/var/log/app.log.1", 64 << 20},
	{"/var/log/app.log.2.gz", 24 << 20},
	{"/var/cache/apt/archives/big_1.0_amd64.deb", 40 << 20},
	{"/var/lib/systemd/coredump/core.app.1000.zst", 16 << 20},
}

// allocFile makes p as the e2e row's fault does: a MiB of content that
// differs from file to file, and the rest allocated (fallocate).
func allocFile(t *testing.T, p string, seed byte, size int64) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	require.NoError(t, err)
	head := make([]byte, 0, 1<<20)
	for b := sha256.Sum256([]byte{seed}); len(head) < 1<<20; b = sha256.Sum256(b[:]) {
		head = append(head, b[:]...)
	}
	_, err = f.Write(head)
	require.NoError(t, err)
	require.NoError(t, unix.Fallocate(int(f.Fd()), 0, 0, size))
	require.NoError(t, f.Close())
}

// fillToLastBlock fills the filesystem of p to its last block with the
// new file p (the e2e row's fill).
func fillToLastBlock(t *testing.T, p string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, images.FillToLastBlock(f))
}

// hashTree records what undo must give back of every file under dir:
// content (sha256), mode, owner, mtime and extended attributes; of a
// directory its mode and owner (its mtime changes with every name added
// or removed, which no undo claims to keep).
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, p)
		var st unix.Stat_t
		require.NoError(t, unix.Lstat(p, &st))
		desc := fmt.Sprintf("%o %d:%d", st.Mode, st.Uid, st.Gid)
		if !d.IsDir() {
			f, err := os.Open(p)
			require.NoError(t, err)
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			require.NoError(t, err)
			x := make([]byte, 256)
			n, _ := unix.Lgetxattr(p, "user.rescue-test", x)
			desc += fmt.Sprintf(" %s @%d xattr %q", hex.EncodeToString(h.Sum(nil)), st.Mtim.Nano(), x[:max(n, 0)])
		}
		out[rel] = desc
		return nil
	}))
	return out
}

func dirSize(t *testing.T, p string) int64 {
	t.Helper()
	var st unix.Stat_t
	require.NoError(t, unix.Stat(p, &st))
	return st.Size
}

func available(t *testing.T, p string) (free, avail int64) {
	t.Helper()
	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(p, &st))
	return int64(st.Bfree) * st.Bsize, int64(st.Bavail) * st.Bsize
}

// fullAndSpilled makes an ext4 filesystem with the spillable files, a
// /var/log whose single directory block is exactly full, and the rest of
// the blocks allocated to data that stays; records it; and spills the
// files into a journal on the helper, which it returns with the record.
func fullAndSpilled(t *testing.T) (mnt, journal string, root *sysroot.Root, before map[string]string) {
	t.Helper()
	mnt = ext4On(t, 256)
	for i, f := range spillFiles {
		allocFile(t, filepath.Join(mnt, f.path), byte(i), f.size)
	}
	log1 := filepath.Join(mnt, "var/log/app.log.1")
	require.NoError(t, os.Lchown(log1, 0, 4))
	require.NoError(t, unix.Lsetxattr(log1, "user.rescue-test", []byte("kept"), 0))
	// 4096 bytes less the checksum tail (12), "." and ".." (12 each) hold
	// 203 entries of 20 bytes (names of 9 to 12 characters): the two logs
	// and 201 more. A name longer than the one a spill freed (a temporary
	// name) then needs a second block.
	for k := range 201 {
		require.NoError(t, os.WriteFile(filepath.Join(mnt, fmt.Sprintf("var/log/x%08d", k)), nil, 0o644))
	}
	require.EqualValues(t, 4096, dirSize(t, filepath.Join(mnt, "var/log")))
	// Something of the operator's own that the test deletes to make room.
	allocFile(t, filepath.Join(mnt, "srv/data/old.tar"), 8, 2<<20)
	fillToLastBlock(t, filepath.Join(mnt, "srv/data/fill.bin"))
	_, avail := available(t, mnt)
	require.Zero(t, avail, "the filesystem is full to its last block")
	before = hashTree(t, mnt)

	root = open(t, mnt)
	var ops []Op
	for _, f := range spillFiles {
		ops = append(ops, must(t)(Spill(root, f.path)))
	}
	journal = t.TempDir()
	res, err := Apply(root, planOf(Fix{Message: "spill", Ops: ops}), Options{JournalDir: journal})
	require.NoError(t, err)
	require.Equal(t, OutcomeApplied, res.Items[0].Status)
	for _, f := range spillFiles {
		assert.NoFileExists(t, filepath.Join(mnt, f.path))
	}
	return mnt, journal, root, before
}

// TestUndoSpillOnFilesystemFullToTheLastBlock spills files off an ext4
// filesystem full to its last block and undoes the spill: undo must fit
// every file back into exactly the room the spill freed. Restoring through
// a temporary file written page by page (the old way) failed here with
// ENOSPC on the last file, as in the e2e row: it needed a block more than
// there was, and the temporary name one more directory block.
func TestUndoSpillOnFilesystemFullToTheLastBlock(t *testing.T) {
	mnt, journal, root, before := fullAndSpilled(t)
	res, err := Undo(root, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	for _, p := range res.Paths {
		assert.Equal(t, "restored", p.Action, p.Path)
	}
	assert.Equal(t, before, hashTree(t, mnt))
	assert.EqualValues(t, 4096, dirSize(t, filepath.Join(mnt, "var/log")), "undo added no directory block")
	assertNoTemps(t, mnt)
}

// TestUndoSpillShortOfRoom: the repaired machine wrote 8 MiB after the
// spill (as a booted Debian 12 writes its journal), so the room is short of what the spill freed. Undo
// puts back the largest files that fit, leaves the rest whole in the
// journal and names them (exit 8), leaves no part of them on the target,
// and puts them back when run again once there is room.
func TestUndoSpillShortOfRoom(t *testing.T) {
	mnt, journal, root, before := fullAndSpilled(t)
	written := filepath.Join(mnt, "srv/data/written-since")
	allocFile(t, written, 9, 8<<20)

	res, err := Undo(root, UndoOptions{JournalDir: journal})
	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), "1 path(s) could not be restored")
	assert.Contains(t, err.Error(), "/var/lib/systemd/coredump/core.app.1000.zst: no room to put")
	assert.Contains(t, err.Error(), "it stays in the journal, "+journal)
	got := map[string]string{}
	for _, p := range res.Paths {
		got[p.Path] = p.Action
	}
	assert.Equal(t, map[string]string{
		"/var/log/app.log.1": "restored", "/var/cache/apt/archives/big_1.0_amd64.deb": "restored", "/var/log/app.log.2.gz": "restored",
		"/var/lib/systemd/coredump/core.app.1000.zst": "failed",
	}, got)
	assert.NoFileExists(t, filepath.Join(mnt, "var/lib/systemd/coredump/core.app.1000.zst"), "no half-written file")
	assertNoTemps(t, mnt)
	now := hashTree(t, mnt)
	for _, f := range spillFiles[:3] {
		rel := f.path[1:]
		assert.Equal(t, before[rel], now[rel], rel)
	}

	// The operator makes room: what the machine wrote, and a little
	// more, as the file now gets its blocks from the pieces the others
	// left and may need a block for its extent tree that its first home
	// did not. Undo again restores the rest.
	require.NoError(t, os.Remove(written))
	require.NoError(t, os.Remove(filepath.Join(mnt, "srv/data/old.tar")))
	delete(before, "srv/data/old.tar")
	_, err = Undo(root, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, before, hashTree(t, mnt))
	hist, err := History(root, journal)
	require.NoError(t, err)
	assert.Equal(t, StatusUndone, hist[0].Status)
}
