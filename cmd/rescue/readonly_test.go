package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestFixOnReadOnlyTarget: fix --apply on a target mounted read-only
// changes nothing and says so, without empty "because:" lines and without
// a hint to undo a repair that never happened.
func TestFixOnReadOnlyTarget(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount the target read-only (CI runs as root)")
	}
	base := t.TempDir()
	root := filepath.Join(base, "root")
	for p, c := range map[string]string{
		"etc/fstab":          "UUID=1111-dead / ext4 errors=remount-ro 0 1\n",
		"usr/lib/os-release": "ID=debian\n",
	} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(c), 0o644))
	}
	devices := filepath.Join(base, "devices")
	require.NoError(t, os.WriteFile(devices, []byte(`/dev/vdb1: UUID="2222-real" TYPE="ext4"`+"\n"), 0o644))
	require.NoError(t, unix.Mount(root, root, "", unix.MS_BIND, ""))
	t.Cleanup(func() { unix.Unmount(root, unix.MNT_DETACH) })
	require.NoError(t, unix.Mount("", root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""))

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"fix", "--apply", "--devices", devices, "--root-device", "/dev/vdb1", root}, nil, &stdout, &stderr)
	out := stdout.String() + stderr.String()
	assert.Equal(t, 8, code, out)
	assert.Contains(t, out, "read-only")
	assert.Contains(t, out, "nothing was changed")
	assert.NotRegexp(t, regexp.MustCompile(`(?m)because:\s*$`), out, "no empty reasons")
	assert.NotContains(t, out, "rescue undo", "nothing was done, so there is nothing to undo")
	assert.Contains(t, stdout.String(), "fstab/root-source-unknown", "the fix that was not applied is named")
	data, err := os.ReadFile(filepath.Join(root, "etc/fstab"))
	require.NoError(t, err)
	assert.Contains(t, string(data), "1111-dead")
}
