package backdoors

import (
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
)

func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// FuzzCheck feeds hostile account and sudoers files.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("toor:x:0:0::/root:/bin/bash\nwww-data:x:33:33::/var/www:/bin/sh\n"), []byte("www-data ALL=(ALL) NOPASSWD: ALL\n#includedir /etc/sudoers.d\n"))
	f.Fuzz(func(t *testing.T, pw, sudo []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"etc/passwd": pw, "etc/shadow": pw, "etc/sudoers": sudo, "etc/sudoers.d/x": sudo,
		})
	})
}
