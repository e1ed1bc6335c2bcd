package repair

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Inode flags a user sets with chattr: no atime updates, no dump.
const (
	flagNoAtime = 0x00000080 // FS_NOATIME_FL, chattr +A
	flagNoDump  = 0x00000040 // FS_NODUMP_FL, chattr +d
)

// TestApplyKeepsInodeFlags: a file replaced by a repair is a new inode; it
// must carry the flags the old one had (+A, +d), as undo gives them back.
func TestApplyKeepsInodeFlags(t *testing.T) {
	dir := build(t, tree{"etc/a": "one\n"})
	p := filepath.Join(dir, "etc/a")
	if out, err := exec.Command("chattr", "+A", "+d", p).CombinedOutput(); err != nil {
		t.Skipf("chattr +A +d not supported here: %v %s", err, out)
	}
	r := open(t, dir)
	w := &Writer{root: r}
	before, err := w.Flags("/etc/a")
	require.NoError(t, err)
	require.Equal(t, uint32(flagNoAtime|flagNoDump), before&(flagNoAtime|flagNoDump), "chattr set the flags")

	f := Fix{Message: "a", Ops: []Op{must(t)(WriteFile(r, "/etc/a", []byte("ONE\n")))}}
	journal := t.TempDir()
	res, err := Apply(r, planOf(f), Options{JournalDir: journal})
	require.NoError(t, err)
	require.Equal(t, OutcomeApplied, res.Items[0].Status)
	b, _ := os.ReadFile(p)
	require.Equal(t, "ONE\n", string(b))
	after, err := w.Flags("/etc/a")
	require.NoError(t, err)
	assert.Equal(t, before, after, "the replaced file keeps +A and +d")

	_, err = Undo(r, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	undone, err := w.Flags("/etc/a")
	require.NoError(t, err)
	assert.Equal(t, before, undone)
}
