package libs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
)

// TestRestoreFromDebianPackages breaks a real Debian 12 root (mmdebstrap
// minbase, real dpkg database) the two ways a library goes: libc.so.6 is
// deleted, and the file behind the libpam.so.0 symlink is truncated. Both
// are restored from the .deb files the root was built from (dpkg records
// them under /lib/x86_64-linux-gnu, the root reaches them through
// /lib -> usr/lib).
func TestRestoreFromDebianPackages(t *testing.T) {
	root, debs := pkgdbtest.DebianRoot(t)
	lib := filepath.Join(root, "usr/lib/x86_64-linux-gnu")
	libc := filepath.Join(lib, "libc.so.6")
	libcData, err := os.ReadFile(libc)
	require.NoError(t, err)
	require.NoError(t, os.Remove(libc))
	pamFile, err := filepath.EvalSymlinks(filepath.Join(lib, "libpam.so.0"))
	require.NoError(t, err)
	pamData, err := os.ReadFile(pamFile)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(pamFile, 0))

	fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{debs}}
	findings := checkstest.RunRoot(t, Check, root, fopt, func(t *testing.T) {
		data, err := os.ReadFile(libc)
		assert.NoError(t, err)
		assert.Equal(t, libcData, data, "libc.so.6 is restored byte for byte")
		data, err = os.ReadFile(pamFile)
		assert.NoError(t, err)
		assert.Equal(t, pamData, data, "libpam is restored byte for byte")
	})
	require.Equal(t, 2, len(findings), "nothing else is wrong with a fresh Debian root:\n%s", checkstest.FormatFindings(findings))
	byKind := map[string]checks.Finding{}
	for _, f := range findings {
		byKind[f.Kind+":"+f.Subject] = f
	}
	libcF, pam := byKind["missing:libc.so.6"], byKind["empty:libpam.so.0"]
	assert.Equal(t, checks.Error, libcF.Severity, checkstest.FormatFindings(findings))
	assert.Equal(t, "/lib/x86_64-linux-gnu/libc.so.6", libcF.Path)
	require.NotEmpty(t, libcF.Fixes, libcF.NoFix)
	assert.Contains(t, libcF.Fixes[0].Message, "from libc6 ")
	assert.Equal(t, "/lib/x86_64-linux-gnu/"+filepath.Base(pamFile), pam.Path, "the file behind the symlink is the one restored")
	require.NotEmpty(t, pam.Fixes, pam.NoFix)
	assert.Contains(t, pam.Fixes[0].Message, "from libpam0g ")
}
