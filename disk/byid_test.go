package disk_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"rescue/disk"
)

// byID makes a /dev/disk/by-id directory whose links point at files named
// after the devices (the resolver only follows the links; the helper-root
// check looks at block devices, which these are not).
func byID(t *testing.T, links map[string]string) (string, string) {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "by-id")
	require.NoError(t, os.MkdirAll(filepath.Join(base, "dev"), 0o755))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, dev := range links {
		p := filepath.Join(base, "dev", dev)
		require.NoError(t, os.WriteFile(p, nil, 0o644))
		require.NoError(t, os.Symlink(filepath.Join("..", "dev", dev), filepath.Join(dir, name)))
	}
	return dir, filepath.Join(base, "dev")
}

func noRoot() (map[uint64]bool, error) { return map[uint64]bool{}, nil }

func TestResolveCloudDisk(t *testing.T) {
	// What a helper with its own disk (vda), the attached disk and some
	// noise shows in /dev/disk/by-id.
	for _, tc := range []struct {
		name  string
		links map[string]string
		id    string
		want  string // device base name, or "" for an error
		err   error
	}{
		{"alibaba virtio without d-", map[string]string{
			"virtio-bp1helperdisk000000": "vda", "virtio-bp1helperdisk000000-part1": "vda1",
			"virtio-bp1abcdef0123456789": "vdb", "virtio-bp1abcdef0123456789-part1": "vdb1",
		}, "d-bp1abcdef0123456789", "vdb", nil},
		{"virtio serial cut to 20 characters", map[string]string{
			"virtio-d-bp1abcdef012345678": "vdb", "virtio-d-bp1zzzzzzzzzzzzzz": "vda",
		}, "d-bp1abcdef0123456789", "vdb", nil},
		{"virtio exact", map[string]string{"virtio-d-short": "vdc"}, "d-short", "vdc", nil},
		{"aws nvme, with the namespace link too", map[string]string{
			"nvme-Amazon_Elastic_Block_Store_vol0aaaaaaaaaaaaaaaa":       "nvme0n1",
			"nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0":       "nvme1n1",
			"nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0_1":     "nvme1n1",
			"nvme-nvme.1d0f-766f6c30313233-416d617a6f6e-00000001":        "nvme1n1",
			"nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0-part1": "nvme1n1p1",
		}, "vol-0123456789abcdef0", "nvme1n1", nil},
		{"gce device name", map[string]string{
			"google-persistent-disk-0": "sda", "google-broken-web-1": "sdb", "scsi-0Google_PersistentDisk_broken-web-1": "sdb",
		}, "broken-web-1", "sdb", nil},
		{"virtio-scsi", map[string]string{"scsi-0QEMU_QEMU_HARDDISK_d-bp1x": "sdb"}, "d-bp1x", "sdb", nil},
		{"not attached", map[string]string{"virtio-bp1helperdisk000000": "vda"}, "d-bp1abcdef0123456789", "", disk.ErrNoSuchDisk},
		{"no by-id links at all", map[string]string{}, "vol-0123", "", disk.ErrNoSuchDisk},
		{"two disks claim it", map[string]string{
			"virtio-d-bp1abcdef012345678": "vdb", "virtio-bp1abcdef0123456789": "vdc",
		}, "d-bp1abcdef0123456789", "", disk.ErrAmbiguousDisk},
		{"a prefix is not a match", map[string]string{"virtio-d-bp1abc": "vdb"}, "d-bp1abcdef", "", disk.ErrNoSuchDisk},
		{"a partition link is not a disk", map[string]string{"virtio-d-bp1x-part1": "vdb1"}, "d-bp1x", "", disk.ErrNoSuchDisk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, devs := byID(t, tc.links)
			got, err := disk.ResolveCloudDiskIn(dir, tc.id, noRoot)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				var de *disk.DiskIDError
				require.True(t, errors.As(err, &de))
				// The message lists what the helper has, so that the
				// runbook's log says which disk was there instead.
				for name := range tc.links {
					if !strings.Contains(name, "-part") && !strings.HasPrefix(name, "nvme-nvme.") {
						require.Contains(t, err.Error(), name)
					}
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, filepath.Join(devs, tc.want), got)
		})
	}
}

func TestResolveCloudDiskBadID(t *testing.T) {
	dir, _ := byID(t, map[string]string{"virtio-x": "vdb"})
	for _, id := range []string{"", "../x", "a b"} {
		_, err := disk.ResolveCloudDiskIn(dir, id, noRoot)
		require.Error(t, err, "%q", id)
	}
}

// TestResolveCloudDiskRefusesHelperRoot points a link at the block device
// that really holds this machine's root filesystem: the resolver must
// refuse it, whatever its serial says.
func TestResolveCloudDiskRefusesHelperRoot(t *testing.T) {
	roots, err := disk.HelperRootDisks()
	require.NoError(t, err)
	dev := blockDeviceFor(t, roots)
	if dev == "" {
		t.Skip("no device node for the root disk here (a container root?)")
	}
	dir := filepath.Join(t.TempDir(), "by-id")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.Symlink(dev, filepath.Join(dir, "virtio-d-bp1rootdisk")))
	_, err = disk.ResolveCloudDiskIn(dir, "d-bp1rootdisk", disk.HelperRootDisks)
	require.ErrorIs(t, err, disk.ErrHelperRoot)
	require.Contains(t, err.Error(), dev)
}

// blockDeviceFor finds a node in /dev for one of the device numbers.
func blockDeviceFor(t *testing.T, devs map[uint64]bool) string {
	ents, err := os.ReadDir("/dev")
	require.NoError(t, err)
	for _, e := range ents {
		p := filepath.Join("/dev", e.Name())
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK && devs[st.Rdev] {
			return p
		}
	}
	return ""
}
