package perms

import (
	"os"
	"testing"

	"rescue/checks/checkstest"
)

func TestGolden(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the perms goldens set and compare owners: run as root (CI does)")
	}
	checkstest.Run(t, Check)
}
