package nss

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

// TestRestoreFromRPM builds an EL8-style glibc package with rpmbuild
// (libc-2.28.so behind libc.so.6, libnss_files-2.28.so behind
// libnss_files.so.2; the library's bytes are the host's own libnss_files,
// a real x86_64 ELF), installs it into a scratch root with rpm, deletes
// libnss_files-2.28.so (the seed's "I have no name!" on glibc < 2.34), and
// restores it from the .rpm through the dangling libnss_files.so.2 link.
func TestRestoreFromRPM(t *testing.T) {
	pkgdbtest.NeedRoot(t, "rpm --root installs into a scratch root")
	nssFiles, err := os.ReadFile("/lib/x86_64-linux-gnu/libnss_files.so.2")
	if err != nil {
		t.Skipf("the host has no libnss_files.so.2 to package: %v", err)
	}
	pkgs := t.TempDir()
	rpm := pkgdbtest.BuildRPM(t, pkgs, pkgdbtest.RPMSpec{
		Name: "glibc", Version: "2.28", Release: "236.el8", Arch: "x86_64",
		Files: []pkgdbtest.RPMFile{
			{Path: "/usr/lib64/libc-2.28.so", Content: "placeholder: the version comes from the name", Mode: "0755"},
			{Path: "/usr/lib64/libc.so.6", Kind: "symlink", Target: "libc-2.28.so"},
			{Path: "/usr/lib64/libnss_files-2.28.so", Content: string(nssFiles), Mode: "0755"},
			{Path: "/usr/lib64/libnss_files.so.2", Kind: "symlink", Target: "libnss_files-2.28.so"},
			{Path: "/etc/nsswitch.conf", Content: "passwd: files\ngroup: files\nshadow: files\nhosts: files\n", Attrs: "%config(noreplace)"},
		},
	})
	root := pkgdbtest.RPMRoot(t, rpm)
	lib := filepath.Join(root, "usr/lib64/libnss_files-2.28.so")
	require.NoError(t, os.Remove(lib))

	fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{pkgs}}
	findings := checkstest.RunRoot(t, Check, root, fopt, func(t *testing.T) {
		got, err := os.ReadFile(lib)
		assert.NoError(t, err)
		assert.Equal(t, nssFiles, got, "libnss_files-2.28.so is restored byte for byte")
	})
	got := checkstest.FormatFindings(findings)
	require.Equal(t, 1, len(findings), got)
	f := findings[0]
	assert.Equal(t, "nss/source-missing:/usr/lib64/libnss_files-2.28.so#files", f.ID)
	assert.Equal(t, "error", f.Severity.String())
	require.NotEmpty(t, f.Fixes, f.NoFix)
	assert.True(t, strings.HasPrefix(f.Fixes[0].Message, "Restore /usr/lib64/libnss_files-2.28.so from glibc 2.28-236.el8"), f.Fixes[0].Message)
}
