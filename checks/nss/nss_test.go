package nss

import (
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
)

// TestGolden runs the archives; those that carry a dpkg database (status
// and .list files are text) let the check tell a library that was deleted
// from one that was never installed.
func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// FuzzCheck feeds hostile nsswitch.conf files to the check.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("passwd: compat\ngroup: sss files [NOTFOUND=return] ldap\nhosts: dns\n"))
	f.Add([]byte("passwd:[x\n:\nshadow: compat compat\n"))
	f.Fuzz(func(t *testing.T, conf []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{"etc/nsswitch.conf": conf, "usr/lib64/libnss_files.so.2": []byte("x")})
	})
}
