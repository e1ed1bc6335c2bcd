package disk

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A directory entry that points back at an ancestor (a damaged or crafted
// ESP) made the copy recurse until the host path was too long
// (ENAMETOOLONG); it is a clear error now.
func TestFATDirectoryCycleIsRefused(t *testing.T) {
	p := fatImage(t, 4, "-F", "12")
	v, f := openFile(t, p, true)
	defer f.Close()
	_, efi, err := v.lookup("/EFI")
	require.NoError(t, err)
	debian, _, err := v.lookup("/EFI/debian/grub.cfg")
	require.NoError(t, err)
	require.NoError(t, v.addEntry(debian, "LOOP", fatAttrDir, efi.cluster, 0, time.Now()))
	require.NoError(t, v.Flush())

	v2, f2 := openFile(t, p, false)
	defer f2.Close()
	done := make(chan error, 1)
	go func() { done <- copyOutFAT(v2, "/", t.TempDir(), map[string]string{}, new(int64), map[uint32]bool{}) }()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "/EFI/debian/LOOP")
		require.ErrorContains(t, err, "cycle")
	case <-time.After(30 * time.Second):
		t.Fatal("copying a FAT with a directory cycle did not end")
	}
}
