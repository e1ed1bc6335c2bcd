package pkgdb

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Every size around the read and alignment boundaries reads back exactly,
// from the cache, from a cold file (direct I/O where the filesystem has
// it), from a file only partly cached, and from one that grew after it was
// looked at.
func TestOnceReader(t *testing.T) {
	const bufSize = 64 << 10
	r := newOnceReader(bufSize)
	defer r.close()
	dir := t.TempDir()
	for _, size := range []int{1, 511, 4095, 4096, 4097, bufSize - 1, bufSize, bufSize + 1, 5*bufSize + 123} {
		data := make([]byte, size)
		rand.Read(data)
		p := filepath.Join(dir, "f")
		require.NoError(t, os.WriteFile(p, data, 0o644))
		fd, err := unix.Open(p, unix.O_RDONLY, 0)
		require.NoError(t, err)
		require.NoError(t, unix.Fsync(fd))
		// Each read opens the file anew, as verify does: each may
		// leave direct I/O on for the descriptor.
		read := func(size int64) []byte {
			fd, err := unix.Open(p, unix.O_RDONLY, 0)
			require.NoError(t, err)
			defer unix.Close(fd)
			var got []byte
			n, err := r.each(context.Background(), fd, size, func(b []byte) { got = append(got, b...) })
			require.NoError(t, err)
			require.Equal(t, int64(len(got)), n)
			return got
		}
		require.True(t, bytes.Equal(data, read(int64(size))), "cached, %d bytes", size)
		unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
		require.True(t, bytes.Equal(data, read(int64(size))), "cold, %d bytes", size)
		unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
		buf := make([]byte, min(size, 8192))
		unix.Pread(fd, buf, 0)
		require.True(t, bytes.Equal(data, read(int64(size))), "partly cached, %d bytes", size)
		if size > 1 {
			unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
			require.True(t, bytes.Equal(data, read(int64(size/2))), "grown, %d bytes", size)
		}
		unix.Close(fd)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := filepath.Join(dir, "f")
	fd, err := unix.Open(p, unix.O_RDONLY, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
	_, err = r.each(ctx, fd, 5*bufSize+123, func([]byte) {})
	require.ErrorIs(t, err, context.Canceled)
}
