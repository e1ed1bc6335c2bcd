package immutable

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/sysroot"
)

// TestGolden runs the unlocked (healthy) archive; the locked cases need
// chattr, which txtar cannot express, so TestLocked builds them.
func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}

// TestLocked sets real inode flags with chattr and checks what is found.
func TestLocked(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chattr +i needs root (CI runs as root)")
	}
	dir := t.TempDir()
	for _, p := range []string{"etc/passwd", "etc/shadow", "etc/resolv.conf", "root/.ssh/authorized_keys"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte("x\n"), 0o644))
	}
	chattr := func(flag, p string) {
		if out, err := exec.Command("chattr", flag, filepath.Join(dir, p)).CombinedOutput(); err != nil {
			t.Skipf("chattr %s is not supported here: %v %s", flag, err, out)
		}
	}
	chattr("+i", "etc/shadow")
	chattr("+a", "root/.ssh/authorized_keys")
	t.Cleanup(func() {
		exec.Command("chattr", "-i", filepath.Join(dir, "etc/shadow")).Run()
		exec.Command("chattr", "-a", filepath.Join(dir, "root/.ssh/authorized_keys")).Run()
	})
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	res := checks.Run(context.Background(), root, facts.New(root, facts.Options{}), []*checks.Check{Check}, nil)
	require.Len(t, res.Findings, 2)
	assert.Equal(t, "immutable/locked:/etc/shadow", res.Findings[0].ID)
	assert.Contains(t, res.Findings[0].Message, "immutable (chattr +i)")
	assert.Equal(t, "immutable/locked:/root/.ssh/authorized_keys", res.Findings[1].ID)
	assert.Contains(t, res.Findings[1].Message, "append-only (chattr +a)")
	assert.Empty(t, res.Findings[0].Fixes)
	assert.NotEmpty(t, res.Findings[0].NoFix)
}
