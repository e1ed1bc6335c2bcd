package spill

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/facts"
	"rescue/repair"
	"rescue/sysroot"
)

// TestSelection builds a root with what a spill may move and what looks
// close but must stay, and checks the exact list.
func TestSelection(t *testing.T) {
	dir := t.TempDir()
	files := map[string]bool{ // path: moved
		"var/log/syslog":                               false,
		"var/log/syslog.1":                             true,
		"var/log/syslog.2.gz":                          true,
		"var/log/messages-20261120":                    true,
		"var/log/secure-20261120.gz":                   true,
		"var/log/Xorg.0.log.old":                       true,
		"var/log/nginx/access.log.14.gz":               true,
		"var/log/nginx/access.log":                     false,
		"var/log/installer/syslog":                     false,
		"var/log/journal/m1/system.journal":            false,
		"var/log/journal/m1/user-1000.journal":         false,
		"var/log/journal/m1/system@0005-0001.journal":  true,
		"var/log/journal/m1/system@0005-0002.journal~": true,
		"var/log/journal/m1/deep/x@1.journal":          false,
		"var/log/journal/x@1.journal":                  false,
		"var/cache/apt/archives/a_1_amd64.deb":         true,
		"var/cache/apt/archives/partial/b.deb":         false,
		"var/cache/apt/archives/lock":                  false,
		"var/cache/apt/pkgcache.bin":                   false,
		"var/cache/dnf/appstream/packages/c.rpm":       true,
		"var/cache/yum/x86_64/7/base/repomd.xml":       true,
		"var/lib/systemd/coredump/core.a.zst":          true,
		"var/crash/_usr_bin_a.0.crash":                 true,
		"var/crash/127.0.0.1-2026-11-01/vmcore":        true,
		"var/lib/mysql/ib_logfile1":                    false,
		"home/u/backup.tar.gz":                         false,
		"etc/shadow.1":                                 false,
	}
	for p := range files {
		f := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(f), 0o755))
		require.NoError(t, os.WriteFile(f, []byte("content of "+p+"\n"), 0o644))
	}
	// Empty files free nothing; a link elsewhere keeps the blocks.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "var/log/empty.1"), nil, 0o644))
	require.NoError(t, os.Link(filepath.Join(dir, "var/log/syslog.1"), filepath.Join(dir, "home/u/syslog-copy")))
	files["var/log/syslog.1"] = false
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	r, err := Plan(root, []facts.Filesystem{{Device: "/dev/vdb1", MountPoint: "/", AvailBytes: 0}})
	require.NoError(t, err)
	var got, want []string
	for _, f := range r.Files {
		got = append(got, f.Path)
	}
	for p, moved := range files {
		if moved {
			want = append(want, "/"+p)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	assert.Equal(t, want, got)
	require.Len(t, r.Fix.Ops, len(want))
	for _, op := range r.Fix.Ops {
		assert.Equal(t, repair.KindSpill, op.Kind)
	}
	assert.Contains(t, r.Changes[1], "/ (/dev/vdb1) gets")
}

func TestNothing(t *testing.T) {
	root, err := sysroot.Open(t.TempDir())
	require.NoError(t, err)
	defer root.Close()
	r, err := Plan(root, nil)
	require.NoError(t, err)
	assert.Empty(t, r.Fix.Ops)
	assert.Contains(t, r.Notes[0], "nothing to move")
}
