package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Verify raises the scheduler's slots for its readers (--procs) once it
// waits for the disk, and gives the process its own count back: a scan or
// a test run after it in the same process must not inherit 4 slots per
// core. The files are put out of the page cache first, so that the slots
// are raised.
func TestVerifyGivesBackSchedulerSlots(t *testing.T) {
	root := dpkgRoot(t, 50)
	before := runtime.GOMAXPROCS(0)
	for _, args := range [][]string{{"verify", root}, {"verify", root, "--procs", "7"}} {
		evictTree(t, root)
		var stdout, stderr bytes.Buffer
		require.Equal(t, 0, run(context.Background(), args, nil, &stdout, &stderr), stderr.String())
		require.Contains(t, stderr.String(), "everything matches")
		require.Equal(t, before, runtime.GOMAXPROCS(0), "%v", args)
	}
}

// evictTree puts every file under dir out of the page cache.
func evictTree(t *testing.T, dir string) {
	require.NoError(t, filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		f.Sync()
		return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	}))
}
