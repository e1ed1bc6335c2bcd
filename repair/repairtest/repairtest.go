// Package repairtest holds what tests of commands run in a target's chroot
// share.
package repairtest

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// StaticTestBinary is the running test binary, rebuilt static (in the
// package directory the test runs in) when it is not, so that it runs in
// the chroot of a target root as a stand-in for the target's own program.
func StaticTestBinary(t testing.TB) string {
	self, err := os.Executable()
	require.NoError(t, err)
	f, err := elf.Open(self)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			out := filepath.Join(t.TempDir(), filepath.Base(self))
			cmd := exec.Command("go", "test", "-c", "-o", out, ".")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Skipf("no static test binary to run in the chroot: %v %s", err, b)
			}
			return out
		}
	}
	return self
}
