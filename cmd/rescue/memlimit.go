package main

import (
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// init keeps the garbage collector inside an address-space limit the
// process was started under (ulimit -v, as a runbook or the hostile-disk
// tests set): without a soft limit the heap may grow to twice what is live
// before a collection, and a large report then fails to allocate ("out of
// memory") although most of the heap is garbage. A limit set with
// GOMEMLIMIT is left alone.
func init() {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_AS, &rl) != nil || rl.Cur == unix.RLIM_INFINITY || rl.Cur == 0 {
		return
	}
	if debug.SetMemoryLimit(-1) != int64(^uint64(0)>>1) {
		return // GOMEMLIMIT is set
	}
	// Leave room for what is not heap: stacks, the runtime's own
	// structures, the binary.
	debug.SetMemoryLimit(int64(rl.Cur / 2))
}
