package preload

import (
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
)

func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// FuzzCheck feeds hostile ld.so.preload and environment files.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("/etc/libsystem.so\n"), []byte("LD_PRELOAD=/tmp/x.so\n"))
	f.Add([]byte("$LIB/x.so:y.so # c\n"), []byte(`DefaultEnvironment="LD_PRELOAD=/a LD_AUDIT=/b"`))
	f.Fuzz(func(t *testing.T, preload, env []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"etc/ld.so.preload": preload, "etc/environment": env, "etc/systemd/system.conf": env,
			"etc/libsystem.so": []byte("\x7fELF"), "tmp/x.so": []byte("\x7fELF"),
		})
	})
}
