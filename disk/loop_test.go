package disk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A loop device over a file of a filesystem with direct I/O reads it
// directly (no page cache of the image under the filesystem's own), and
// read-only when asked.
func TestLoopDirectIO(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: attaches a loop device")
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	require.NoError(t, os.WriteFile(img, make([]byte, 1<<20), 0o644))
	if f, err := os.OpenFile(img, os.O_RDONLY|unix.O_DIRECT, 0); err != nil {
		t.Skipf("the filesystem of %s has no direct I/O: %v", img, err)
	} else {
		f.Close()
	}
	l, err := AttachLoop(img, 4096, 64<<10, true)
	require.NoError(t, err)
	defer l.Detach()
	read := func(p string) string {
		data, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(l.Path), p))
		require.NoError(t, err)
		return strings.TrimSpace(string(data))
	}
	require.Equal(t, "1", read("loop/dio"), "the loop device reads the image with direct I/O")
	require.Equal(t, "1", read("ro"))
	require.Equal(t, "4096", read("loop/offset"))
}
