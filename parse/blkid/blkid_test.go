package blkid

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/parse/devspec"
)

func TestParseDefault(t *testing.T) {
	in := `/dev/vda1: UUID="2222-bbbb" BLOCK_SIZE="4096" TYPE="ext4" PARTUUID="abcd-01"
/dev/vda15: SEC_TYPE="msdos" UUID="12AB-34CD" TYPE="vfat" PARTLABEL="EFI System" PARTUUID="x"
/dev/vdb: LABEL="my \"data\"" UUID="3333" TYPE="xfs"
`
	d, err := Parse([]byte(in))
	require.NoError(t, err)
	require.Len(t, d, 3)
	assert.Equal(t, Device{Path: "/dev/vda1", UUID: "2222-bbbb", Type: "ext4", PartUUID: "abcd-01"}, d[0])
	assert.Equal(t, "EFI System", d[1].PartLabel)
	assert.Equal(t, `my "data"`, d[2].Label)
}

func TestParseExport(t *testing.T) {
	in := "DEVNAME=/dev/vda1\nUUID=2222\nTYPE=ext4\n\nDEVNAME=/dev/vda2\nTYPE=swap\nUUID=4444\n"
	d, err := Parse([]byte(in))
	require.NoError(t, err)
	require.Len(t, d, 2)
	assert.Equal(t, Device{Path: "/dev/vda2", UUID: "4444", Type: "swap"}, d[1])
}

func TestFind(t *testing.T) {
	list := []Device{
		{Path: "/dev/vda1", UUID: "2222-bbbb", PartUUID: "abcd-01"},
		{Path: "/dev/vda15", UUID: "12AB-34CD", Label: "ESP", PartLabel: "EFI System"},
		{Path: "/dev/vdb", Label: "data", UUID: "2222-BBBB"},
	}
	for spec, want := range map[string]string{
		"UUID=2222-BBBB": "/dev/vda1", "/dev/disk/by-uuid/12ab-34cd": "/dev/vda15",
		"PARTUUID=ABCD-01": "/dev/vda1", `PARTLABEL="EFI System"`: "/dev/vda15",
		`/dev/disk/by-partlabel/EFI\x20System`: "/dev/vda15", "LABEL=data": "/dev/vdb",
		"LABEL=DATA": "", "UUID=9": "", `LABEL=""`: "", "/dev/vda1": "",
	} {
		got := ""
		if d := Find(list, devspec.Parse(spec)); d != nil {
			got = d.Path
			assert.Same(t, d, &list[map[string]int{"/dev/vda1": 0, "/dev/vda15": 1, "/dev/vdb": 2}[got]], spec)
		}
		assert.Equal(t, want, got, spec)
	}
}

func TestParseErrors(t *testing.T) {
	d, err := Parse([]byte("/dev/vda1: UUID=\"1\"\nnonsense\n/dev/vdb: UUID=unquoted\n"))
	assert.ErrorContains(t, err, "line 2")
	assert.ErrorContains(t, err, "line 3")
	assert.Len(t, d, 1)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`/dev/vda1: UUID="2222" TYPE="ext4"`))
	f.Add([]byte("DEVNAME=/dev/x\nUUID=1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse(data)
	})
}
