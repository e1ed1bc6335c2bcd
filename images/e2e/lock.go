package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// lockMounts takes the lock on mounting clones of the filesystem uuid: an
// exclusive flock on a file in the cache directory. Every scenario copy
// carries the base image's UUID, and rescue rightly reports a filesystem
// whose UUID is mounted on the helper already (a clone of the helper's own
// disk), so whatever mounts a copy (fault injection, rescue, manifests)
// holds this lock: across the goroutines of one run, since each call opens
// the file anew, and across e2e processes sharing the cache. It returns the
// function that releases the lock.
func lockMounts(ctx context.Context, cacheDir, uuid string) (func(), error) {
	p := filepath.Join(cacheDir, "mount-"+uuid+".lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the mount lock: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", p, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
