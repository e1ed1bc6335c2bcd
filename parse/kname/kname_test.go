package kname

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBus(t *testing.T) {
	for dev, want := range map[string]string{
		"/dev/vda1": "vd", "/dev/xvda": "xvd", "/dev/sdb2": "sd", "/dev/hda": "hd", "/dev/nvme0n1p2": "nvme",
		"vda1": "", "/dev/mapper/vg-root": "", "UUID=1234": "", "/dev/md0": "", "disk.img2": "",
	} {
		assert.Equal(t, want, Bus(dev), dev)
		assert.Equal(t, want != "", IsKernelName(dev), dev)
	}
}

func TestPartition(t *testing.T) {
	require.Equal(t, "/dev/vdb2", Partition("/dev/vdb", 2))
	require.Equal(t, "/dev/nvme1n1p2", Partition("/dev/nvme1n1", 2))
	require.Equal(t, "/dev/loop3p1", Partition("/dev/loop3", 1))
	require.Equal(t, "disk.img5", Partition("disk.img", 5))
}

func TestSplit(t *testing.T) {
	type out struct {
		disk string
		part int
		ok   bool
	}
	for name, want := range map[string]out{
		"sda2": {"sda", 2, true}, "vdb15": {"vdb", 15, true}, "xvda1": {"xvda", 1, true}, "hdc": {"hdc", 0, true},
		"sdab12": {"sdab", 12, true}, "nvme0n1p3": {"nvme0n1", 3, true}, "nvme10n2": {"nvme10n2", 0, true},
		"mmcblk0p1": {"mmcblk0", 1, true}, "mmcblk1": {"mmcblk1", 0, true},
		"vda99999999999999999999": {"vda", 0, true}, "md0": {}, "loop0": {}, "dm-1": {}, "sd": {}, "sd1": {}, "sda1b": {}, "nvme0": {}, "nvme0n": {}, "nvme0n1p": {},
		"nvme0n1q2": {}, "mmcblk": {}, "nvmep3": {}, "": {},
	} {
		d, n, ok := Split(name)
		assert.Equal(t, want, out{d, n, ok}, name)
	}
}

// TestSplitAgreesWithTheEvidenceRegexp: the evidence package told a
// partition's disk with this expression; Split and Bus accept the same
// names and give the same disk.
func TestSplitAgreesWithTheEvidenceRegexp(t *testing.T) {
	old := regexp.MustCompile(`^(nvme\d+n\d+)(?:p\d+)?$|^((?:x?v|s|h)d[a-z]+)\d*$`)
	for _, name := range []string{"vda", "vda1", "xvdb12", "sdz", "hda3", "nvme0n1", "nvme1n2p15", "nvme0", "nvme0n1p",
		"mmcblk0p1", "dm-0", "md127", "sda1x", "vd1", "zram0", "sr0", "nvme0n1p2p3", "xvd"} {
		m := old.FindStringSubmatch(name)
		want := ""
		if m != nil {
			want = m[1] + m[2]
		}
		got := ""
		if d, _, ok := Split(name); ok && Bus("/dev/"+d) != "" {
			got = d
		}
		assert.Equal(t, want, got, name)
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("nvme0n1p2")
	f.Add("sdab12")
	f.Fuzz(func(t *testing.T, name string) {
		d, n, ok := Split(name)
		if !ok {
			return
		}
		if n < 0 || d == "" || len(d) > len(name) || name[:len(d)] != d {
			t.Fatalf("Split(%q) = %q, %d", name, d, n)
		}
		tail := strings.TrimPrefix(name[len(d):], "p")
		if n > 0 && tail[0] != '0' && Partition(d, n) != name {
			t.Fatalf("Partition(%q, %d) = %q, want %q", d, n, Partition(d, n), name)
		}
	})
}
