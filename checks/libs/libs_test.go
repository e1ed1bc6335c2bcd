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

// FuzzCheck feeds hostile ld.so.preload and ld.so.conf files, and a
// hostile "program", to the check.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("/usr/lib/libx.so libc.so.6:/gone\n"), []byte("include *.conf\n/usr/lib\n"), []byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, preload, conf, prog []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"etc/ld.so.preload": preload, "etc/ld.so.conf": conf, "etc/x.conf": conf, "usr/bin/bash": prog,
		})
	})
}
