package pkgfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
)

// TestGolden runs roots whose dpkg database is written out in the archive
// (status, .list and .md5sums are text): no package file is at hand there,
// so the finding names the package to fetch.
func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// TestRestoreLibnssFilesDebian deletes libnss_files.so.2 from a real
// Debian 12 root (glibc 2.36: harmless for lookups, but libc6 is damaged)
// and restores it from libc6's .deb.
func TestRestoreLibnssFilesDebian(t *testing.T) {
	root, debs := pkgdbtest.DebianRoot(t)
	lib := filepath.Join(root, "usr/lib/x86_64-linux-gnu/libnss_files.so.2")
	orig, err := os.ReadFile(lib)
	require.NoError(t, err)
	require.NoError(t, os.Remove(lib))
	fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{debs}}
	findings := checkstest.RunRoot(t, Check, root, fopt, func(t *testing.T) {
		got, err := os.ReadFile(lib)
		require.NoError(t, err)
		assert.Equal(t, orig, got, "restored byte for byte")
	})
	require.Len(t, findings, 1, checkstest.FormatFindings(findings))
	f := findings[0]
	assert.Equal(t, "pkgfiles/damaged:/lib/x86_64-linux-gnu/libnss_files.so.2#libc6", f.ID)
	assert.Contains(t, f.Message, "1 file(s) missing")
	require.NotEmpty(t, f.Fixes, f.NoFix)
	assert.True(t, strings.HasPrefix(f.Fixes[0].Message, "Restore 1 file(s) of libc6 "), f.Fixes[0].Message)
}

// TestRestoreRPM installs a package with rpm into a scratch root, deletes
// one file and empties another, and restores both from the .rpm; rpm -V
// agrees before and after.
func TestRestoreRPM(t *testing.T) {
	pkgdbtest.NeedRoot(t, "rpm --root installs into a scratch root")
	pkgs := t.TempDir()
	rpm := pkgdbtest.BuildRPM(t, pkgs, pkgdbtest.RPMSpec{
		Name: "util-linux", Version: "2.32.1", Release: "43.el8", Arch: "x86_64",
		Files: []pkgdbtest.RPMFile{
			{Path: "/etc/pam.d/login", Content: "auth include system-auth\n", Attrs: "%config(noreplace)"},
			{Path: "/usr/bin/findmnt", Content: "#!/bin/sh\necho findmnt\n", Mode: "0755"},
			{Path: "/usr/share/doc/util-linux/README", Content: "docs\n", Attrs: "%doc"},
		},
	})
	root := pkgdbtest.RPMRoot(t, rpm)
	require.NoError(t, os.Remove(filepath.Join(root, "etc/pam.d/login")))
	require.NoError(t, os.Truncate(filepath.Join(root, "usr/bin/findmnt"), 0))
	require.NoError(t, os.Remove(filepath.Join(root, "usr/share/doc/util-linux/README")))
	before := pkgdbtest.RPMVerify(t, root)
	assert.Contains(t, strings.Join(before, "\n"), "missing   c /etc/pam.d/login")

	fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{pkgs}}
	findings := checkstest.RunRoot(t, Check, root, fopt, func(t *testing.T) {
		// rpm -V would touch the database's shared memory file, which
		// the harness then sees as a change; read the files instead.
		login, err := os.ReadFile(filepath.Join(root, "etc/pam.d/login"))
		require.NoError(t, err)
		assert.Equal(t, "auth include system-auth\n", string(login))
		findmnt, err := os.ReadFile(filepath.Join(root, "usr/bin/findmnt"))
		require.NoError(t, err)
		assert.Equal(t, "#!/bin/sh\necho findmnt\n", string(findmnt))
	})
	require.Len(t, findings, 1, checkstest.FormatFindings(findings))
	f := findings[0]
	assert.Contains(t, f.Message, "package util-linux 2.32.1-43.el8: 1 file(s) missing, 1 file(s) emptied (/etc/pam.d/login, /usr/bin/findmnt)")
	require.NotEmpty(t, f.Fixes, f.NoFix)
	assert.Len(t, f.Fixes[0].Ops, 2)
}
