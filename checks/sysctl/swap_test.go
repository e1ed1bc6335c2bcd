package sysctl

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/facts"
	"rescue/sysroot"
)

// TestOvercommitSwapFile: the same strict overcommit as the
// overcommit-swap-partition golden, with a 1 GiB swap file (sparse) named
// in fstab: its size is read, the commit limit is 1.2 GiB, enough for a
// boot, and only the ratio below 50% is a warning. Without the file the
// limit is 204 MiB: an error.
func TestOvercommitSwapFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	write("etc/fstab", "UUID=1111 / xfs defaults 0 0\n/swapfile none swap sw 0 0\n")
	write("etc/sysctl.d/60-db.conf", "vm.overcommit_memory = 2\nvm.overcommit_ratio = 10\n")
	scan := func() checks.Finding {
		root, err := sysroot.Open(dir)
		require.NoError(t, err)
		defer root.Close()
		res := checks.Run(context.Background(), root, facts.New(root, facts.Options{Memory: 2 << 30}), []*checks.Check{Check}, nil)
		require.Len(t, res.Findings, 1)
		return res.Findings[0]
	}
	f := scan()
	assert.Equal(t, checks.Error, f.Severity, "the swap file is missing: no swap")
	assert.Contains(t, f.Message, "2 GiB RAM x 10% + no swap from /swapfile (missing) = 204 MiB")

	sw := filepath.Join(dir, "swapfile")
	require.NoError(t, os.WriteFile(sw, nil, 0o600))
	require.NoError(t, os.Truncate(sw, 1<<30))
	f = scan()
	assert.Equal(t, checks.Warning, f.Severity)
	assert.Contains(t, f.Message, "2 GiB RAM x 10% + 1 GiB swap (/swapfile) = 1.2 GiB")
}
