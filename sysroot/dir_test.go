package sysroot

import (
	"context"
	"fmt"
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

	// The files are made cold, as on a disk just attached: a file wholly
	// in the page cache is not read again.
	for _, p := range []string{"etc/hostname", "etc/shadow", "usr/lib/mod/a/b/x.ko"} {
		evict(t, filepath.Join(dir, p))
	}

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
	evict(t, filepath.Join(dir, "usr/lib/mod/a/b/x.ko"))
	st = r.Prefetch(context.Background(), []string{"/lib/mod/a/b/x.ko"}, 0).Wait()
	assert.Equal(t, PrefetchStats{Files: 1, Bytes: 300 << 10}, st)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Equal(t, PrefetchStats{}, r.Prefetch(ctx, []string{"/usr/lib/...", "/etc/hostname"}, 0).Stop())
}

// evict empties the page cache of a file, or skips the test where that
// cannot be done (a TMPDIR on tmpfs).
func evict(t *testing.T, p string) {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Sync())
	fi, err := f.Stat()
	require.NoError(t, err)
	require.NoError(t, unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED))
	if cached, _, ok := Cached(int(f.Fd()), fi.Size()); ok && cached > 0 {
		t.Skipf("the page cache of %s cannot be emptied (a TMPDIR on tmpfs?)", p)
	}
}

// A prefetch whose files were all found in the page cache calls the disk
// warm and leaves trees to the checks that walk them (on a warm disk its
// walk would only repeat theirs); one that met a cold file walks them.
func TestPrefetchLeavesTreesOnAWarmDisk(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range warmSample {
		name := fmt.Sprintf("etc/f%02d", i)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o644))
		files = append(files, "/"+name)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "usr/lib/a/b"), 0o755))
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()
	f, err := os.Open(filepath.Join(dir, "etc/f00"))
	require.NoError(t, err)
	_, _, ok := Cached(int(f.Fd()), 2)
	f.Close()
	if !ok {
		t.Skip("the kernel has no cachestat(2) (Linux 6.5): every disk is taken as cold")
	}

	// Just written, so in the cache: warm. The tree comes first in the
	// list and the readers are many: trees still wait for the files.
	st := r.Prefetch(context.Background(), append([]string{"/usr/lib/..."}, files...), 0).Wait()
	assert.Equal(t, PrefetchStats{Files: warmSample, Cached: warmSample, SkippedTrees: 1}, st)

	// One file in ten out of the cache is still warm (a first scan
	// stopped its prefetch early); two is cold, and the tree is walked.
	evict(t, filepath.Join(dir, "etc/f03"))
	st = r.Prefetch(context.Background(), append([]string{"/usr/lib/..."}, files...), 0).Wait()
	assert.Equal(t, int64(1), st.SkippedTrees)
	evict(t, filepath.Join(dir, "etc/f03"))
	evict(t, filepath.Join(dir, "etc/f07"))
	st = r.Prefetch(context.Background(), append([]string{"/usr/lib/..."}, files...), 0).Wait()
	assert.Equal(t, int64(warmSample-2), st.Cached)
	assert.Equal(t, int64(0), st.SkippedTrees)
	assert.Equal(t, int64(3), st.Dirs, "usr/lib, a and b")
}

// OpenParent and MkdirAll, the writer's way in, resolve inside the root:
// the directory part follows links as if the root were "/", the last
// element is never followed, and nothing is made outside.
func TestParentAndMkdirAllStayInside(t *testing.T) {
	dir, secret := hostile(t)
	host := filepath.Dir(secret)
	before, err := os.ReadDir(host)
	require.NoError(t, err)
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()

	// The last element is the link itself, not what it points to.
	d, base, err := r.OpenParent("/etc/abs-escape")
	require.NoError(t, err)
	assert.Equal(t, "abs-escape", base)
	var st unix.Stat_t
	require.NoError(t, d.Lstat(base, &st))
	assert.Equal(t, uint32(unix.S_IFLNK), st.Mode&unix.S_IFMT)
	_, err = d.Create(base, 0o600)
	assert.ErrorIs(t, err, unix.EEXIST, "a new file is never written through a link")
	d.Close()

	// The directory part is followed inside the root: /var/tmp/hostdir
	// (a link to the host's directory) leads to the root's own copy of
	// that path, which does not exist.
	_, _, err = r.OpenParent("/var/tmp/hostdir/new")
	assert.ErrorIs(t, err, unix.ENOENT)
	d, base, err = r.OpenParent("/up/up/etc/hostname")
	require.NoError(t, err, "../.. from the root is the root")
	fd, err := d.OpenFile(base)
	require.NoError(t, err)
	unix.Close(fd)
	d.Close()

	// "/" is the root itself.
	d, base, err = r.OpenParent("/")
	require.NoError(t, err)
	assert.Equal(t, ".", base)
	fd, err = d.OpenNode(base)
	require.NoError(t, err)
	var rootSt unix.Stat_t
	require.NoError(t, unix.Fstat(fd, &st))
	require.NoError(t, unix.Stat(dir, &rootSt))
	assert.Equal(t, rootSt.Ino, st.Ino)
	unix.Close(fd)
	d.Close()

	// MkdirAll through links to the host and out of the root makes its
	// directories inside the root.
	assert.ErrorIs(t, r.MkdirAll("/var/tmp/hostdir/a/b", 0o755), unix.ENOENT,
		"the link leads to the root's copy of the host path, which is not there")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, host), 0o755))
	require.NoError(t, r.MkdirAll("/var/tmp/hostdir/a/b", 0o755))
	assert.DirExists(t, filepath.Join(dir, host, "a/b"))
	require.NoError(t, r.MkdirAll("/up/made", 0o755))
	assert.DirExists(t, filepath.Join(dir, "made"))
	require.NoError(t, r.MkdirAll("/etc", 0o755), "an existing directory is no error")
	assert.ErrorIs(t, r.MkdirAll("/etc/hostname/x", 0o755), unix.ENOTDIR)
	assert.Error(t, r.MkdirAll("/etc/dangling/x", 0o755), "a dangling link is not made a directory")
	assert.NoDirExists(t, "/nonexistent")

	after, err := os.ReadDir(host)
	require.NoError(t, err)
	assert.Equal(t, len(before), len(after), "nothing was made in the helper's directory")
}

// Sub reaches its directory through the root's resolution and confines
// what is below it to it: the journal inside a target is opened this way.
func TestSubStaysInside(t *testing.T) {
	dir, _ := hostile(t)
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()

	_, err = r.Sub("/var/tmp/hostdir")
	assert.ErrorIs(t, err, unix.ENOENT, "a link to the host's directory leads to the root's own copy of that path")
	_, err = r.Sub("/etc/hostname")
	assert.ErrorIs(t, err, unix.ENOTDIR)

	s, err := r.Sub("/up/etc")
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, filepath.Join(dir, "etc"), s.HostPath())
	b, err := s.ReadFile("/hostname")
	require.NoError(t, err)
	assert.Equal(t, "target\n", string(b))
	// Its own root is the directory: ".." and absolute links stop there.
	_, err = s.ReadFile("/../etc/hostname")
	assert.ErrorIs(t, err, unix.ENOENT)
	_, err = s.ReadFile("/escape")
	assert.Error(t, err)
}
