package checks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/facts"
	"rescue/sysroot"
)

// Prepare runs before the check's turn, its result reaches Run through the
// Pass, and a Prepare that panics leaves Run to do the work (no crash).
func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644))
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()

	started := make(chan struct{})
	var got []any
	prepared := &Check{Name: "prepared",
		Prepare: func(r *sysroot.Root, f *facts.Facts) any {
			close(started)
			data, _ := r.ReadFile("/f")
			return string(data)
		},
		Run: func(p *Pass) error { got = append(got, p.Prepared()); return nil }}
	// The first check waits for the second's Prepare: it ran at once.
	first := &Check{Name: "first", Run: func(p *Pass) error {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			return errors.New("the next check's Prepare did not start")
		}
		got = append(got, p.Prepared())
		return nil
	}}
	panics := &Check{Name: "panics",
		Prepare: func(*sysroot.Root, *facts.Facts) any { panic("bug") },
		Run:     func(p *Pass) error { got = append(got, p.Prepared()); return nil }}
	res := Run(context.Background(), root, facts.New(root, facts.Options{}), []*Check{first, prepared, panics}, nil)
	require.False(t, res.Failed())
	require.Equal(t, []any{nil, "x", nil}, got)
}

// The union of what checks and their facts read, in check order, each once.
func TestReads(t *testing.T) {
	a := &Check{Name: "a", Requires: []facts.Fact{facts.Fstab}, Reads: []string{"/etc/a", "/etc/fstab"}}
	b := &Check{Name: "b", Requires: []facts.Fact{facts.Fstab, facts.OSRelease}, Reads: []string{"/etc/b", "/etc/a"}}
	require.Equal(t, []string{"/etc/fstab", "/etc/a", "/etc/os-release", "/usr/lib/os-release", "/etc/b"}, Reads([]*Check{a, b}))
}

// TestSelectFamily selects and leaves out a family of checks by its name.
func TestSelectFamily(t *testing.T) {
	a, b, c := &Check{Name: "fstab"}, &Check{Name: "cron", Family: "intrusions"}, &Check{Name: "units", Family: "intrusions"}
	all := []*Check{a, b, c}
	names := func(spec string) []string {
		t.Helper()
		list, err := Select(all, spec)
		require.NoError(t, err)
		var out []string
		for _, c := range list {
			out = append(out, c.Name)
		}
		return out
	}
	assert.Equal(t, []string{"cron", "units"}, names("intrusions"))
	assert.Equal(t, []string{"fstab"}, names("-intrusions"))
	assert.Equal(t, []string{"fstab", "units"}, names("fstab,intrusions,-cron"))
	_, err := Select(all, "intrusion")
	assert.ErrorContains(t, err, "unknown check")
}
