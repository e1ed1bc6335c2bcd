package facts_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"rescue/facts"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
	"rescue/sysroot"
)

func openFacts(t *testing.T, dir string, dirs ...string) (*sysroot.Root, *facts.Facts) {
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { root.Close() })
	return root, facts.New(root, facts.Options{OpenPackages: pkgdb.Open, PackageDirs: dirs})
}

func TestPackageVerifyFacts(t *testing.T) {
	dir, _ := pkgdbtest.LoginRPMRoot(t)
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
