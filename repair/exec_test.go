package repair

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/repair/repairtest"
)

// fakeRebuild plays update-initramfs in the chroot of a test root: it
// rewrites the image it was asked to, and leaves what the real one leaves:
// a blkid cache in /run, scratch files in /tmp and /var/tmp, a new state
// file, and a change to a file it was not asked to touch.
func fakeRebuild() int {
	if _, err := os.Stat("/.rescue-test-root"); err != nil {
		return 2 // not chrooted into a test root: write nothing
	}
	for p, data := range map[string]string{
		"/boot/initrd.img":                     "new image\n",
		"/run/blkid/blkid.tab":                 "cache\n",
		"/tmp/mkinitramfs_x/junk":              "junk\n",
		"/var/tmp/junk":                        "junk\n",
		"/var/lib/initramfs-tools/6.1.0-amd64": "sha1\n",
		"/etc/other":                           "changed\n",
	} {
		if os.MkdirAll(filepath.Dir(p), 0o755) != nil || os.WriteFile(p, []byte(data), 0o644) != nil {
			return 1
		}
	}
	return 0
}

// A command run in the target's chroot gets its own /run and /tmp; what it
// creates elsewhere is journaled and removed by undo;
// what it changes beyond its own files is reported.
func TestChrootChangesAreJournaledOrReported(t *testing.T) {
	requireRoot(t)
	dir := build(t, tree{".rescue-test-root": "", "boot/initrd.img": "old image\n", "etc/other": "mine\n", "var/lib/": "", "usr/sbin/": ""})
	bin, err := os.ReadFile(repairtest.StaticTestBinary(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "usr/sbin/fake-rebuild"), bin, 0o755))
	r := open(t, dir)
	before := snapshot(t, dir)
	op := must(t)(Exec(r, []string{"/usr/sbin/fake-rebuild"}, "/boot/initrd.img"))
	journal := t.TempDir()
	res, err := Apply(r, planOf(Fix{Message: "rebuild", Ops: []Op{op}}), Options{JournalDir: journal, AllowExec: true})
	require.NoError(t, err)
	for _, p := range []string{"run", "tmp", "dev", "proc", "sys"} {
		assert.NoDirExists(t, filepath.Join(dir, p), "a mount point the target did not have is gone")
	}
	assert.FileExists(t, filepath.Join(dir, "var/lib/initramfs-tools/6.1.0-amd64"))
	assert.FileExists(t, filepath.Join(dir, "var/tmp/junk"), "journaled, removed by undo")
	require.Len(t, res.Warnings, 1)
	assert.True(t, strings.Contains(res.Warnings[0], "changed /etc/other"), res.Warnings[0])

	_, err = Undo(r, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	after := snapshot(t, dir)
	assert.Equal(t, "-rw-r--r-- 0:0 changed\n", strings.Split(after["etc/other"], " @")[0], "reported, not restored")
	delete(after, "etc/other")
	delete(before, "etc/other")
	assert.Equal(t, before, after)
}
