package zerosize

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/sysroot"
)

// memDB is a package database held in memory: what the dpkg and rpm
// readers return, for deciding which empty files matter.
type memDB map[string]pkgdb.File

func (d memDB) Kind() string { return "dpkg" }
func (d memDB) Packages() []pkgdb.Package {
	seen := map[string]bool{}
	var out []pkgdb.Package
	for _, f := range d {
		if !seen[f.Package] {
			seen[f.Package] = true
			out = append(out, pkgdb.Package{Name: f.Package, Version: f.Version})
		}
	}
	return out
}
func (d memDB) Files(pkg string) []pkgdb.File {
	var out []pkgdb.File
	for _, f := range d {
		if f.Package == pkg {
			out = append(out, f)
		}
	}
	return out
}
func (d memDB) Owners(p string) []pkgdb.File {
	if f, ok := d[p]; ok {
		return []pkgdb.File{f}
	}
	return nil
}

func scanWith(t *testing.T, dir string, db pkgdb.DB) []checks.Finding {
	t.Helper()
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer r.Close()
	opt := facts.Options{}
	if db != nil {
		opt.OpenPackages = func(*sysroot.Root) (pkgdb.DB, error) { return db, nil }
	}
	res := checks.Run(context.Background(), r, facts.New(r, opt), []*checks.Check{Check}, nil)
	for _, s := range res.Checks {
		require.Empty(t, s.Error)
	}
	return res.Findings
}

// TestPackageDatabase checks that the database decides for /etc, that a
// file the database records as empty is never reported, and that the
// restore is asked for under the spelling the database knows (dpkg on
// Debian 12 records /bin/login, reached as /usr/bin/login).
func TestPackageDatabase(t *testing.T) {
	const md5empty = "d41d8cd98f00b204e9800998ecf8427e"
	files := map[string]string{
		"usr/bin/login":                          "",
		"usr/lib/x86_64-linux-gnu/libempty.so.0": "",
		"etc/app/by-design.conf":                 "",
		"etc/app/real.conf":                      "",
		"etc/app/ghost.log":                      "",
		"etc/app/admin-made.conf":                "",
		"etc/login.defs":                         "",
		"etc/os-release":                         "ID=debian\n",
	}
	dir := t.TempDir()
	for p, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(c), 0o755))
	}
	require.NoError(t, os.Symlink("usr/bin", filepath.Join(dir, "bin")))
	require.NoError(t, os.Symlink("usr/lib", filepath.Join(dir, "lib")))
	db := memDB{
		"/bin/login":                          {Path: "/bin/login", Package: "login", Version: "1:4.13", Size: -1, Digest: "0123456789abcdef0123456789abcdef", DigestAlgo: "md5"},
		"/lib/x86_64-linux-gnu/libempty.so.0": {Path: "/lib/x86_64-linux-gnu/libempty.so.0", Package: "libempty0", Size: 0},
		"/etc/app/by-design.conf":             {Path: "/etc/app/by-design.conf", Package: "app", Size: -1, Digest: md5empty, Flags: pkgdb.Config},
		"/etc/app/real.conf":                  {Path: "/etc/app/real.conf", Package: "app", Size: 120, Flags: pkgdb.Config},
		"/etc/app/ghost.log":                  {Path: "/etc/app/ghost.log", Package: "app", Size: -1, Flags: pkgdb.Ghost},
	}
	got := map[string]checks.Finding{}
	for _, f := range scanWith(t, dir, db) {
		got[f.Path] = f
	}
	assert.Len(t, got, 3, "%v", got)
	login := got["/usr/bin/login"]
	assert.Equal(t, checks.Error, login.Severity)
	assert.Contains(t, login.NoFix, "restore /bin/login from its package")
	assert.Equal(t, checks.Warning, got["/etc/app/real.conf"].Severity)
	assert.Equal(t, checks.Warning, got["/etc/login.defs"].Severity)
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/libempty.so.0", "/etc/app/by-design.conf", "/etc/app/ghost.log", "/etc/app/admin-made.conf"} {
		assert.NotContains(t, got, p)
	}

	// Without the database the unknown /etc files are info, and the
	// libraries are judged by their names.
	got = map[string]checks.Finding{}
	for _, f := range scanWith(t, dir, nil) {
		got[f.Path] = f
	}
	assert.Equal(t, checks.Info, got["/etc/app/real.conf"].Severity)
	assert.Equal(t, checks.Warning, got["/usr/lib/x86_64-linux-gnu/libempty.so.0"].Severity)
	assert.Equal(t, checks.Info, got["/etc/app/ghost.log"].Severity, "without the database nothing says it is created at run time")
}

// TestCorpusAlmaLinux runs the check on a real AlmaLinux 9 root (from the
// shared corpus): clean as shipped, then with libc and bash truncated.
func TestCorpusAlmaLinux(t *testing.T) {
	tarball := corpus(t, "almalinux-9-docker-aarch64-micro-20231124.tar.xz")
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-C", dir, "-xJf", tarball).CombinedOutput(); err != nil {
		t.Skipf("cannot extract the corpus root: %v: %s", err, out)
	}
	assert.Empty(t, checkstest.FormatFindings(scanWith(t, dir, nil)), "a root as shipped has no empty program, library or unexpected /etc file")

	for _, p := range []string{"usr/lib64/libc.so.6", "usr/bin/bash"} {
		require.NoError(t, os.Truncate(filepath.Join(dir, p), 0))
	}
	got := checkstest.FormatFindings(scanWith(t, dir, nil))
	assert.Contains(t, got, "error zerosize/empty:/usr/lib64/libc.so.6")
	assert.Contains(t, got, "error zerosize/empty:/usr/bin/bash")
	assert.Equal(t, 2, strings.Count(got, "zerosize/empty:"), got)
}

// corpus finds a file of the shared corpus (shared/corpus/rpm in the
// repository's directory or one of its parents), or skips.
func corpus(t *testing.T, name string) string {
	dir, err := os.Getwd()
	require.NoError(t, err)
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "corpus", "rpm", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if d == filepath.Dir(d) {
			t.Skipf("the shared corpus file %s is not in any parent of %s", name, dir)
		}
	}
}
