package repair

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuarantineMovesIntoJournal quarantines a program and a symlink: both
// leave the target, the journal keeps the program's bytes under the digest
// the op recorded (and not executable), the diff says where it went, and
// undo puts both back exactly.
func TestQuarantineMovesIntoJournal(t *testing.T) {
	dir := build(t, tree{
		"tmp/.x/kinsing":  "\x7fELF miner stand-in\n",
		"etc/cron.d/link": "->/tmp/.x/job",
		"etc/keep":        "stays\n",
	})
	require.NoError(t, os.Chmod(filepath.Join(dir, "tmp/.x/kinsing"), 0o755))
	before := snapshot(t, dir)
	r := open(t, dir)
	m := must(t)
	q := m(Quarantine(r, "/tmp/.x/kinsing"))
	l := m(Quarantine(r, "/etc/cron.d/link"))
	assert.Equal(t, File, q.Expect.Type)
	assert.Equal(t, Symlink, l.Expect.Type, "a symlink is quarantined itself, not followed")
	_, err := Quarantine(r, "/tmp/.x")
	assert.ErrorContains(t, err, "only files and symlinks")

	p := planOf(Fix{Message: "q", Ops: []Op{q, l}})
	var diff bytes.Buffer
	require.NoError(t, WriteDiff(&diff, r, p))
	assert.Contains(t, diff.String(), "deleted file mode 100755")
	assert.Contains(t, diff.String(), "# quarantined: moved into the repair journal ("+"20 bytes, sha256 "+q.Expect.SHA256)
	assert.Contains(t, diff.String(), "-/tmp/.x/job")

	journal := t.TempDir()
	res, err := Apply(r, p, Options{JournalDir: journal})
	require.NoError(t, err)
	assert.NoFileExists(t, filepath.Join(dir, "tmp/.x/kinsing"))
	_, err = os.Lstat(filepath.Join(dir, "etc/cron.d/link"))
	assert.True(t, os.IsNotExist(err))

	hist, err := History(r, journal)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	var kept *PathRecord
	for i, rec := range hist[0].Paths {
		if rec.Path == "/tmp/.x/kinsing" {
			kept = &hist[0].Paths[i]
		}
	}
	require.NotNil(t, kept)
	assert.True(t, kept.Quarantined)
	assert.Equal(t, q.Expect.SHA256, kept.Before.SHA256)
	copyPath := filepath.Join(journal, res.ID, "backup", kept.Backup)
	data, err := os.ReadFile(copyPath)
	require.NoError(t, err)
	assert.Equal(t, q.Expect.SHA256, sum(data))
	fi, err := os.Stat(copyPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the quarantined copy cannot be run")

	_, err = Undo(r, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, before, snapshot(t, dir))
}

// TestQuarantineDuplicatesMerge plans the same quarantine from two fixes
// (a cron line and a unit that run the same payload): the file is moved
// once and the second fix is merged into the first.
func TestQuarantineDuplicatesMerge(t *testing.T) {
	dir := build(t, tree{"tmp/kdevtmpfsi": "x\n"})
	r := open(t, dir)
	m := must(t)
	p := planOf(
		Fix{Message: "cron", Ops: []Op{m(Quarantine(r, "/tmp/kdevtmpfsi"))}},
		Fix{Message: "unit", Ops: []Op{m(Quarantine(r, "/tmp/kdevtmpfsi"))}},
	)
	require.Len(t, p.Items, 2)
	assert.Empty(t, p.Skipped)
	assert.Len(t, p.Ops(), 1)
	assert.Equal(t, []string{"test/f0"}, p.Items[1].MergedInto)
}

// TestUnlockClearsForGood clears chattr +i from a file a fix then edits: the
// flag stays cleared after apply (unlike --clear-immutable alone, which
// sets it again), the journal records it, and undo sets it again, also on a
// path whose content the repair did not change.
func TestUnlockClearsForGood(t *testing.T) {
	requireRoot(t)
	dir := build(t, tree{"etc/cron.d/x": "* * * * * root /tmp/x\n", "root/.ssh/authorized_keys": "ssh-ed25519 AAAA k\n"})
	for _, p := range []string{"etc/cron.d/x", "root/.ssh/authorized_keys"} {
		if out, err := exec.Command("chattr", "+i", filepath.Join(dir, p)).CombinedOutput(); err != nil {
			t.Skipf("chattr +i not supported here: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", filepath.Join(dir, p)).Run() })
	}
	before := snapshot(t, dir)
	r := open(t, dir)
	m := must(t)
	u := m(Unlock(r, "/etc/cron.d/x"))
	assert.Equal(t, "+i", FlagNames(u.Flags))
	p := planOf(
		Fix{Message: "cron", Ops: []Op{u, m(WriteFile(r, "/etc/cron.d/x", []byte("# disabled\n")))}},
		Fix{Message: "keys", Ops: []Op{m(Unlock(r, "/root/.ssh/authorized_keys"))}},
	)
	var diff bytes.Buffer
	require.NoError(t, WriteDiff(&diff, r, p))
	assert.Contains(t, diff.String(), "# chattr -i -a /etc/cron.d/x (was +i)")

	journal := t.TempDir()
	res, err := Apply(r, p, Options{JournalDir: journal})
	require.NoError(t, err)
	assert.Contains(t, res.Items[0].Reason, "--clear-immutable", "unlocking needs the flag, as every change to a locked file does")

	res, err = Apply(r, p, Options{JournalDir: journal, ClearImmutable: true})
	require.NoError(t, err)
	for _, it := range res.Items {
		assert.Equal(t, OutcomeApplied, it.Status, it.Reason)
	}
	w := &Writer{root: r}
	for _, path := range []string{"/etc/cron.d/x", "/root/.ssh/authorized_keys"} {
		locked, err := w.Locked(path)
		require.NoError(t, err)
		assert.False(t, locked, "%s stays unlocked after the repair", path)
	}

	_, err = Undo(r, UndoOptions{JournalDir: journal, ID: res.ID})
	require.NoError(t, err)
	for _, path := range []string{"/etc/cron.d/x", "/root/.ssh/authorized_keys"} {
		locked, err := w.Locked(path)
		require.NoError(t, err)
		assert.True(t, locked, "undo sets +i on %s again", path)
	}
	exec.Command("chattr", "-i", filepath.Join(dir, "etc/cron.d/x")).Run()
	exec.Command("chattr", "-i", filepath.Join(dir, "root/.ssh/authorized_keys")).Run()
	assert.Equal(t, before, snapshot(t, dir))
}
