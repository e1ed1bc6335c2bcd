package depcheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/renameio/v2"
	"github.com/stretchr/testify/require"

	"rescue/repair"
)

// hostileRoot is a target root whose etc is an absolute symlink, as a
// hostile or simply odd disk may hold, and a directory outside it that
// the symlink names on the helper.
func hostileRoot(t *testing.T) (root, outside string) {
	root, outside = t.TempDir(), t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "etc")))
	// Inside the root the same absolute path exists too: that is where the
	// symlink leads when it is resolved as the target's own boot would.
	require.NoError(t, os.MkdirAll(filepath.Join(root, outside), 0o755))
	return root, outside
}

// renameio's path API joins and renames host paths: a target whose /etc
// is a symlink to an absolute path gets its "/etc/passwd" written to that
// path on the helper. rescue's writer (repair/writer.go, openat2
// RESOLVE_IN_ROOT) resolves the same symlink inside the target.
func TestRenameioWritesOutsideTheRoot(t *testing.T) {
	root, outside := hostileRoot(t)
	require.NoError(t, renameio.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644))
	_, err := os.Stat(filepath.Join(outside, "passwd"))
	require.NoError(t, err, "renameio no longer writes through the target's symlink to the helper: revisit docs/dependencies.md")
	require.NoError(t, os.Remove(filepath.Join(outside, "passwd")))

	w, err := repair.NewWriter(root)
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, w.WriteFile("/etc/passwd", []byte("root:x:0:0::/root:/bin/sh\n"), repair.Meta{Mode: 0o644}))
	_, err = os.Stat(filepath.Join(outside, "passwd"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(filepath.Join(root, outside, "passwd"))
	require.NoError(t, err, "rescue writes inside the root")
}

// renameio's WithRoot (os.Root) stays inside the root, but os.Root
// refuses every path through an absolute symlink rather than resolving it
// inside the root: Debian 12 itself has /var/run -> /run, so a file under
// /var/run that rescue reads through sysroot could not be written back.
func TestRenameioWithRootRefusesAbsoluteSymlinks(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "run"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "var"), 0o755))
	require.NoError(t, os.Symlink("/run", filepath.Join(root, "var/run")))

	r, err := os.OpenRoot(root)
	require.NoError(t, err)
	defer r.Close()
	err = renameio.WriteFile("var/run/motd", []byte("x\n"), 0o644, renameio.WithRoot(r))
	t.Logf("renameio.WithRoot: %v", err)
	require.Error(t, err, "os.Root now resolves absolute symlinks inside the root: revisit the renameio line of docs/dependencies.md")

	w, err := repair.NewWriter(root)
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, w.WriteFile("/var/run/motd", []byte("x\n"), repair.Meta{Mode: 0o644}))
	_, err = os.Stat(filepath.Join(root, "run/motd"))
	require.NoError(t, err)
}
