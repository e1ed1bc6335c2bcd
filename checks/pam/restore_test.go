package pam

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

// TestRestoreFromDebianPackages deletes pam_unix.so from a real Debian 12
// root and empties /etc/pam.d/login (a conffile of the login package):
// both come back from the .deb files the root was built from.
func TestRestoreFromDebianPackages(t *testing.T) {
	root, debs := pkgdbtest.DebianRoot(t)
	unix := filepath.Join(root, "usr/lib/x86_64-linux-gnu/security/pam_unix.so")
	login := filepath.Join(root, "etc/pam.d/login")
	orig := map[string][]byte{}
	for _, p := range []string{unix, login} {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		orig[p] = data
	}
	require.NoError(t, os.Remove(unix))
	require.NoError(t, os.Truncate(login, 0))

	fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{debs}}
	findings := checkstest.RunRoot(t, Check, root, fopt, func(t *testing.T) {
		for p, want := range orig {
			got, err := os.ReadFile(p)
			assert.NoError(t, err)
			assert.Equal(t, want, got, "%s is restored byte for byte", p)
		}
	})
	require.Equal(t, 2, len(findings), "nothing else is wrong with a fresh Debian root:\n%s", checkstest.FormatFindings(findings))
	byID := map[string]checks.Finding{}
	for _, f := range findings {
		byID[f.ID] = f
	}
	m := byID["pam/module-missing:/lib/x86_64-linux-gnu/security/pam_unix.so#pam_unix.so"]
	assert.Equal(t, checks.Error, m.Severity, checkstest.FormatFindings(findings))
	require.NotEmpty(t, m.Fixes, m.NoFix)
	assert.Contains(t, m.Fixes[0].Message, "from libpam-modules ")
	e := byID["pam/empty:/etc/pam.d/login"]
	require.NotEmpty(t, e.Fixes, e.NoFix)
	assert.Contains(t, e.Fixes[0].Message, "from login ")
}
