package images

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// FillToLastBlock allocates to f every block of its filesystem that its
// writer can have: it asks for 256 MiB at a time and halves the request at
// each ENOSPC, down to a block. The filesystem is then full to its last
// block, reserved blocks included for root, as a root daemon writing logs
// leaves it. f is synced.
func FillToLastBlock(f *os.File) error {
	off, chunk := int64(0), int64(256<<20)
	for chunk >= 4096 {
		err := unix.Fallocate(int(f.Fd()), 0, off, chunk)
		switch {
		case err == nil:
			off += chunk
		case errors.Is(err, unix.ENOSPC):
			chunk /= 2
		default:
			return err
		}
	}
	return f.Sync()
}
