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

// TestDebian11SonameHalves breaks the two halves of Debian 11's
// libnss_files (glibc 2.31: libnss_files.so.2 -> libnss_files-2.31.so)
// on a real minbase root and restores from the real libc6 .deb exactly
// what is gone: the file behind a surviving symlink, or both.
func TestDebian11SonameHalves(t *testing.T) {
	for _, tc := range []struct {
		name    string
		remove  []string
		message string
		fix     string
	}{
		{"file", []string{"libnss_files-2.31.so"},
			"libnss_files.so.2 -> libnss_files-2.31.so still points to libnss_files-2.31.so, the file itself is gone",
			"Restore /lib/x86_64-linux-gnu/libnss_files-2.31.so from libc6 2.31-13"},
		{"both", []string{"libnss_files-2.31.so", "libnss_files.so.2"},
			"both the symlink /lib/x86_64-linux-gnu/libnss_files.so.2 -> libnss_files-2.31.so and the file it points to are gone",
			"Restore the symlink /lib/x86_64-linux-gnu/libnss_files.so.2 -> libnss_files-2.31.so and the file /lib/x86_64-linux-gnu/libnss_files-2.31.so of libc6 2.31-13"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, debs := pkgdbtest.DebianSuiteRoot(t, "bullseye")
			dir := filepath.Join(root, "lib/x86_64-linux-gnu")
			orig, err := os.ReadFile(filepath.Join(dir, "libnss_files-2.31.so"))
			require.NoError(t, err)
			for _, r := range tc.remove {
				require.NoError(t, os.Remove(filepath.Join(dir, r)))
			}
			fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{debs}}
			findings := checkstest.RunRoot(t, Check, root, fopt, func(t *testing.T) {
				got, err := os.ReadFile(filepath.Join(dir, "libnss_files.so.2"))
				require.NoError(t, err)
				assert.Equal(t, orig, got, "libnss_files.so.2 loads the original library again")
				l, err := os.Readlink(filepath.Join(dir, "libnss_files.so.2"))
				require.NoError(t, err)
				assert.Equal(t, "libnss_files-2.31.so", l)
			})
			require.Len(t, findings, 1, checkstest.FormatFindings(findings))
			f := findings[0]
			assert.Contains(t, f.Message, tc.message)
			require.NotEmpty(t, f.Fixes, f.NoFix)
			assert.True(t, strings.HasPrefix(f.Fixes[0].Message, tc.fix), f.Fixes[0].Message)
			assert.Len(t, f.Fixes[0].Ops, len(tc.remove), "exactly what is gone is restored")
		})
	}
}
