package disk

import (
	"fmt"
	"path"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rescue/disk/fat"
)

// cycleTree is a FAT tree in which /EFI/debian/LOOP is a directory entry
// that points back at /EFI (its first cluster), as a damaged or crafted
// ESP can have it. disk/fat's TestDirectoryCycle shows that the reader
// reports such an entry with the ancestor's cluster.
type cycleTree map[string][]fat.Info

func (c cycleTree) ReadDir(p string) ([]fat.Info, error) {
	if l, ok := c[p]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("%s: no such directory", p)
}

func (c cycleTree) ReadFile(p string) ([]byte, error) { return []byte(path.Base(p)), nil }

// A directory entry that points back at an ancestor made the copy recurse
// until the host path was too long (ENAMETOOLONG); it is a clear error now.
func TestFATDirectoryCycleIsRefused(t *testing.T) {
	tree := cycleTree{
		"/":                {{Name: "EFI", Dir: true, Cluster: 3}},
		"/EFI":             {{Name: ".", Dir: true, Cluster: 3}, {Name: "..", Dir: true}, {Name: "debian", Dir: true, Cluster: 4}},
		"/EFI/debian":      {{Name: "grub.cfg", Size: 8}, {Name: "LOOP", Dir: true, Cluster: 3}},
		"/EFI/debian/LOOP": {{Name: "debian", Dir: true, Cluster: 4}},
	}
	done := make(chan error, 1)
	go func() { done <- copyOutFAT(tree, "/", t.TempDir(), map[string]string{}, new(int64), map[uint32]bool{}) }()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "/EFI/debian/LOOP")
		require.ErrorContains(t, err, "cycle")
	case <-time.After(30 * time.Second):
		t.Fatal("copying a FAT with a directory cycle did not end")
	}
}
