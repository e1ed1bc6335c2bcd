package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLockMounts: the lock on mounting clones of a UUID excludes another
// holder in this process and in another process, and waiting for it ends
// with the context.
func TestLockMounts(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	unlock, err := lockMounts(ctx, dir, "u1")
	require.NoError(t, err)

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = lockMounts(short, dir, "u1")
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a second holder in the same process waits")

	other, err := lockMounts(ctx, dir, "u2")
	require.NoError(t, err, "another UUID is another lock")
	other()

	// Another process (flock(1) on the same file) cannot take it either.
	if _, err := exec.LookPath("flock"); err == nil {
		lockFile := filepath.Join(dir, "mount-u1.lock")
		err := exec.Command("flock", "-n", lockFile, "true").Run()
		assert.Error(t, err, "flock -n in another process fails while the lock is held")
		unlock()
		assert.NoError(t, exec.Command("flock", "-n", lockFile, "true").Run(), "and succeeds once it is released")
	} else {
		unlock()
	}

	done := make(chan error, 1)
	again, err := lockMounts(ctx, dir, "u1")
	require.NoError(t, err)
	go func() {
		u, err := lockMounts(ctx, dir, "u1")
		if err == nil {
			u()
		}
		done <- err
	}()
	select {
	case <-done:
		t.Fatal("the lock was taken twice")
	case <-time.After(400 * time.Millisecond):
	}
	again()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter never got the lock")
	}
	_, err = os.Stat(filepath.Join(dir, "mount-u1.lock"))
	assert.NoError(t, err)
}
