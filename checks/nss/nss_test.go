package nss

import (
	"testing"

	"rescue/checks/checkstest"
)

func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}

// FuzzCheck feeds hostile nsswitch.conf files to the check.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("passwd: compat\ngroup: sss files [NOTFOUND=return] ldap\nhosts: dns\n"))
	f.Add([]byte("passwd:[x\n:\nshadow: compat compat\n"))
	f.Fuzz(func(t *testing.T, conf []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{"etc/nsswitch.conf": conf, "usr/lib64/libnss_files.so.2": []byte("x")})
	})
}
