package disk_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"rescue/disk"
	"rescue/images"
)

// lvmSplitImage has a VG whose root LV is linear and whose data LV has two
// segments apart: only the fallback can reach the data LV.
func lvmSplitImage(t *testing.T) *images.Image {
	return build(t, images.Layout{Table: images.DOS, SizeMiB: 120, Partitions: []images.Partition{
		{Type: images.LVM, FS: &images.Filesystem{Type: "lvm", VG: &images.VolumeGroup{Name: "centos", LVs: []images.LogicalVolume{
			{Name: "data", SizeMiB: 8, ExtendMiB: 8},
			{Name: "root", SizeMiB: 40, FS: &images.Filesystem{Type: "ext4", From: rootTree(t, "C", "/dev/mapper/centos-root / ext4 defaults 0 0\n")}},
		}}}},
	}})
}

func TestLVMFallbackUnavailable(t *testing.T) {
	needRoot(t)
	img := lvmSplitImage(t)
	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	old := *disk.DMControl
	*disk.DMControl = filepath.Join(t.TempDir(), "no-control")
	defer func() { *disk.DMControl = old }()
	s, err := disk.Mount(context.Background(), d, filepath.Join(t.TempDir(), "mnt"), opts(t, false))
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, "/dev/mapper/centos-root", s.Root.Name)
	require.Contains(t, strings.Join(s.Notes, "\n"), "LVM volume group centos: the helper has no")
	require.Contains(t, d.Volume("centos/data").Problem, "not contiguous")
	require.Contains(t, d.Volume("centos/data").Problem, "so it cannot be activated")
}

// fakeLVM installs a stand-in for the helper's lvm that records how it is
// called; vgs lists the helper's VGs.
func fakeLVM(t *testing.T, hostVGs string) (log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + log + "\n" +
		"case \"$1\" in vgs) echo '  " + hostVGs + "';; esac\nexit 0\n"
	tool := filepath.Join(dir, "lvm")
	require.NoError(t, os.WriteFile(tool, []byte(script), 0o755))
	control := filepath.Join(dir, "control")
	require.NoError(t, os.WriteFile(control, nil, 0o600))
	oldTool, oldCtl := *disk.LVMTool, *disk.DMControl
	*disk.LVMTool, *disk.DMControl = tool, control
	t.Cleanup(func() { *disk.LVMTool, *disk.DMControl = oldTool, oldCtl })
	return log
}

func TestLVMFallbackActivatesAndDeactivates(t *testing.T) {
	needRoot(t)
	img := lvmSplitImage(t)
	calls := fakeLVM(t, "helpervg")
	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	s, err := disk.Mount(context.Background(), d, filepath.Join(t.TempDir(), "mnt"), opts(t, false))
	require.NoError(t, err)
	// The stand-in activates nothing, so the LV stays out of reach, and
	// rescue says so instead of mounting something else.
	require.Contains(t, d.Volume("centos/data").Problem, "activation did not create /dev/mapper/centos-data")
	require.NoError(t, s.Close())

	data, err := os.ReadFile(calls)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 3, "%s", data)
	require.True(t, strings.HasPrefix(lines[0], "vgs "), lines[0])
	require.Contains(t, lines[1], "vgchange --config devices { filter = [ \"a|^/dev/loop")
	require.Contains(t, lines[1], "metadata_read_only = 1")
	require.Contains(t, lines[1], `read_only_volume_list = [ "centos" ]`)
	require.True(t, strings.HasSuffix(lines[1], "-ay centos"), lines[1])
	require.True(t, strings.HasSuffix(lines[2], "-an centos"), "deactivated at unmount: %s", lines[2])
}

func TestLVMFallbackRefusesAClash(t *testing.T) {
	needRoot(t)
	img := lvmSplitImage(t)
	calls := fakeLVM(t, "centos")
	d, err := disk.Probe(img.Path)
	require.NoError(t, err)
	s, err := disk.Mount(context.Background(), d, filepath.Join(t.TempDir(), "mnt"), opts(t, false))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.Contains(t, d.Volume("centos/data").Problem, "the helper has a volume group called centos too")
	require.Contains(t, d.Volume("centos/data").Problem, "vgimportclone")
	data, _ := os.ReadFile(calls)
	require.NotContains(t, string(data), "vgchange", "nothing is activated beside the helper's own VG")
	require.Equal(t, "/dev/mapper/centos-root", s.Root.Name, "the linear root is still reached by its byte range")
}
