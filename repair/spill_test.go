package repair

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestSpillNeedsHelperJournal spills a rotated log: without a journal
// directory on the helper apply refuses it (a copy kept on the full
// target frees nothing); with one, the file leaves, the journal marks it
// spilled, the diff shows no content, and undo puts it back.
func TestSpillNeedsHelperJournal(t *testing.T) {
	dir := build(t, tree{"var/log/syslog.1": "old log lines\n", "var/log/syslog": "current\n"})
	before := snapshot(t, dir)
	r := open(t, dir)
	m := must(t)
	op := m(Spill(r, "/var/log/syslog.1"))
	_, err := Spill(r, "/var/log")
	assert.ErrorContains(t, err, "only regular files")
	p := planOf(Fix{Message: "spill", Ops: []Op{op}})

	var diff bytes.Buffer
	require.NoError(t, WriteDiff(&diff, r, p))
	assert.Contains(t, diff.String(), "# spilled: moved to the journal on the helper (14 bytes, sha256 "+op.Expect.SHA256)
	assert.NotContains(t, diff.String(), "old log lines", "a spill's diff carries no content")

	res, err := Apply(r, p, Options{})
	require.NoError(t, err)
	require.Equal(t, OutcomeRefused, res.Items[0].Status)
	assert.Contains(t, res.Items[0].Reason, "--spill DIR")
	assert.FileExists(t, filepath.Join(dir, "var/log/syslog.1"))

	journal := t.TempDir()
	_, err = Apply(r, p, Options{JournalDir: journal})
	require.NoError(t, err)
	assert.NoFileExists(t, filepath.Join(dir, "var/log/syslog.1"))
	assert.FileExists(t, filepath.Join(dir, "var/log/syslog"))
	hist, err := History(r, journal)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Len(t, hist[0].Paths, 1)
	assert.True(t, hist[0].Paths[0].Spilled)
	assert.False(t, hist[0].Paths[0].Quarantined)

	_, err = Undo(r, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, before, snapshot(t, dir))
}

// TestUndoWithoutTmpfile: on a filesystem without O_TMPFILE, undo puts a
// removed file back through a temporary name renamed without replacing,
// and leaves no temporary file.
func TestUndoWithoutTmpfile(t *testing.T) {
	orig := openTmpfile
	openTmpfile = func(int) (int, error) { return -1, unix.EOPNOTSUPP }
	defer func() { openTmpfile = orig }()
	dir := build(t, tree{"var/log/syslog.1": "old log lines\n"})
	before := snapshot(t, dir)
	r := open(t, dir)
	journal := t.TempDir()
	_, err := Apply(r, planOf(Fix{Message: "spill", Ops: []Op{must(t)(Spill(r, "/var/log/syslog.1"))}}), Options{JournalDir: journal})
	require.NoError(t, err)
	assert.NoFileExists(t, filepath.Join(dir, "var/log/syslog.1"))
	_, err = Undo(r, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, before, snapshot(t, dir))
	assertNoTemps(t, dir)
}
