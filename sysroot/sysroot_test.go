package sysroot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostile builds a target root full of symlinks that try to leave it, next
// to a "secret" file outside it that must never be read through the root.
func hostile(t *testing.T) (root, secret string) {
	t.Helper()
	base := t.TempDir()
	secret = filepath.Join(base, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("helper's own file"), 0o600))
	root = filepath.Join(base, "root")
	for _, d := range []string{"etc", "usr/bin", "var/tmp"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/shadow"), []byte("root:*:1::::::\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("target\n"), 0o644))
	links := map[string]string{
		"etc/passwd":      "/etc/shadow",        // absolute: must stay in the root
		"etc/escape":      "../../../../secret", // relative, climbing out
		"etc/abs-escape":  secret,               // absolute host path
		"up":              "../..",
		"bin":             "usr/bin",
		"etc/loop":        "loop",
		"etc/dangling":    "/nonexistent",
		"var/tmp/hostdir": filepath.Dir(secret),
	}
	for l, target := range links {
		require.NoError(t, os.Symlink(target, filepath.Join(root, l)))
	}
	return root, secret
}

func TestSymlinksStayInside(t *testing.T) {
	dir, secret := hostile(t)
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()

	data, err := r.ReadFile("/etc/passwd")
	require.NoError(t, err)
	assert.Equal(t, "root:*:1::::::\n", string(data), "absolute symlink resolves inside the root")

	for _, p := range []string{"/etc/escape", "/etc/abs-escape", "/up/secret", "/var/tmp/hostdir/secret", "../secret", "/../../secret"} {
		data, err := r.ReadFile(p)
		assert.Error(t, err, p)
		assert.NotContains(t, string(data), "helper's own file", p)
	}
	// ".." at the top is the root itself.
	data, err = r.ReadFile("/up/etc/hostname")
	require.NoError(t, err)
	assert.Equal(t, "target\n", string(data))

	p, err := r.Resolve("/etc/passwd")
	require.NoError(t, err)
	assert.Equal(t, "/etc/shadow", p)
	p, err = r.Resolve("/bin")
	require.NoError(t, err)
	assert.Equal(t, "/usr/bin", p)
	p, err = r.Resolve("/up")
	require.NoError(t, err)
	assert.Equal(t, "/", p)

	_, err = r.ReadFile("/etc/loop")
	assert.Error(t, err)
	_, err = r.Stat("/etc/dangling")
	assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
	fi, err := r.Lstat("/etc/dangling")
	require.NoError(t, err)
	assert.NotZero(t, fi.Mode()&fs.ModeSymlink)
	target, err := r.Readlink("/etc/abs-escape")
	require.NoError(t, err)
	assert.Equal(t, secret, target, "readlink reports the link as stored")

	// The secret is untouched and was never the object of a read.
	b, _ := os.ReadFile(secret)
	assert.Equal(t, "helper's own file", string(b))
}

func TestWalkDoesNotFollowLinks(t *testing.T) {
	dir, _ := hostile(t)
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()
	var seen []string
	err = r.Walk("/", func(name string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		seen = append(seen, name)
		return nil
	})
	require.NoError(t, err)
	assert.Contains(t, seen, "/up")
	assert.Contains(t, seen, "/var/tmp/hostdir")
	assert.NotContains(t, seen, "/var/tmp/hostdir/secret")
	assert.NotContains(t, seen, "/up/etc")

	// Walking a symlinked start walks its target.
	seen = nil
	require.NoError(t, r.Walk("/bin", func(name string, fi fs.FileInfo, err error) error {
		seen = append(seen, name)
		return err
	}))
	assert.Equal(t, []string{"/usr/bin"}, seen)
}

func TestReadFileRefusesSpecialAndHuge(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
	if err := mkfifo(filepath.Join(dir, "etc/fifo")); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	big := filepath.Join(dir, "etc/big")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(MaxFileSize+1))
	f.Close()
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()
	_, err = r.ReadFile("/etc/fifo")
	assert.ErrorContains(t, err, "not a regular file")
	_, err = r.ReadFile("/etc/big")
	assert.ErrorIs(t, err, ErrTooLarge)
	data, err := r.ReadFileLimit("/etc/big", MaxFileSize+1)
	require.NoError(t, err)
	assert.Len(t, data, MaxFileSize+1)
}

func TestGlobAndClean(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"etc/pam.d/login", "etc/pam.d/sshd", "etc/pam.d/.hidden"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), nil, 0o644))
	}
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()
	m, err := r.Glob("/etc/pam.d/*")
	require.NoError(t, err)
	assert.Equal(t, []string{"/etc/pam.d/.hidden", "/etc/pam.d/login", "/etc/pam.d/sshd"}, m)
	assert.Equal(t, "/", Clean("../.."))
	assert.Equal(t, "/etc/x", Clean("etc//./x/"))
}

// TestEmulatedResolution runs the confinement tests again through
// filepath-securejoin's emulation, the path a kernel without openat2 takes.
func TestEmulatedResolution(t *testing.T) {
	useOpenat2.Store(false)
	defer useOpenat2.Store(true)
	t.Run("symlinks", TestSymlinksStayInside)
	t.Run("walk", TestWalkDoesNotFollowLinks)
	t.Run("special", TestReadFileRefusesSpecialAndHuge)
	t.Run("dir", TestDirStaysInside)
	t.Run("parent", TestParentAndMkdirAllStayInside)
	t.Run("sub", TestSubStaysInside)
}

// TestWalkParallelSeesWhatWalkSees compares the two walks entry for entry
// on a tree wide and deep enough to keep several workers busy, with the
// hostile links in it, and checks SkipDir and a stopping error.
func TestWalkParallelSeesWhatWalkSees(t *testing.T) {
	dir, _ := hostile(t)
	for i := range 30 {
		d := filepath.Join(dir, "usr/lib", fmt.Sprintf("d%02d", i), "sub")
		require.NoError(t, os.MkdirAll(d, 0o755))
		for j := range 20 {
			require.NoError(t, os.WriteFile(filepath.Join(d, fmt.Sprintf("f%02d", j)), nil, 0o644))
		}
	}
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()

	collect := func(parallel bool, skip string, stop error) ([]string, error) {
		var mu sync.Mutex
		var seen []string
		fn := func(name string, fi fs.FileInfo, err error) error {
			if err != nil {
				return err
			}
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s %v", name, fi.Mode()))
			mu.Unlock()
			if name == skip {
				if stop != nil {
					return stop
				}
				return SkipDir
			}
			return nil
		}
		var err error
		if parallel {
			err = r.WalkParallel("/", 4, fn)
		} else {
			err = r.Walk("/", fn)
		}
		slices.Sort(seen)
		return seen, err
	}
	want, err := collect(false, "", nil)
	require.NoError(t, err)
	got, err := collect(true, "", nil)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Greater(t, len(got), 600)

	want, _ = collect(false, "/usr/lib/d07", nil)
	got, err = collect(true, "/usr/lib/d07", nil)
	require.NoError(t, err)
	assert.Equal(t, want, got, "SkipDir skips the directory")
	assert.NotContains(t, strings.Join(got, "\n"), "/usr/lib/d07/sub")

	stop := errors.New("stop here")
	_, err = collect(true, "/usr/lib/d11/sub/f03", stop)
	assert.ErrorIs(t, err, stop)
}
