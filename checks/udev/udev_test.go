package udev

import (
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
)

func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// FuzzCheck feeds hostile rules files.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("ACTION==\"add\", RUN+=\"/tmp/x\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{"etc/udev/rules.d/99-x.rules": data})
	})
}
