package repair

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func ino(t *testing.T, p string) (uint64, uint64) {
	t.Helper()
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	return st.Ino, st.Nlink
}

// A FIFO where a file was expected (/etc/shadow on a hostile disk) gets no
// chmod: the check meant a file, and a chmod of a node cannot be judged.
func TestMetadataFixesOnlyOnFilesAndDirs(t *testing.T) {
	dir := build(t, tree{"etc/": ""})
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, "etc/shadow"), 0o666))
	r := open(t, dir)
	_, err := Chmod(r, "/etc/shadow", 0o640)
	assert.ErrorContains(t, err, "fifo")
	_, err = Chown(r, "/etc/shadow", 0, 42)
	assert.ErrorContains(t, err, "fifo")
}

// Undo restores every type it can back up (a removed FIFO comes back), and
// one path it cannot restore does not stop the others; the journal stays,
// and a second undo finishes once the cause is mended.
func TestUndoRestoresNodesAndGoesOnPastFailures(t *testing.T) {
	requireRoot(t)
	dir := build(t, tree{"etc/a": "a\n", "etc/b": "b\n"})
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, "etc/pipe"), 0o640))
	require.NoError(t, os.Chown(filepath.Join(dir, "etc/pipe"), 7, 8))
	r := open(t, dir)
	before := snapshot(t, dir)
	m := must(t)
	p := planOf(
		Fix{Message: "rm", Ops: []Op{m(Remove(r, "/etc/pipe"))}},
		Fix{Message: "a", Ops: []Op{m(WriteFile(r, "/etc/a", []byte("A\n")))}},
		Fix{Message: "b", Ops: []Op{m(WriteFile(r, "/etc/b", []byte("B\n")))}},
	)
	journal := t.TempDir()
	res, err := Apply(r, p, Options{JournalDir: journal})
	require.NoError(t, err)
	// Damage the backup of /etc/b.
	var j Journal
	data, err := os.ReadFile(filepath.Join(journal, res.ID, "journal.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &j))
	var backup string
	for _, rec := range j.Paths {
		if rec.Path == "/etc/b" {
			backup = filepath.Join(journal, res.ID, "backup", rec.Backup)
		}
	}
	good, err := os.ReadFile(backup)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(backup, []byte("damaged"), 0o600))

	u, err := Undo(r, UndoOptions{JournalDir: journal})
	require.ErrorContains(t, err, "1 path(s) could not be restored")
	actions := map[string]string{}
	for _, p := range u.Paths {
		actions[p.Path] = p.Action
	}
	assert.Equal(t, map[string]string{"/etc/pipe": "restored", "/etc/a": "restored", "/etc/b": "failed"}, actions)
	fi, err := os.Lstat(filepath.Join(dir, "etc/pipe"))
	require.NoError(t, err)
	assert.Equal(t, os.ModeNamedPipe|0o640, fi.Mode())

	require.NoError(t, os.WriteFile(backup, good, 0o600))
	_, err = Undo(r, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, before, snapshot(t, dir))
}

// A hard-linked file: undo of a chmod restores the inode in place (every
// name), and undo of a rewrite puts the original inode back at its name.
func TestUndoKeepsHardLinksTogether(t *testing.T) {
	requireRoot(t)
	dir := build(t, tree{"etc/shadow": "s\n", "etc/conf": "c\n", "var/lib/": ""})
	require.NoError(t, os.Chmod(filepath.Join(dir, "etc/shadow"), 0o666))
	require.NoError(t, os.Link(filepath.Join(dir, "etc/shadow"), filepath.Join(dir, "etc/shadow-link")))
	require.NoError(t, os.Link(filepath.Join(dir, "etc/conf"), filepath.Join(dir, "etc/conf-link")))
	shadowIno, _ := ino(t, filepath.Join(dir, "etc/shadow"))
	confIno, _ := ino(t, filepath.Join(dir, "etc/conf"))
	r := open(t, dir)
	before := snapshot(t, dir)
	m := must(t)
	p := planOf(
		Fix{Message: "mode", Ops: []Op{m(Chmod(r, "/etc/shadow", 0o640))}},
		Fix{Message: "conf", Ops: []Op{m(WriteFile(r, "/etc/conf", []byte("C\n")))}},
	)
	// The default journal, inside the target: on its filesystem, so the
	// original inode can be kept.
	_, err := Apply(r, p, Options{})
	require.NoError(t, err)
	_, err = Undo(r, UndoOptions{})
	require.NoError(t, err)
	after := snapshot(t, dir)
	assert.Equal(t, before, after)
	i, n := ino(t, filepath.Join(dir, "etc/shadow"))
	assert.Equal(t, shadowIno, i)
	assert.Equal(t, uint64(2), n)
	i, n = ino(t, filepath.Join(dir, "etc/conf"))
	assert.Equal(t, confIno, i, "the rewritten file is its original inode again")
	assert.Equal(t, uint64(2), n, "and its other name is one with it")
}

// A change made to a file after its backup and before its op is not
// overwritten: the op fails, and the change stays.
func TestChangeAfterBackupIsNotLost(t *testing.T) {
	dir := build(t, tree{"etc/a": "a\n", "etc/b": "b\n"})
	r := open(t, dir)
	m := must(t)
	p := planOf(
		Fix{Message: "a", Ops: []Op{m(WriteFile(r, "/etc/a", []byte("A\n")))}},
		Fix{Message: "b", Ops: []Op{m(WriteFile(r, "/etc/b", []byte("B\n")))}},
	)
	res, err := Apply(r, p, Options{JournalDir: t.TempDir(), BeforeOp: func(n int) {
		if n == 1 {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/b"), []byte("someone else's change\n"), 0o644))
		}
	}})
	require.ErrorContains(t, err, "changed after it was backed up")
	assert.Equal(t, OutcomeApplied, res.Items[0].Status)
	assert.Equal(t, OutcomeFailed, res.Items[1].Status)
	b, _ := os.ReadFile(filepath.Join(dir, "etc/b"))
	assert.Equal(t, "someone else's change\n", string(b))
}

// A read-only filesystem below the target (/boot) is found before the
// first change, and the journal directory is not made on the target.
func TestReadOnlySubMountFailsBeforeAnyChange(t *testing.T) {
	requireRoot(t)
	dir := build(t, tree{"etc/a": "a\n", "boot/grub/grub.cfg": "old\n", "var/lib/": ""})
	boot := filepath.Join(dir, "boot")
	require.NoError(t, unix.Mount(boot, boot, "", unix.MS_BIND, ""))
	t.Cleanup(func() { unix.Unmount(boot, unix.MNT_DETACH) })
	require.NoError(t, unix.Mount("", boot, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""))
	r := open(t, dir)
	before := snapshot(t, dir)
	m := must(t)
	p := planOf(
		Fix{Message: "a", Ops: []Op{m(WriteFile(r, "/etc/a", []byte("A\n")))}},
		Fix{Message: "grub", Ops: []Op{m(WriteFile(r, "/boot/grub/grub.cfg", []byte("new\n")))}},
	)
	_, err := Apply(r, p, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/boot/grub/grub.cfg is on a filesystem mounted read-only")
	assert.Contains(t, err.Error(), "nothing was changed")
	assert.Equal(t, before, snapshot(t, dir))
	assert.NoDirExists(t, filepath.Join(dir, "var/lib/rescue"))
}

// On a full target the room check fails before /var/lib/rescue is made.
func TestFullTargetMakesNoJournalDirectory(t *testing.T) {
	requireRoot(t)
	dir := filepath.Join(t.TempDir(), "root")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, unix.Mount("tmpfs", dir, "tmpfs", 0, "size=2m"))
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/a"), []byte(strings.Repeat("x", 900<<10)), 0o644))
	r := open(t, dir)
	p := planOf(Fix{Message: "a", Ops: []Op{must(t)(WriteFile(r, "/etc/a", []byte(strings.Repeat("y", 900<<10))))}})
	_, err := Apply(r, p, Options{})
	require.ErrorContains(t, err, "bytes free")
	require.ErrorContains(t, err, "nothing was changed")
	assert.NoDirExists(t, filepath.Join(dir, "var"))
}
