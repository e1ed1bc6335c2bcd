package repair

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/repair/repairtest"
)

// fakeGrubInstall plays grub-install --target=i386-pc DISK in the chroot
// of a test root: it writes a boot sector and a core image into the
// first MiB of the device it is given, and a file under /boot/grub.
func fakeGrubInstall(args []string) int {
	if _, err := os.Stat("/.rescue-test-root"); err != nil || len(args) != 1 {
		return 2
	}
	f, err := os.OpenFile(args[0], os.O_WRONLY, 0)
	if err != nil {
		return 3
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte("BOOTCODE"), 55), 0); err != nil {
		return 4
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte("CORE"), 8192), 512); err != nil {
		return 5
	}
	if err := os.WriteFile("/boot/grub/i386-pc/core.img", []byte("core\n"), 0o644); err != nil {
		return 6
	}
	return 0
}

// An exec op that writes the disk outside the root's files (grub-install
// writing the boot sector of an image, through a loop device over it):
// apply backs the region up first, the command sees the disk as a device,
// and undo writes the region back byte for byte; a region changed after
// the repair makes undo refuse.
func TestExecDiskRegionUndo(t *testing.T) {
	requireRoot(t)
	dir := build(t, tree{".rescue-test-root": "", "boot/grub/i386-pc/core.img": "old core\n", "usr/sbin/": "", "var/lib/": ""})
	bin, err := os.ReadFile(repairtest.StaticTestBinary(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "usr/sbin/fake-grub-install"), bin, 0o755))
	img := filepath.Join(t.TempDir(), "disk.img")
	orig := make([]byte, 4<<20)
	for i := range orig {
		orig[i] = byte(i * 7)
	}
	require.NoError(t, os.WriteFile(img, orig, 0o644))
	r := open(t, dir)

	op := must(t)(Exec(r, []string{"/usr/sbin/fake-grub-install", DiskArg}, "/boot/grub/i386-pc/core.img"))
	op.Disk = img
	reg, err := NewRegion("boot sector and the gap before the first partition", img, 0, 1<<20)
	require.NoError(t, err)
	op.Regions = []Region{reg}
	assert.Contains(t, op.Summary(), "back up boot sector")

	journal := t.TempDir()
	res, err := Apply(r, planOf(Fix{Message: "reinstall", Ops: []Op{op}}), Options{JournalDir: journal, AllowExec: true})
	require.NoError(t, err)
	require.Equal(t, OutcomeApplied, res.Items[0].Status, res.Items[0].Reason)
	now, err := os.ReadFile(img)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(now, []byte("BOOTCODEBOOTCODE")), "the command wrote the image through a device")
	assert.Equal(t, orig[1<<20:], now[1<<20:], "nothing past the region changed")

	// Changed after the repair: undo refuses and writes nothing.
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("LATER"), 100)
	require.NoError(t, err)
	_, err = Undo(r, UndoOptions{JournalDir: journal})
	require.ErrorIs(t, err, ErrChangedSinceRepair)
	assert.Contains(t, err.Error(), "boot sector")
	_, err = f.WriteAt(now[100:105], 100)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	u, err := Undo(r, UndoOptions{JournalDir: journal, Disk: img})
	require.NoError(t, err)
	got, err := os.ReadFile(img)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(orig, got), "undo put the region back byte for byte")
	core, err := os.ReadFile(filepath.Join(dir, "boot/grub/i386-pc/core.img"))
	require.NoError(t, err)
	assert.Equal(t, "old core\n", string(core))
	var acts []string
	for _, p := range u.Paths {
		acts = append(acts, p.Action+" "+p.Path)
	}
	assert.Contains(t, strings.Join(acts, "\n"), "restored boot sector")
}

// A region that changed between the plan and apply refuses the op: the
// scan's view of the disk is stale.
func TestExecDiskRegionChangedSincePlan(t *testing.T) {
	dir := build(t, tree{"boot/": ""})
	img := filepath.Join(t.TempDir(), "disk.img")
	require.NoError(t, os.WriteFile(img, make([]byte, 1<<20), 0o644))
	r := open(t, dir)
	op := must(t)(Exec(r, []string{"/usr/sbin/grub-install", DiskArg}))
	op.Disk = img
	reg, err := NewRegion("boot sector", img, 0, 512)
	require.NoError(t, err)
	op.Regions = []Region{reg}
	require.NoError(t, os.WriteFile(img, append([]byte("X"), make([]byte, 1<<20-1)...), 0o644))
	res, err := Apply(r, planOf(Fix{Message: "reinstall", Ops: []Op{op}}), Options{JournalDir: t.TempDir(), AllowExec: true})
	require.NoError(t, err)
	assert.Equal(t, OutcomeRefused, res.Items[0].Status)
	assert.Contains(t, res.Items[0].Reason, "changed since the scan")
}
