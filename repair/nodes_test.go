package repair

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestRestoreNodesRoundTrip applies and undoes what a package restore
// plans besides regular files: a hard link to a surviving sibling, a
// device node, a FIFO, a symlink and a directory with their owners, and
// extended attributes (a SELinux label, file capabilities) on each.
func TestRestoreNodesRoundTrip(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: mknod and chown")
	}
	dir := build(t, tree{
		"usr/bin/gzip": "#!/bin/sh\necho gzip\n",
		"usr/bin/zcat": "",
		"dev/":         "",
		"usr/lib/":     "",
	})
	require.NoError(t, os.Chmod(filepath.Join(dir, "usr/bin/gzip"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(dir, "usr/bin/zcat"), 0o755))
	before := snapshot(t, dir)
	r := open(t, dir)
	m := must(t)
	label := map[string][]byte{"security.selinux": []byte("system_u:object_r:lib_t:s0\x00")}
	link := m(Link(r, "/usr/bin/zcat", "/usr/bin/gzip"))
	null := m(Mknod(r, "/dev/null", os.ModeDevice|os.ModeCharDevice, 0o666, 1, 3, 0, 5))
	fifo := m(Mknod(r, "/dev/initctl", os.ModeNamedPipe, 0o600, 0, 0, 0, 0))
	sym := m(MakeSymlink(r, "/usr/lib/libfoo.so.1", "libfoo-1.2.so"))
	sym.Xattrs = label
	mk := m(Mkdir(r, "/usr/lib/foo", 0o750))
	mk.Owner = &Owner{UID: 2, GID: 5}
	mk.Xattrs = label
	fixes := []Fix{{Message: "restore", Ops: []Op{link, null, fifo, sym, mk}}}

	var diff bytes.Buffer
	require.NoError(t, WriteDiff(&diff, r, planOf(fixes...)))
	assert.Contains(t, diff.String(), "# hard link to /usr/bin/gzip")
	assert.Contains(t, diff.String(), "# new char node 1:3, mode 0666, owner 0:5")

	journal := t.TempDir()
	res, err := Apply(r, planOf(fixes...), Options{JournalDir: journal})
	require.NoError(t, err)
	require.Equal(t, 1, res.Applied())

	var a, b unix.Stat_t
	require.NoError(t, unix.Lstat(filepath.Join(dir, "usr/bin/zcat"), &a))
	require.NoError(t, unix.Lstat(filepath.Join(dir, "usr/bin/gzip"), &b))
	assert.Equal(t, b.Ino, a.Ino, "zcat is a hard link to gzip")
	require.NoError(t, unix.Lstat(filepath.Join(dir, "dev/null"), &a))
	assert.Equal(t, uint32(unix.S_IFCHR|0o666), a.Mode)
	assert.Equal(t, unix.Mkdev(1, 3), a.Rdev)
	assert.Equal(t, uint32(5), a.Gid)
	require.NoError(t, unix.Lstat(filepath.Join(dir, "dev/initctl"), &a))
	assert.Equal(t, uint32(unix.S_IFIFO|0o600), a.Mode)
	require.NoError(t, unix.Lstat(filepath.Join(dir, "usr/lib/foo"), &a))
	assert.Equal(t, uint32(unix.S_IFDIR|0o750), a.Mode)
	assert.Equal(t, [2]uint32{2, 5}, [2]uint32{a.Uid, a.Gid})
	for _, p := range []string{"usr/lib/libfoo.so.1", "usr/lib/foo"} {
		buf := make([]byte, 128)
		n, err := unix.Lgetxattr(filepath.Join(dir, p), "security.selinux", buf)
		if err == unix.ENOTSUP || err == unix.EOPNOTSUPP {
			continue // a filesystem without security xattrs
		}
		require.NoError(t, err, p)
		assert.Equal(t, label["security.selinux"], buf[:n], "%s carries its own label", p)
	}

	// A second plan finds everything in place: the states match.
	again := m(Link(r, "/usr/bin/zcat", "/usr/bin/gzip"))
	assert.Equal(t, again.Expect, *again.LinkState)

	_, err = Undo(r, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, before, snapshot(t, dir))
}

func TestMknodRefusesWhatExists(t *testing.T) {
	dir := build(t, tree{"dev/null": "not a device"})
	_, err := Mknod(open(t, dir), "/dev/null", os.ModeDevice|os.ModeCharDevice, 0o666, 1, 3, 0, 0)
	assert.ErrorContains(t, err, "exists")
}
