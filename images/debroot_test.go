package images

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDebianRoot builds (or reuses) the minbase root and checks that it is a
// Debian system with its packages kept beside it.
func TestDebianRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("building a Debian root with mmdebstrap needs root")
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		t.Skip("mmdebstrap is not installed (apt-get install mmdebstrap)")
	}
	if testing.Short() {
		t.Skip("building a Debian root takes minutes the first time; skipped with -short")
	}
	tarball, err := DebianRoot(context.Background(), DebianRootOptions{Suite: "bookworm"})
	require.NoError(t, err)
	debs, err := filepath.Glob(filepath.Join(DebsDir(tarball), "*.deb"))
	require.NoError(t, err)
	require.NotEmpty(t, debs)
	var haveLibc bool
	for _, d := range debs {
		if filepath.Base(d)[:6] == "libc6_" {
			haveLibc = true
		}
	}
	require.True(t, haveLibc, "libc6's .deb is kept beside the tarball")

	dir := t.TempDir()
	require.NoError(t, ExtractRoot(tarball, dir))
	status, err := os.ReadFile(filepath.Join(dir, "var/lib/dpkg/status"))
	require.NoError(t, err)
	require.Contains(t, string(status), "Package: libc6\n")
	entries, _ := os.ReadDir(filepath.Join(dir, "var/cache/apt/archives"))
	for _, e := range entries {
		require.NotRegexp(t, `\.deb$`, e.Name(), "the root's apt cache is clean")
	}

	// The same options give the same cached tarball.
	again, err := DebianRoot(context.Background(), DebianRootOptions{Suite: "bookworm", Variant: "minbase"})
	require.NoError(t, err)
	require.Equal(t, tarball, again)
}
