package bootloader

import (
	"os"
	"path/filepath"
	"rescue/actions/actionstest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	check "rescue/checks/bootloader"
	"rescue/facts"
	"rescue/repair"
	"rescue/sysroot"
)

func root(t *testing.T, files ...string) *sysroot.Root {
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, f)
		if f[len(f)-1] == '/' {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o755))
	}
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// A directory target has no disk: the action refuses rather than guess
// which disk grub-install should write.
func TestDirectoryRefused(t *testing.T) {
	_, err := Plan(root(t, "usr/sbin/grub-install"), nil, Options{})
	require.ErrorIs(t, err, check.ErrNoDisk)
}

// On a DOS disk with GRUB for BIOS the plan runs the target's
// grub-install on {disk}, backs up the gap, and says how to allow it.
func TestBIOSPlan(t *testing.T) {
	r := root(t, "usr/sbin/grub-install", "usr/lib/grub/i386-pc/", "boot/grub/i386-pc/normal.mod")
	img := filepath.Join(t.TempDir(), "disk.img")
	require.NoError(t, os.WriteFile(img, make([]byte, 2<<20), 0o644))
	d := &facts.Disk{Path: img, Table: "dos", Partitions: []facts.DiskPartition{{Number: 1, Start: 1 << 20, Size: 1 << 20, Kind: "linux", FSType: "ext4", MountPoint: "/"}}}
	res, err := Plan(r, d, Options{})
	require.NoError(t, err)
	require.Len(t, res.Fix.Ops, 1)
	op := res.Fix.Ops[0]
	assert.Equal(t, repair.KindExec, op.Kind)
	assert.Equal(t, []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_msdos", repair.DiskArg}, op.Argv)
	assert.Equal(t, img, op.Disk)
	require.Len(t, op.Regions, 1)
	assert.Equal(t, int64(0), op.Regions[0].Offset)
	assert.Equal(t, int64(1<<20), op.Regions[0].Size)
	assert.Equal(t, []string{"/boot/grub/i386-pc/normal.mod"}, op.Touches)
	assert.Contains(t, actionstest.Account(res.Changes, res.Notes), "apply with --apply --allow-chroot")

	res, err = Plan(r, d, Options{AllowChroot: true})
	require.NoError(t, err)
	assert.NotContains(t, actionstest.Account(res.Changes, res.Notes), "--allow-chroot")

	// Without GRUB's BIOS modules grub-install would fail: said up front.
	_, err = Plan(root(t, "usr/sbin/grub-install", "boot/grub/i386-pc/normal.mod"), d, Options{})
	assert.ErrorContains(t, err, "/usr/lib/grub/i386-pc")
}
