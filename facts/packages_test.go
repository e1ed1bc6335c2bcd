package facts_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"rescue/facts"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
	"rescue/sysroot"
)

func rpmPackages() []pkgdbtest.RPMSpec {
	return []pkgdbtest.RPMSpec{
		{Name: "util-linux", Version: "2.32.1", Release: "43.el8", Arch: "x86_64", Payload: "w19.zstdio", Files: []pkgdbtest.RPMFile{
			{Path: "/etc/pam.d/login", Content: "#%PAM-1.0\nauth       substack     system-auth\naccount    required     pam_nologin.so\n", Attrs: "%config(noreplace)"},
			{Path: "/etc/mail.conf", Content: "relay=localhost\n", Mode: "0640", Group: "mail", Attrs: "%config"},
			{Path: "/usr/bin/login", Content: "\x7fELF login stand-in\n", Mode: "0755"},
		}},
		{Name: "glibc", Version: "2.28", Release: "236.el8", Arch: "x86_64", Payload: "w6.xzdio", Files: []pkgdbtest.RPMFile{
			{Path: "/usr/lib64/libnss_files.so.2", Content: strings.Repeat("\x7fELF libnss_files stand-in ", 3000), Mode: "0755"},
			{Path: "/usr/lib64/libc.so.6", Content: strings.Repeat("\x7fELF libc stand-in ", 3000), Mode: "0755"},
			{Path: "/usr/lib64/libc.so", Kind: "symlink", Target: "libc.so.6"},
		}},
	}
}

func rpmRoot(t *testing.T) (root, pkgs string) {
	pkgdbtest.NeedRoot(t, "rpm --root installs into a scratch root by chrooting")
	pkgdbtest.NeedTool(t, "rpmbuild", "rpm")
	pkgs = t.TempDir()
	var files []string
	for _, s := range rpmPackages() {
		files = append(files, pkgdbtest.BuildRPM(t, pkgs, s))
	}
	return pkgdbtest.RPMRoot(t, files...), pkgs
}

func openFacts(t *testing.T, dir string, dirs ...string) (*sysroot.Root, *facts.Facts) {
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { root.Close() })
	return root, facts.New(root, facts.Options{OpenPackages: pkgdb.Open, PackageDirs: dirs})
}

func TestPackageVerifyFacts(t *testing.T) {
	dir, _ := rpmRoot(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "etc/pam.d/login")))
	require.NoError(t, os.Truncate(filepath.Join(dir, "usr/lib64/libc.so.6"), 0))
	_, f := openFacts(t, dir)

	rep, err := f.PackageVerify(true)
	require.NoError(t, err)
	var zero, missing []string
	for _, r := range rep.Results {
		if r.ZeroSize {
			zero = append(zero, r.File.Path)
		}
		if r.Missing {
			missing = append(missing, r.File.Path)
		}
	}
	require.Equal(t, []string{"/usr/lib64/libc.so.6"}, zero)
	require.Equal(t, []string{"/etc/pam.d/login"}, missing)
	again, err := f.PackageVerify(true)
	require.NoError(t, err)
	require.Same(t, rep, again, "computed once per scan")

	res, err := f.VerifyPaths("/etc/pam.d/login", "/usr/lib64/libnss_files.so.2", "/etc/not-packaged")
	require.NoError(t, err)
	require.Len(t, res, 1, "only the missing file differs")
	require.Equal(t, "missing   c /etc/pam.d/login", res[0].Line())

	// A root without a package database: nothing, and no error.
	_, none := openFacts(t, t.TempDir())
	rep, err = none.PackageVerify(false)
	require.NoError(t, err)
	require.Nil(t, rep)
	got, err := none.Restored("/etc/pam.d/login")
	require.ErrorIs(t, err, facts.ErrNoPackages)
	require.Nil(t, got)
}
