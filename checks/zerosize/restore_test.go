package zerosize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
)

// TestRestoreFromDebianPackages truncates files of a real Debian 12 root
// (mmdebstrap minbase, with its real dpkg database) and restores them from
// the very .deb files it was built from: /usr/bin/login (which dpkg
// records as /bin/login) and pam_unix.so.
func TestRestoreFromDebianPackages(t *testing.T) {
	root, debs := pkgdbtest.DebianRoot(t)
	paths := []string{"usr/bin/login", "usr/lib/x86_64-linux-gnu/security/pam_unix.so"}
	orig := map[string][]byte{}
	modes := map[string]os.FileMode{}
	for _, p := range paths {
		full := filepath.Join(root, p)
		data, err := os.ReadFile(full)
		require.NoError(t, err)
		fi, err := os.Stat(full)
		require.NoError(t, err)
		require.NotEmpty(t, data)
		orig[p], modes[p] = data, fi.Mode()
		require.NoError(t, os.Truncate(full, 0))
	}
	fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{debs}}
	findings := checkstest.RunRoot(t, Check, root, fopt, func(t *testing.T) {
		for _, p := range paths {
			full := filepath.Join(root, p)
			data, err := os.ReadFile(full)
			require.NoError(t, err)
			assert.Equal(t, orig[p], data, "%s is restored byte for byte", p)
			fi, err := os.Stat(full)
			require.NoError(t, err)
			assert.Equal(t, modes[p], fi.Mode(), p)
		}
	})
	got := map[string]checks.Finding{}
	for _, f := range findings {
		got[f.Path] = f
	}
	require.Equal(t, 2, len(got), checkstest.FormatFindings(findings))
	login := got["/usr/bin/login"]
	assert.Equal(t, checks.Error, login.Severity)
	require.NotEmpty(t, login.Fixes, login.NoFix)
	assert.True(t, strings.HasPrefix(login.Fixes[0].Message, "Restore /usr/bin/login from login "), login.Fixes[0].Message)
	pam := got["/usr/lib/x86_64-linux-gnu/security/pam_unix.so"]
	require.NotEmpty(t, pam.Fixes, pam.NoFix)
	assert.Contains(t, pam.Fixes[0].Message, "libpam-modules")
}
