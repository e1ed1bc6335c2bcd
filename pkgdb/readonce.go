package pkgdb

import (
	"context"
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"

	"rescue/sysroot"
)

// onceReader reads files whole, once each, in large reads, the way verify
// wants them: a file already in the page cache is read from there; a file
// none of whose pages are cached (the cold disk verify is made for, as
// cachestat(2) tells) is read with direct I/O, straight from the disk into
// the buffer, without filling a cache nobody reads again: on a cold local
// disk, less time in the kernel and a shorter verify (make bench, "cold
// local"). A second verify is then as cold as the first.
type onceReader struct {
	// buf is page-aligned, as direct I/O needs.
	buf []byte
	// waits, when set, is called before reading a file that may make the
	// reader wait for the disk: none of its pages cached, or no way to
	// tell (VerifyOptions.DiskWait).
	waits func()
}

// directAlign is the alignment direct I/O asks of lengths and offsets: the
// largest logical block size in use.
const directAlign = 4096

func newOnceReader(size int) *onceReader {
	buf, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		buf = make([]byte, size) // no direct I/O then: see direct below
	}
	return &onceReader{buf: buf}
}

func (r *onceReader) close() {
	unix.Munmap(r.buf)
}

// each reads the open file fd, whose size was size when it was looked at,
// from its start to its end, and calls fn with each chunk. It returns the
// bytes read. It may leave direct I/O on for fd: a descriptor is read once
// and closed.
func (r *onceReader) each(ctx context.Context, fd int, size int64, fn func([]byte)) (int64, error) {
	direct := false
	cached, _, known := sysroot.Cached(fd, size)
	if known && cached == 0 {
		direct = r.direct(fd, true)
	}
	if r.waits != nil && (!known || cached == 0) {
		r.waits()
	}
	off := int64(0)
	if !direct && size > 4*int64(len(r.buf)) {
		// A large file read through the cache is handed to the kernel's
		// read-ahead whole, so that a cold disk is asked for all of it
		// at once rather than one read-ahead window after another.
		unix.Fadvise(fd, 0, size, unix.FADV_WILLNEED)
	}
	for {
		if err := ctx.Err(); err != nil {
			// A file of many gigabytes must not hold up a SIGTERM.
			return off, err
		}
		want := r.want(size, off, direct)
		n, err := unix.Pread(fd, r.buf[:want], off)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if direct && errors.Is(err, unix.EINVAL) {
			// The filesystem took O_DIRECT but refuses this read
			// (an alignment it wants larger): read through the cache.
			direct = r.direct(fd, false)
			continue
		}
		if err != nil {
			return off, err
		}
		if n == 0 {
			return off, nil
		}
		fn(r.buf[:n])
		off += int64(n)
		// Asked for more than was left and got less: that was the end.
		if n < want && off >= size {
			return off, nil
		}
	}
}

// want is how much to ask for at off: through the cache, one byte more
// than what is left (so that a file that fits is one call, and getting
// exactly what was left is its end); with direct I/O, that rounded up to
// the alignment.
func (r *onceReader) want(size, off int64, direct bool) int {
	left := size - off + 1
	if left <= 0 || left > int64(len(r.buf)) {
		return len(r.buf)
	}
	if direct {
		left = (left + directAlign - 1) &^ (directAlign - 1)
		if left > int64(len(r.buf)) {
			return len(r.buf)
		}
	}
	return int(left)
}

// direct turns direct I/O on or off for fd and reports whether it is on.
func (r *onceReader) direct(fd int, on bool) bool {
	if len(r.buf) == 0 || uintptr(unsafe.Pointer(&r.buf[0]))%directAlign != 0 {
		return false
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return false
	}
	if on {
		fl |= unix.O_DIRECT
	} else {
		fl &^= unix.O_DIRECT
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl); err != nil {
		return false
	}
	return on
}
