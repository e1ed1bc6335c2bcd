package replaced

import (
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
)

func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}
