package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func atime(t *testing.T, p string) time.Time {
	t.Helper()
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	return time.Unix(st.Atim.Unix())
}

// TestDirectoryScanKeepsAccessTimes: a scan of a directory target reads
// its files and lists its directories without changing their access
// times (O_NOATIME, permitted to the files' owner, which the test is).
func TestDirectoryScanKeepsAccessTimes(t *testing.T) {
	base := t.TempDir()
	// The access times are in the past and older than the modification
	// times, so that any read updates them, relatime or not.
	old, mod := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2002, 1, 1, 0, 0, 0, 0, time.UTC)
	control := filepath.Join(base, "control")
	require.NoError(t, os.WriteFile(control, []byte("x"), 0o644))
	require.NoError(t, os.Chtimes(control, old, mod))
	_, err := os.ReadFile(control)
	require.NoError(t, err)
	if atime(t, control).Equal(old) {
		t.Skip("this filesystem does not update access times on reads (noatime): the test could not fail")
	}

	root := filepath.Join(base, "root")
	files := map[string]string{
		"etc/fstab":           "UUID=2222 / ext4 defaults 0 1\n",
		"etc/passwd":          "root:x:0:0:root:/root:/bin/sh\n",
		"etc/shadow":          "root:*:19800:0:99999:7:::\n",
		"etc/group":           "root:x:0:\n",
		"etc/profile":         "PATH=/usr/bin:/bin\n",
		"etc/ssh/sshd_config": "PermitRootLogin yes\n",
		"etc/pam.d/login":     "@include common-auth\n",
		"usr/lib/os-release":  "ID=debian\nVERSION_ID=12\n",
		"usr/bin/sh":          "#!placeholder\n",
		"boot/grub/grub.cfg":  "menuentry 'Debian' {\n\tlinux /boot/vmlinuz-6.1.0-18-amd64 root=UUID=2222 ro\n}\n",
	}
	for p, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(c), 0o644))
	}
	for _, l := range [][2]string{{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"}} {
		require.NoError(t, os.Symlink(l[1], filepath.Join(root, l[0])))
	}
	devices := filepath.Join(base, "devices")
	require.NoError(t, os.WriteFile(devices, []byte(`/dev/vdb1: UUID="2222" TYPE="ext4"`+"\n"), 0o644))
	// The times are set after the walk, which reads the directories.
	var paths []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink == 0 {
			paths = append(paths, p)
		}
		return err
	}))
	for _, p := range paths {
		require.NoError(t, os.Chtimes(p, old, mod))
	}

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"scan", "--devices", devices, "--root-device", "/dev/vdb1", root}, nil, &stdout, &stderr)
	require.Less(t, code, 8, "scan: %s", stderr.String())
	require.Contains(t, stdout.String(), "/etc/passwd:1", "the scan read the files")
	for _, p := range paths {
		got := atime(t, p)
		assert.True(t, got.Equal(old), "the scan changed the access time of %s to %s", p, got)
	}
}
