package pkgrepo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/parse/osrelease"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
	"rescue/sysroot"
)

// TestRPMSignatures serves a yum repository (rpmbuild, rpmsign,
// createrepo_c) to a target whose .repo file says gpgcheck=1 with its own
// key: a package signed with that key is taken, an unsigned one and one
// signed by another key are refused; repo_gpgcheck refuses a repomd.xml
// signed by another key.
func TestRPMSignatures(t *testing.T) {
	key, pub := pkgdbtest.NewKey(t, "vendor")
	other, _ := pkgdbtest.NewKey(t, "intruder")
	pkgs := t.TempDir()
	build := func(name string) string {
		return pkgdbtest.BuildRPM(t, pkgs, pkgdbtest.RPMSpec{Name: name, Version: "1.0", Release: "1.el9", Arch: "x86_64",
			Files: []pkgdbtest.RPMFile{{Path: "/usr/bin/" + name, Content: name + "\n", Mode: "0755"}}})
	}
	signed, unsigned, foreign := build("signed"), build("unsigned"), build("foreign")
	pkgdbtest.SignRPM(t, key, signed)
	pkgdbtest.SignRPM(t, other, foreign)
	repo := t.TempDir()
	pkgdbtest.CreateRepo(t, filepath.Join(repo, "9/x86_64"), other, signed, unsigned, foreign)
	srv := httptest.NewServer(http.FileServer(http.Dir(repo)))
	defer srv.Close()

	target := func(repoGPG string) *sysroot.Root {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/yum.repos.d"), 0o755))
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/pki/rpm-gpg"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/pki/rpm-gpg/RPM-GPG-KEY-vendor"), pub, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/yum.repos.d/v.repo"), []byte("[v]\nname=v\nbaseurl="+srv.URL+"/$releasever/$basearch/\ngpgcheck=1\nrepo_gpgcheck="+repoGPG+"\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-vendor\n"), 0o644))
		r, err := sysroot.Open(dir)
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		return r
	}
	pkg := func(name string) pkgdb.Package {
		return pkgdb.Package{Name: name, Version: "1.0-1.el9", Arch: "x86_64", ID: name + "-1.0-1.el9.x86_64"}
	}
	db := stubDB{kind: "rpm", pkgs: []pkgdb.Package{pkg("signed"), pkg("unsigned"), pkg("foreign")}}
	osInfo := osrelease.Info{ID: "almalinux", VersionID: "9.3", Family: osrelease.RHEL}
	r := New(target("0"), db, osInfo, Options{CacheDir: t.TempDir(), Mode: Download})
	f, err := r.Fetch(context.Background(), pkg("signed"))
	require.NoError(t, err)
	checks := strings.Join(f.Checks, "\n")
	assert.Contains(t, checks, "signed-1.0-1.el9.x86_64.rpm header signed by key")
	assert.Contains(t, checks, "from target:/etc/pki/rpm-gpg/RPM-GPG-KEY-vendor")
	assert.Contains(t, checks, "repomd.xml of v: signature NOT checked", "repomd.xml is signed by a key the target does not have")
	_, err = r.Fetch(context.Background(), pkg("unsigned"))
	assert.ErrorContains(t, err, "gpgcheck is on and the package signature does not verify")
	assert.ErrorContains(t, err, "not signed")
	_, err = r.Fetch(context.Background(), pkg("foreign"))
	assert.ErrorContains(t, err, "gpgcheck is on and the package signature does not verify")

	r = New(target("1"), db, osInfo, Options{CacheDir: t.TempDir(), Mode: Download})
	_, err = r.Fetch(context.Background(), pkg("signed"))
	assert.ErrorContains(t, err, "repo_gpgcheck is on and the signature does not verify")
}
