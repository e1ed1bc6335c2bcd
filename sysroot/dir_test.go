package sysroot

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestDirStaysInside(t *testing.T) {
	dir, secret := hostile(t)
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()

	// The directory itself is resolved inside the root, symlinks and all.
	d, err := r.OpenDir("/var/tmp/hostdir")
	if err == nil {
		names, _ := d.Entries()
		d.Close()
		for _, e := range names {
			assert.NotEqual(t, "secret", e.Name, "a symlink to a host directory must not open it")
		}
	}
	d, err = r.OpenDir("/up")
	require.NoError(t, err, "../.. from the root is the root")
	var st, rootSt unix.Stat_t
	require.NoError(t, d.Lstat(".", &st))
	require.NoError(t, unix.Stat(dir, &rootSt))
	assert.Equal(t, rootSt.Ino, st.Ino)
	d.Close()

	d, err = r.OpenDir("/")
	require.NoError(t, err)
	defer d.Close()
	// Entry names are single components: no path, no way up.
	for _, name := range []string{"..", "../secret", "etc/shadow", "", "/etc"} {
		assert.ErrorIs(t, d.Lstat(name, &st), errNotOneName, name)
		_, err := d.OpenFile(name)
		assert.ErrorIs(t, err, errNotOneName, name)
		_, err = d.Readlink(name, nil)
		assert.ErrorIs(t, err, errNotOneName, name)
		_, err = d.Xattr(name, "user.x", nil)
		assert.ErrorIs(t, err, errNotOneName, name)
	}

	etc, err := r.OpenDir("/etc")
	require.NoError(t, err)
	defer etc.Close()
	// A symlink is never followed by OpenFile, wherever it points.
	for _, name := range []string{"passwd", "escape", "abs-escape"} {
		_, err := etc.OpenFile(name)
		assert.ErrorIs(t, err, unix.ELOOP, name)
	}
	target, err := etc.Readlink("abs-escape", nil)
	require.NoError(t, err)
	assert.Equal(t, secret, target, "a link's target is read as stored")
	require.NoError(t, etc.Lstat("escape", &st))
	assert.Equal(t, uint32(unix.S_IFLNK), st.Mode&unix.S_IFMT)

	fd, err := etc.OpenFile("hostname")
	require.NoError(t, err)
	buf := make([]byte, 64)
	n, err := unix.Read(fd, buf)
	unix.Close(fd)
	require.NoError(t, err)
	assert.Equal(t, "target\n", string(buf[:n]))

	_, err = r.OpenDir("/etc/hostname")
	assert.ErrorIs(t, err, unix.ENOTDIR)
}

func TestDirEntriesGiveInodes(t *testing.T) {
	dir := t.TempDir()
	want := map[string]uint64{}
	for i := range 300 { // more than one getdents buffer of names
		name := filepath.Join(dir, "file-with-a-longish-name-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		require.NoError(t, os.WriteFile(name, nil, 0o644))
		var st unix.Stat_t
		require.NoError(t, unix.Stat(name, &st))
		want[filepath.Base(name)] = st.Ino
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()
	d, err := r.OpenDir("/")
	require.NoError(t, err)
	defer d.Close()
	entries, err := d.Entries()
	require.NoError(t, err)
	got := map[string]uint64{}
	for _, e := range entries {
		if e.Name == "sub" {
			assert.Equal(t, uint8(unix.DT_DIR), e.Type)
			continue
		}
		got[e.Name] = e.Ino
	}
	assert.Equal(t, want, got)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	assert.NotContains(t, names, ".")
	assert.NotContains(t, names, "..")
}

func TestPrefetch(t *testing.T) {
	dir, _ := hostile(t)
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "usr/lib/mod/a/b"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "usr/lib/mod/a/b/x.ko"), make([]byte, 300<<10), 0o644))
	require.NoError(t, os.Symlink("usr/lib", filepath.Join(dir, "lib")))
	require.NoError(t, mkfifo(filepath.Join(dir, "etc/fifo")))

	// Escaping links resolve inside the root (to nothing), a FIFO is not
	// opened (the prefetch would hang), a directory is listed, a tree is
	// walked once however many names lead to it.
	done := make(chan PrefetchStats)
	go func() {
		done <- r.Prefetch(context.Background(), []string{
			"/etc/hostname", "/etc/escape", "/etc/abs-escape", "/var/tmp/hostdir/secret", "/etc/fifo",
			"/etc/pass*", "/usr/bin", "/usr/lib/...", "/lib/...", "/nonexistent/*", "/nonexistent",
		}, 4).Wait()
	}()
	var st PrefetchStats
	select {
	case st = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("prefetch hangs")
	}
	// hostname, and passwd -> /etc/shadow (inside): two files of 22
	// bytes; the trees: usr/bin, then usr/lib with mod, a and b.
	assert.Equal(t, int64(2), st.Files)
	assert.Equal(t, int64(len("target\n")+len("root:*:1::::::\n")), st.Bytes)
	assert.Equal(t, int64(5), st.Dirs)

	// A large file is handed to read-ahead; Stop on a finished
	// prefetch is harmless, and a cancelled context stops it.
	st = r.Prefetch(context.Background(), []string{"/lib/mod/a/b/x.ko"}, 0).Wait()
	assert.Equal(t, PrefetchStats{Files: 1, Bytes: 300 << 10}, st)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Equal(t, PrefetchStats{}, r.Prefetch(ctx, []string{"/usr/lib/...", "/etc/hostname"}, 0).Stop())
}
