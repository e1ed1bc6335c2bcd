package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	return m, s
}

// dpkgRoot is a root with one package of n files.
func dpkgRoot(t *testing.T, n int) string {
	dir := t.TempDir()
	var list, sums strings.Builder
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "usr/share/p"), 0o755))
	for i := range n {
		p := fmt.Sprintf("/usr/share/p/f%d", i)
		data := []byte(strings.Repeat("x", i))
		require.NoError(t, os.WriteFile(dir+p, data, 0o644))
		sum := md5.Sum(data)
		fmt.Fprintf(&list, "%s\n", p)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), p[1:])
	}
	info := filepath.Join(dir, "var/lib/dpkg/info")
	require.NoError(t, os.MkdirAll(info, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(info, "p.list"), []byte(list.String()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(info, "p.md5sums"), []byte(sums.String()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "var/lib/dpkg/status"),
		[]byte("Package: p\nStatus: install ok installed\nArchitecture: all\nVersion: 1\nDescription: p\n\n"), 0o644))
	return dir
}

// Progress shows on a terminal (files, bytes, rate), and never on a pipe or
// with --json.
func TestProgress(t *testing.T) {
	defer func(d time.Duration) { progressAfter = d }(progressAfter)
	progressAfter = 0
	root := dpkgRoot(t, 300)

	onTerminal := func(args ...string) string {
		m, s := openPTY(t)
		defer m.Close()
		var out bytes.Buffer
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			for {
				n, err := m.Read(buf)
				out.Write(buf[:n])
				if err != nil {
					return
				}
			}
		}()
		var stdout bytes.Buffer
		run(context.Background(), args, nil, &stdout, s)
		s.Close()
		m.SetReadDeadline(time.Now().Add(2 * time.Second))
		wg.Wait()
		return out.String()
	}
	got := onTerminal("verify", root)
	require.Regexp(t, `verifying: \d+/300 paths, [0-9.]+ (B|KiB) read, [0-9.]+ [KMG]?i?B/s`, got)
	require.NotContains(t, onTerminal("verify", root, "--json"), "verifying")
	require.NotContains(t, onTerminal("scan", root, "--json"), "checking")
	require.Contains(t, onTerminal("scan", root), "checking ")

	var stdout, stderr bytes.Buffer
	run(context.Background(), []string{"verify", root}, nil, &stdout, &stderr)
	require.NotContains(t, stderr.String(), "verifying", "progress on a pipe")
	require.Contains(t, stderr.String(), "everything matches")
}
