package accounts

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
)

// TestRestoreShellFromDebianPackages deletes bash, root's login shell, from
// a real Debian 12 root: the first fix restores it from the bash .deb (dpkg
// records it as /bin/bash); setting another shell is only the second
// choice.
func TestRestoreShellFromDebianPackages(t *testing.T) {
	root, debs := pkgdbtest.DebianRoot(t)
	bash := filepath.Join(root, "usr/bin/bash")
	orig, err := os.ReadFile(bash)
	require.NoError(t, err)
	require.NoError(t, os.Remove(bash))

	fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{debs}}
	findings := checkstest.RunRoot(t, Check, root, fopt, func(t *testing.T) {
		got, err := os.ReadFile(bash)
		assert.NoError(t, err)
		assert.Equal(t, orig, got)
		fi, err := os.Stat(bash)
		if assert.NoError(t, err) {
			assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
		}
	})
	require.Equal(t, 1, len(findings), checkstest.FormatFindings(findings))
	f := findings[0]
	assert.Equal(t, "accounts/shell:/etc/passwd#root", f.ID)
	require.Len(t, f.Fixes, 2)
	assert.Contains(t, f.Fixes[0].Message, "from bash ")
	assert.Equal(t, "Set root's login shell to /bin/sh", f.Fixes[1].Message)
}
