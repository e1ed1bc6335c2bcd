package mountinfo

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sample is from a helper with the target mounted by rescue, a path with a
// space, a bind mount of a subdirectory and an nsfs entry.
const sample = `22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
25 22 0:23 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
61 22 7:3 / /run/rescue/t\040one ro,relatime shared:300 master:7 - xfs /dev/loop3 ro,attr2,inode64
62 61 253:1 /srv/data /mnt/bind\134x rw,relatime - ext4 /dev/mapper/vg\040x-lv rw
70 25 0:4 net:[4026531840] /run/netns/a rw shared:40 - nsfs nsfs rw
`

func TestParse(t *testing.T) {
	tab, err := Parse([]byte(sample))
	require.NoError(t, err)
	require.Len(t, tab, 5)
	assert.Equal(t, Entry{
		ID: 22, Parent: 1, Dev: "253:1", Root: "/", Point: "/", Options: "rw,relatime",
		Optional: []string{"shared:1"}, FSType: "ext4", Source: "/dev/vda1", SuperOptions: "rw,errors=remount-ro",
	}, tab[0])
	assert.Equal(t, "/run/rescue/t one", tab[2].Point)
	assert.Equal(t, []string{"shared:300", "master:7"}, tab[2].Optional)
	assert.Equal(t, "xfs", tab[2].FSType)
	assert.Equal(t, "/srv/data", tab[3].Root)
	assert.Equal(t, `/mnt/bind\x`, tab[3].Point)
	assert.Equal(t, "/dev/mapper/vg x-lv", tab[3].Source)
	assert.Nil(t, tab[3].Optional)
	assert.Equal(t, "net:[4026531840]", tab[4].Root)
}

func TestParseErrors(t *testing.T) {
	in := "22 1 253:1 / / rw - ext4 /dev/vda1 rw\n" +
		"short line\n" +
		"23 1 253:1 / /x rw shared:1 ext4 /dev/vda1 rw\n" + // no separator
		"x 1 253:1 / /y rw - ext4 /dev/vda1 rw\n" +
		"24 1 253:1 / /z rw - ext4 /dev/vda1\n" + // no super options
		"\n25 22 0:5 / /dev rw - devtmpfs udev rw\n"
	tab, err := Parse([]byte(in))
	require.Error(t, err)
	for _, n := range []string{"line 2", "line 3", "line 4", "line 5"} {
		assert.ErrorContains(t, err, n)
	}
	assert.NotContains(t, err.Error(), "line 6")
	require.Len(t, tab, 2)
	assert.Equal(t, "/", tab[0].Point)
	assert.Equal(t, "/dev", tab[1].Point)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("1 2 3 4 5 6 - 7 8 9\n1 2 3 \\ \\04 6 7 - - -\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := Parse(data)
		lines := 0
		for _, l := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(l) != "" {
				lines++
			}
		}
		if len(tab) > lines {
			t.Fatalf("%d entries from %d lines", len(tab), lines)
		}
		if (err == nil) != (len(tab) == lines) {
			t.Fatalf("%d entries from %d lines, error %v", len(tab), lines, err)
		}
		for _, e := range tab {
			if e.FSType == "" || e.Dev == "" || e.SuperOptions == "" {
				t.Fatalf("entry with an empty field: %+v", e)
			}
		}
	})
}
