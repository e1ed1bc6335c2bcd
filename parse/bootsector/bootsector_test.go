package bootsector

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The sectors are a Debian 12 image's, as grub-install (GRUB 2.06) left
// them: boot.img in sector 0, core.img from sector 1.
func TestGRUB(t *testing.T) {
	mbr, err := os.ReadFile("testdata/grub-mbr.bin")
	require.NoError(t, err)
	m, err := ParseMBR(mbr)
	require.NoError(t, err)
	assert.Equal(t, MBR{Signature: true, Loader: "grub2", KernelSector: 1}, m)

	db, err := os.ReadFile("testdata/grub-diskboot.bin")
	require.NoError(t, err)
	d, err := ParseDiskboot(db)
	require.NoError(t, err)
	assert.Equal(t, []Block{{Start: 2, Len: 60}}, d.Blocks)
	assert.Equal(t, uint64(60), d.Sectors())
}

func TestZeroedAndForeign(t *testing.T) {
	mbr, err := os.ReadFile("testdata/grub-mbr.bin")
	require.NoError(t, err)
	wiped := append([]byte{}, mbr...)
	clear(wiped[:CodeSize])
	m, err := ParseMBR(wiped)
	require.NoError(t, err)
	assert.Equal(t, MBR{Signature: true, CodeZero: true}, m, "the partition table and signature stay")

	other := append([]byte{}, wiped...)
	copy(other[0x100:], "Invalid partition table\x00Error loading operating system")
	m, err = ParseMBR(other)
	require.NoError(t, err)
	assert.Equal(t, "dos", m.Loader)

	_, err = ParseDiskboot(make([]byte, SectorSize))
	assert.Error(t, err, "a zeroed core image is not diskboot.img")
	_, err = ParseMBR(mbr[:100])
	assert.ErrorIs(t, err, ErrShort)
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/grub-mbr.bin", "testdata/grub-diskboot.bin"} {
		data, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := ParseMBR(data); err == nil && m.CodeZero && m.Loader != "" {
			t.Fatal("zero code with a loader")
		}
		if d, err := ParseDiskboot(data); err == nil && len(d.Blocks) == 0 {
			t.Fatal("diskboot without blocks")
		}
	})
}
