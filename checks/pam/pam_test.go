package pam

import (
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
)

// TestGolden runs the archives; those with a dpkg database written out
// (status and .list files are text) say where the packages put the
// modules.
func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// FuzzCheck feeds hostile PAM files to the check.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("auth required pam_succeed_if.so user != root\n@include common-auth\n"), []byte("auth [success=1 default=ignore] pam_unix.so\n"))
	f.Add([]byte("auth substack login\n"), []byte("-auth x\\\n"))
	f.Fuzz(func(t *testing.T, login, common []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"etc/pam.d/login": login, "etc/pam.d/common-auth": common, "etc/pam.d/other": common,
			"etc/pam.d/login.rpmsave": common, "usr/bin/login": []byte("x"), "etc/securetty": login,
		})
	})
}
