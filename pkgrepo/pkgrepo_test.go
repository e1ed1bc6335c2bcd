package pkgrepo

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/parse/osrelease"
	"rescue/pkgdb"
	"rescue/sysroot"
)

// stubDB is a database that only lists packages: enough for Repos.
type stubDB struct {
	kind string
	pkgs []pkgdb.Package
}

func (d stubDB) Kind() string               { return d.kind }
func (d stubDB) Packages() []pkgdb.Package  { return d.pkgs }
func (d stubDB) Files(string) []pkgdb.File  { return nil }
func (d stubDB) Owners(string) []pkgdb.File { return nil }
func need(t *testing.T, tools ...string) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (scripts/deps.sh installs it)", tool)
		}
	}
}

func run(t *testing.T, dir string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out
}

// testKey makes an OpenPGP signing key and returns it with its armored
// public half.
func testKey(t *testing.T, name string) (*openpgp.Entity, []byte) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "rescue test", name+"@example.org", nil)
	require.NoError(t, err)
	var pub bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	require.NoError(t, err)
	require.NoError(t, e.Serialize(w))
	require.NoError(t, w.Close())
	return e, pub.Bytes()
}

// aptRepoDir builds a signed apt repository of one real .deb (dpkg-deb),
// indexed by dpkg-scanpackages and apt-ftparchive, InRelease clearsigned
// with key.
func aptRepoDir(t *testing.T, key *openpgp.Entity) (dir string, deb []byte) {
	t.Helper()
	need(t, "dpkg-deb", "dpkg-scanpackages", "apt-ftparchive")
	dir = t.TempDir()
	pkg := filepath.Join(t.TempDir(), "hello")
	require.NoError(t, os.MkdirAll(filepath.Join(pkg, "DEBIAN"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(pkg, "usr/bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "DEBIAN/control"), []byte("Package: hello\nVersion: 1:1.0-1\nArchitecture: amd64\nMaintainer: t <t@example.org>\nDescription: test\n"), 0o644))
	// Incompressible content, so that the .deb is large enough to be
	// cut and stalled part-way.
	content := make([]byte, 300<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "usr/bin/hello"), content, 0o755))
	pool := filepath.Join(dir, "pool/main/h/hello")
	require.NoError(t, os.MkdirAll(pool, 0o755))
	run(t, dir, "dpkg-deb", "--root-owner-group", "-Zgzip", "--build", pkg, filepath.Join(pool, "hello_1.0-1_amd64.deb"))
	deb, err := os.ReadFile(filepath.Join(pool, "hello_1.0-1_amd64.deb"))
	require.NoError(t, err)
	dists := filepath.Join(dir, "dists/stable")
	bin := filepath.Join(dists, "main/binary-amd64")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	packages := run(t, dir, "dpkg-scanpackages", "--multiversion", "pool")
	require.NoError(t, os.WriteFile(filepath.Join(bin, "Packages"), packages, 0o644))
	run(t, bin, "gzip", "-k", "Packages")
	release := run(t, dists, "apt-ftparchive", "-o", "APT::FTPArchive::Release::Suite=stable", "release", ".")
	writeInRelease(t, dists, release, key)
	return dir, deb
}

func writeInRelease(t *testing.T, dists string, release []byte, key *openpgp.Entity) {
	var signed bytes.Buffer
	w, err := clearsign.Encode(&signed, key.PrivateKey, nil)
	require.NoError(t, err)
	_, err = w.Write(release)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dists, "InRelease"), signed.Bytes(), 0o644))
}

// debTarget is a target root whose sources.list names url and whose apt
// trusts pub.
func debTarget(t *testing.T, url string, pub []byte) *sysroot.Root {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/apt/trusted.gpg.d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/apt/sources.list"), []byte("deb "+url+" stable main\n"), 0o644))
	if pub != nil {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/apt/trusted.gpg.d/test.asc"), pub, 0o644))
	}
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

var hello = pkgdb.Package{Name: "hello", Version: "1:1.0-1", Arch: "amd64", ID: "hello"}

func debDB() stubDB {
	return stubDB{kind: "dpkg", pkgs: []pkgdb.Package{hello, {Name: "dpkg", Version: "1.20", Arch: "amd64", ID: "dpkg"}}}
}

func newRepos(t *testing.T, root *sysroot.Root, mode Mode, mut func(*Options)) (*Repos, string) {
	cache := t.TempDir()
	o := Options{CacheDir: cache, Mode: mode, Timeout: 2 * time.Second, Retries: 2}
	if mut != nil {
		mut(&o)
	}
	return New(root, debDB(), osrelease.Info{}, o), cache
}

// cachedDebs lists the .deb files (complete or partial) in a cache.
func cachedDebs(t *testing.T, cache string) []string {
	var out []string
	filepath.Walk(cache, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.Contains(filepath.Base(p), ".deb") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestAptFetch(t *testing.T) {
	key, pub := testKey(t, "archive")
	dir, deb := aptRepoDir(t, key)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	root := debTarget(t, srv.URL, pub)

	// A scan names the repositories and touches no network.
	r, _ := newRepos(t, root, Describe, nil)
	_, err := r.Fetch(context.Background(), hello)
	assert.ErrorContains(t, err, "a scan downloads nothing; rescue fix finds ")
	assert.ErrorContains(t, err, " in "+srv.URL+" stable main (/etc/apt/sources.list:1)")

	// A dry run resolves from the metadata and downloads no package.
	r, cache := newRepos(t, root, Resolve, nil)
	f, err := r.Fetch(context.Background(), hello)
	require.NoError(t, err)
	assert.Equal(t, srv.URL+"/pool/main/h/hello/hello_1.0-1_amd64.deb", f.URL)
	assert.Empty(t, f.Path)
	assert.Empty(t, cachedDebs(t, cache))
	assert.Contains(t, strings.Join(f.Checks, "\n"), "InRelease of "+srv.URL+" stable main signed by key")

	// --apply downloads and checks.
	r, cache = newRepos(t, root, Download, nil)
	f, err = r.Fetch(context.Background(), hello)
	require.NoError(t, err)
	got, err := os.ReadFile(f.Path)
	require.NoError(t, err)
	assert.Equal(t, deb, got)
	checks := strings.Join(f.Checks, "\n")
	assert.Contains(t, checks, "from target:/etc/apt/trusted.gpg.d/test.asc")
	assert.Contains(t, checks, "main/binary-amd64/Packages.gz sha256") // .xz is listed nowhere: .gz is next
	assert.Contains(t, checks, "hello_1.0-1_amd64.deb sha256")

	// Offline, the cache serves what was fetched, and nothing else.
	r = New(root, debDB(), osrelease.Info{}, Options{CacheDir: cache, Mode: Download, Offline: true})
	f2, err := r.Fetch(context.Background(), hello)
	require.NoError(t, err)
	assert.Equal(t, f.Path, f2.Path)
	r, _ = newRepos(t, root, Download, func(o *Options) { o.Offline = true })
	_, err = r.Fetch(context.Background(), hello)
	assert.ErrorIs(t, err, ErrOffline)
	assert.ErrorContains(t, err, "--offline forbids the network")

	// Another architecture or version is not the package.
	r, _ = newRepos(t, root, Download, nil)
	_, err = r.Fetch(context.Background(), pkgdb.Package{Name: "hello", Version: "1:1.0-2", Arch: "amd64", ID: "hello"})
	assert.ErrorContains(t, err, "main/binary-amd64: no hello")
}

// TestAptBadRepositories: each way a repository can be wrong is a clear
// error, and no package file is kept.
func TestAptBadRepositories(t *testing.T) {
	key, pub := testKey(t, "archive")
	dir, deb := aptRepoDir(t, key)
	files := http.FileServer(http.Dir(dir))
	debPath := "/pool/main/h/hello/hello_1.0-1_amd64.deb"
	for _, tc := range []struct {
		name    string
		handler func(w http.ResponseWriter, req *http.Request) bool // true: handled
		pub     []byte
		want    string
	}{
		{"wrong digest", func(w http.ResponseWriter, req *http.Request) bool {
			if req.URL.Path != debPath {
				return false
			}
			bad := bytes.Clone(deb)
			bad[len(bad)/2] ^= 1
			w.Write(bad)
			return true
		}, pub, "the repository metadata records"},
		{"truncated", func(w http.ResponseWriter, req *http.Request) bool {
			if req.URL.Path != debPath {
				return false
			}
			w.Header().Set("Content-Length", itoa(len(deb)))
			w.Write(deb[:len(deb)/2])
			return true
		}, pub, "after"},
		{"404", func(w http.ResponseWriter, req *http.Request) bool {
			if req.URL.Path != debPath {
				return false
			}
			http.NotFound(w, req)
			return true
		}, pub, "not found (404 Not Found)"},
		{"hangs", func(w http.ResponseWriter, req *http.Request) bool {
			if req.URL.Path != debPath {
				return false
			}
			select {
			case <-req.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return true
		}, pub, "no answer within 300ms"},
		{"stalls mid-body", func(w http.ResponseWriter, req *http.Request) bool {
			if req.URL.Path != debPath {
				return false
			}
			w.Header().Set("Content-Length", itoa(len(deb)))
			w.Write(deb[:1000])
			w.(http.Flusher).Flush()
			select {
			case <-req.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return true
		}, pub, "stalled for 300ms after 1000 bytes"},
		{"foreign signature", nil, func() []byte { _, p := testKey(t, "other"); return p }(), "the signature does not verify with target:/etc/apt/trusted.gpg.d/test.asc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if tc.handler == nil || !tc.handler(w, req) {
					files.ServeHTTP(w, req)
				}
			}))
			defer srv.Close()
			root := debTarget(t, srv.URL, tc.pub)
			r, cache := newRepos(t, root, Download, func(o *Options) { o.Timeout = 300 * time.Millisecond })
			start := time.Now()
			_, err := r.Fetch(context.Background(), hello)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Less(t, time.Since(start), 5*time.Second, "a bad mirror costs at most the timeouts")
			for _, p := range cachedDebs(t, cache) {
				assert.True(t, strings.HasSuffix(p, ".part"), "only a partial download is kept, to resume: %s", p)
			}
		})
	}
}

// TestResume: a download cut off half-way is resumed with a Range request.
func TestResume(t *testing.T) {
	key, pub := testKey(t, "archive")
	dir, deb := aptRepoDir(t, key)
	files := http.FileServer(http.Dir(dir))
	var cut, ranged atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, ".deb") {
			if req.Header.Get("Range") != "" {
				ranged.Add(1)
			} else if cut.Add(1) == 1 {
				w.Header().Set("Content-Length", itoa(len(deb)))
				w.Write(deb[:len(deb)/3])
				return
			}
		}
		files.ServeHTTP(w, req)
	}))
	defer srv.Close()
	r, _ := newRepos(t, debTarget(t, srv.URL, pub), Download, nil)
	f, err := r.Fetch(context.Background(), hello)
	require.NoError(t, err)
	got, _ := os.ReadFile(f.Path)
	assert.Equal(t, deb, got)
	assert.Equal(t, int32(1), ranged.Load(), "the second attempt asked for the rest only")
}

// TestNoKeys: a target without keys for a source still gets its package,
// and the plan says the signature was not checked.
func TestNoKeys(t *testing.T) {
	key, _ := testKey(t, "archive")
	dir, _ := aptRepoDir(t, key)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	r, _ := newRepos(t, debTarget(t, srv.URL, nil), Download, nil)
	f, err := r.Fetch(context.Background(), hello)
	require.NoError(t, err)
	assert.Contains(t, strings.Join(f.Checks, "\n"), "signature NOT checked")
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestVaults: the documented archives, and only for the distributions
// that document one; never with --mirror or --offline.
func TestVaults(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/pki/rpm-gpg"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/centos-release"), []byte("CentOS Linux release 7.9.2009 (Core)\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/apt"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/apt/sources.list"), []byte("deb http://deb.example.org/debian stretch main\ndeb http://security.example.org/debian-security stretch/updates main\n"), 0o644))
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	rpmDB := stubDB{kind: "rpm", pkgs: []pkgdb.Package{{Name: "rpm", Arch: "x86_64"}}}
	for _, tc := range []struct {
		os   osrelease.Info
		db   stubDB
		want []string
	}{
		{osrelease.Info{ID: "centos", VersionID: "7"}, rpmDB, []string{"https://vault.centos.org/7.9.2009/os/x86_64/", "https://vault.centos.org/7.9.2009/updates/x86_64/"}},
		{osrelease.Info{ID: "almalinux", VersionID: "9.3"}, rpmDB, []string{"https://vault.almalinux.org/9.3/BaseOS/x86_64/os/", "https://vault.almalinux.org/9.3/AppStream/x86_64/os/"}},
		{osrelease.Info{ID: "rocky", VersionID: "8.9"}, rpmDB, []string{"https://dl.rockylinux.org/vault/rocky/8.9/BaseOS/x86_64/os/", "https://dl.rockylinux.org/vault/rocky/8.9/AppStream/x86_64/os/"}},
		{osrelease.Info{ID: "fedora", VersionID: "39"}, rpmDB, nil},
		{osrelease.Info{ID: "debian", VersionID: "9"}, debDB(), []string{"http://archive.debian.org/debian stretch main", "http://archive.debian.org/debian-security stretch/updates main"}},
	} {
		r := New(root, tc.db, tc.os, Options{CacheDir: t.TempDir()})
		var got []string
		for _, m := range r.vaultRPM {
			got = append(got, m.baseurls[0])
			assert.Contains(t, m.where, "documented by")
		}
		for _, a := range r.vaultApt {
			got = append(got, a.String())
		}
		assert.Equal(t, tc.want, got, tc.os.ID)
		r = New(root, tc.db, tc.os, Options{CacheDir: t.TempDir(), Mirrors: []string{"http://m/"}})
		assert.Empty(t, r.vaultRPM)
		assert.Empty(t, r.vaultApt)
	}
}

// TestRepoVars: $releasever, $basearch and the dnf vars directory.
func TestRepoVars(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/dnf/vars"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/dnf/vars/contentdir"), []byte("centos\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/yum.repos.d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/yum.repos.d/c.repo"), []byte("[baseos]\nbaseurl=http://m/$contentdir/$releasever/BaseOS/${basearch}/os/\ngpgkey=file:///etc/pki/rpm-gpg/K\n[off]\nenabled=0\nbaseurl=http://x/\n"), 0o644))
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	r := New(root, stubDB{kind: "rpm", pkgs: []pkgdb.Package{{Name: "glibc", Arch: "i686"}}}, osrelease.Info{ID: "centos", VersionID: "8.5"}, Options{CacheDir: t.TempDir(), Offline: true})
	require.Len(t, r.rpm, 1)
	assert.Equal(t, []string{"http://m/centos/8/BaseOS/i386/os/"}, r.rpm[0].baseurls)
	assert.Equal(t, []string{"/etc/pki/rpm-gpg/K"}, r.rpm[0].gpgkeys)
	assert.Equal(t, "a$b", expandVars("a$b", nil))
	assert.Equal(t, "x${nope", expandVars("x${nope", map[string]string{"nope": "1"}))
}

// TestUnreachableHostOnce: a host that cannot be reached costs its
// timeout once per run, not once per suite or file.
func TestUnreachableHostOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/apt"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/apt/sources.list"), []byte("deb http://"+addr+"/debian stable main\ndeb http://"+addr+"/debian stable-updates main\n"), 0o644))
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	r, _ := newRepos(t, root, Resolve, nil)
	_, err = r.Fetch(context.Background(), hello)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stable main: http://"+addr+"/debian/dists/stable/InRelease: unreachable")
	assert.Contains(t, err.Error(), "stable-updates main: http://"+addr+"/debian/dists/stable-updates/InRelease: "+addr+" could not be reached earlier in this run")
}
