package pkgdb_test

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
	"rescue/sysroot"
)

// treeHash hashes every file, mode and name under dir, to prove that
// reading a database wrote nothing.
func treeHash(t *testing.T, dir string) string {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v %d %d\n", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	})
	require.NoError(t, err)
	return fmt.Sprintf("%x", h.Sum(nil))
}

func rpmQA(t *testing.T, root string) []string {
	// rpm may touch the database it reads (the SQLite -shm index), so it
	// reads a copy of the root's database, never the root under test.
	dbdir := t.TempDir()
	out, err := exec.Command("cp", "-a", filepath.Join(root, "var/lib/rpm")+"/.", dbdir).CombinedOutput()
	require.NoError(t, err, string(out))
	cmd := exec.Command("rpm", "--dbpath", dbdir, "-qa", "--qf", `%{NAME}-%{VERSION}-%{RELEASE}%|ARCH?{.%{ARCH}}|\n`)
	o, err := cmd.Output()
	require.NoError(t, err)
	lines := strings.Fields(string(o))
	sort.Strings(lines)
	return lines
}

func TestOpenAlma(t *testing.T) {
	for _, name := range []string{pkgdbtest.Alma8S390x, pkgdbtest.Alma9S390x, pkgdbtest.Alma9Aarch64} {
		t.Run(name, func(t *testing.T) {
			dir := pkgdbtest.AlmaRoot(t, name)
			before := treeHash(t, filepath.Join(dir, "var/lib/rpm"))
			root, err := sysroot.Open(dir)
			require.NoError(t, err)
			defer root.Close()
			db, err := pkgdb.Open(root)
			require.NoError(t, err)
			require.Equal(t, before, treeHash(t, filepath.Join(dir, "var/lib/rpm")), "opening the database wrote to it")
			require.Equal(t, "rpm", db.Kind())
			require.Empty(t, pkgdb.Problems(db))

			var got []string
			for _, p := range db.Packages() {
				got = append(got, p.ID)
			}
			sort.Strings(got)
			pkgdbtest.NeedTool(t, "rpm", "rpm")
			require.Equal(t, rpmQA(t, dir), got)

			// bash owns /usr/bin/bash, also reached through the /bin
			// symlink; glibc lists /lib64 paths, found from /usr/lib64.
			o := db.Owners("/bin/bash")
			require.Len(t, o, 1)
			require.Equal(t, "bash", o[0].Package)
			require.Equal(t, "/usr/bin/bash", o[0].Path)
			o = db.Owners("/usr/lib64/libnss_files.so.2")
			require.Len(t, o, 1)
			require.Equal(t, "glibc", o[0].Package)
			require.Equal(t, "/lib64/libnss_files.so.2", o[0].Path)
			require.NotEmpty(t, db.Files("glibc"))
		})
	}
}

func TestOpenDebian(t *testing.T) {
	dir, _ := pkgdbtest.DebianRoot(t)
	before := treeHash(t, filepath.Join(dir, "var/lib/dpkg"))
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	db, err := pkgdb.Open(root)
	require.NoError(t, err)
	require.Equal(t, before, treeHash(t, filepath.Join(dir, "var/lib/dpkg")))
	require.Equal(t, "dpkg", db.Kind())
	require.Empty(t, pkgdb.Problems(db))

	out, err := exec.Command("dpkg-query", "--admindir", filepath.Join(dir, "var/lib/dpkg"), "-W", "-f", `${binary:Package}\n`).Output()
	require.NoError(t, err)
	want := strings.Fields(string(out))
	var got []string
	for _, p := range db.Packages() {
		got = append(got, p.ID)
	}
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(t, want, got)

	o := db.Owners("/etc/pam.d/login")
	require.Len(t, o, 1)
	require.Equal(t, "login", o[0].Package)
	require.True(t, o[0].Flags&pkgdb.Config != 0, "a conffile")
	require.Len(t, o[0].Digest, 32)
	// libc6 lists /lib/x86_64-linux-gnu; /lib is a symlink to usr/lib.
	o = db.Owners("/usr/lib/x86_64-linux-gnu/libnss_files.so.2")
	require.Len(t, o, 1)
	require.Equal(t, "libc6", o[0].Package)
	require.Equal(t, "/lib/x86_64-linux-gnu/libnss_files.so.2", o[0].Path)
}

func TestOpenNone(t *testing.T) {
	root, err := sysroot.Open(t.TempDir())
	require.NoError(t, err)
	defer root.Close()
	db, err := pkgdb.Open(root)
	require.NoError(t, err)
	require.Nil(t, db)
}
