package modules

import (
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
)

func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// FuzzCheck feeds hostile module lists, modprobe files and modules.dep.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("diamorphine\n/tmp/x.ko\n"), []byte("install usb-storage /sbin/insmod /tmp/.x/r.ko \\\n  ; true\n"))
	f.Fuzz(func(t *testing.T, list, conf []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"etc/modules": list, "etc/modprobe.d/x.conf": conf, "lib/modules/6.1.0-1-amd64/modules.dep": list,
		})
	})
}
