package libs

import (
	"testing"

	"rescue/checks/checkstest"
)

// The goldens copy the host's own programs and libraries into their roots
// (the "host" setup directive): real ELF files with real DT_NEEDED,
// RUNPATH and PT_INTERP, never committed. They skip where the host lacks
// one of them.
func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}
