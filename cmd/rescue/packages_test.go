package main

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// Verify raises the scheduler's slots for its readers (--procs) and gives
// the process its own count back: a scan or a test run after it in the
// same process must not inherit 4 slots per core.
func TestVerifyGivesBackSchedulerSlots(t *testing.T) {
	root := dpkgRoot(t, 50)
	before := runtime.GOMAXPROCS(0)
	for _, args := range [][]string{{"verify", root}, {"verify", root, "--procs", "7"}} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 0, run(context.Background(), args, nil, &stdout, &stderr), stderr.String())
		require.Contains(t, stderr.String(), "everything matches")
		require.Equal(t, before, runtime.GOMAXPROCS(0), "%v", args)
	}
}
