package sysroot

import (
	"errors"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Cached says how much of an open file's first size bytes the page cache
// holds, as cachestat(2) tells without reading anything: the pages
// cached, of the pages there are. ok is false when the kernel cannot tell
// (before Linux 6.5) or the file is empty.
func Cached(fd int, size int64) (cached, pages uint64, ok bool) {
	if size <= 0 || noCachestat.Load() {
		return 0, 0, false
	}
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(fd), &unix.CachestatRange{Len: uint64(size)}, &cs, 0); err != nil {
		if errors.Is(err, unix.ENOSYS) {
			noCachestat.Store(true)
		}
		return 0, 0, false
	}
	ps := int64(unix.Getpagesize())
	return cs.Cache, uint64((size + ps - 1) / ps), true
}

// noCachestat is set once the kernel has shown it has no cachestat(2).
var noCachestat atomic.Bool
