package sysdirs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
	"rescue/repair"
	"rescue/sysroot"
)

// scanReal runs the check on a real root with its real package database.
func scanReal(t *testing.T, dir string, debs []string) ([]checks.Finding, *sysroot.Root) {
	t.Helper()
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { root.Close() })
	f := facts.New(root, facts.Options{OpenPackages: pkgdb.Open, PackageDirs: debs})
	res := checks.Run(context.Background(), root, f, []*checks.Check{Check}, nil)
	require.Empty(t, res.Checks[0].Error)
	return res.Findings, root
}

// addKernel gives a container root what a disk has in /boot.
func addKernel(t *testing.T, dir string) {
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "boot"), 0o555))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "boot", "vmlinuz-5.14.0-362.8.1.el9_3.aarch64"), []byte("kernel"), 0o755))
}

// TestRealAlma9 uses AlmaLinux 9's real root and rpm database: healthy, it
// has nothing to report (merged /usr, modes 0555 as its filesystem package
// makes them); with most of /usr/bin gone, the finding names the packages
// to reinstall (no package files are at hand).
func TestRealAlma9(t *testing.T) {
	dir := pkgdbtest.AlmaRoot(t, pkgdbtest.Alma9Aarch64)
	addKernel(t, dir)
	fs, _ := scanReal(t, dir, nil)
	assert.Empty(t, checkstest.FormatFindings(fs))

	ents, err := os.ReadDir(filepath.Join(dir, "usr/bin"))
	require.NoError(t, err)
	for _, e := range ents[:len(ents)*3/4] {
		require.NoError(t, os.Remove(filepath.Join(dir, "usr/bin", e.Name())))
	}
	require.NoError(t, os.Remove(filepath.Join(dir, "lib64")))
	fs, _ = scanReal(t, dir, nil)
	got := checkstest.FormatFindings(fs)
	assert.Contains(t, got, "critical sysdirs/link-missing:/lib64\n")
	assert.Contains(t, got, "fix: Link /lib64 to usr/lib64")
	assert.Contains(t, got, "critical sysdirs/emptied:/usr/bin\n")
	assert.Contains(t, got, "coreutils-single-", "the finding names the real package")
}

// TestRealDebian uses a real Debian 12 root, its dpkg database and the .deb
// files it was built from: most of /usr/bin is deleted, the fix restores
// every file from its package through the repair engine, the rescan is
// clean, and undo gives the broken tree back.
func TestRealDebian(t *testing.T) {
	dir, debs := pkgdbtest.DebianRoot(t)
	addKernel(t, dir)
	fs, _ := scanReal(t, dir, []string{debs})
	assert.Empty(t, checkstest.FormatFindings(fs))

	// Delete two thirds of what the packages put in /usr/bin.
	var files []string
	ents, err := os.ReadDir(filepath.Join(dir, "usr/bin"))
	require.NoError(t, err)
	for _, e := range ents {
		if e.Type().IsRegular() {
			files = append(files, e.Name())
		}
	}
	sort.Strings(files)
	for _, n := range files[:len(files)*2/3] {
		require.NoError(t, os.Remove(filepath.Join(dir, "usr/bin", n)))
	}
	before := snapshot(t, filepath.Join(dir, "usr/bin"))
	fs, root := scanReal(t, dir, []string{debs})
	var emptied *checks.Finding
	for i := range fs {
		if fs[i].Kind == "emptied" && fs[i].Path == "/usr/bin" {
			emptied = &fs[i]
		}
	}
	require.NotNil(t, emptied, checkstest.FormatFindings(fs))
	require.Len(t, emptied.Fixes, 1, emptied.NoFix)
	assert.True(t, strings.HasPrefix(emptied.Fixes[0].Message, "Restore the "), emptied.Fixes[0].Message)

	cands, err := checks.Candidates([]checks.Finding{*emptied}, nil)
	require.NoError(t, err)
	plan := repair.NewPlan(cands, root.ReadFile)
	journal := t.TempDir()
	res, err := repair.Apply(root, plan, repair.Options{JournalDir: journal})
	require.NoError(t, err)
	require.Equal(t, repair.OutcomeApplied, res.Items[0].Status, res.Items[0].Reason)
	for _, n := range files {
		_, err := os.Lstat(filepath.Join(dir, "usr/bin", n))
		assert.False(t, errors.Is(err, os.ErrNotExist), "/usr/bin/%s was not restored", n)
	}
	fs, _ = scanReal(t, dir, []string{debs})
	assert.Empty(t, checkstest.FormatFindings(fs))

	_, err = repair.Undo(root, repair.UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, before, snapshot(t, filepath.Join(dir, "usr/bin")), "undo gives the broken /usr/bin back")
}

// snapshot records the entries of one directory (checkstest.Snapshot would
// read the device nodes of a real root's /dev).
func snapshot(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			require.NoError(t, err)
			out[e.Name()] = "-> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			out[e.Name()] = fmt.Sprintf("%v %x", fi.Mode(), sha256.Sum256(data))
		default:
			out[e.Name()] = fi.Mode().String()
		}
	}
	return out
}
