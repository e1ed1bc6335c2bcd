package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks/checkstest"
	"rescue/pkgdb/pkgdbtest"
)

// almaRepoRoot prepares a real AlmaLinux 9 root (the shared corpus,
// aarch64) for restores from a repository: a package owning
// /etc/pam.d/login is installed into it with rpm, and a yum repository
// served over HTTP at /9/BaseOS/aarch64/os/ holds that package and a
// package of exactly the installed bash (its real /usr/bin/bash, as
// bashContent gives it), indexed by createrepo_c and signed with a test
// key the root trusts in /etc/pki/rpm-gpg. The AlmaLinux packages
// themselves cannot be had here, so bash is rebuilt with the installed
// name, version, release and architecture; the restore still checks every
// byte against the digest AlmaLinux's own rpm database records.
func almaRepoRoot(t *testing.T, bashContent func(real []byte) []byte) (root, url string) {
	root = pkgdbtest.AlmaRoot(t, pkgdbtest.Alma9Aarch64)
	pkgs := t.TempDir()
	login := pkgdbtest.BuildRPM(t, pkgs, pkgdbtest.RPMSpec{
		Name: "util-linux-login", Version: "2.37.4", Release: "15.el9", Arch: "aarch64",
		Files: []pkgdbtest.RPMFile{{Path: "/etc/pam.d/login", Content: "#%PAM-1.0\nauth       substack     system-auth\naccount    required     pam_nologin.so\naccount    include      system-auth\npassword   include      system-auth\nsession    include      system-auth\n", Attrs: "%config(noreplace)"}},
	})
	pkgdbtest.RPM(t, root, "-i", "--nodeps", "--noscripts", "--nosignature", "--ignorearch", login)
	real, err := os.ReadFile(filepath.Join(root, "usr/bin/bash"))
	require.NoError(t, err)
	bash := pkgdbtest.BuildRPM(t, pkgs, pkgdbtest.RPMSpec{
		Name: "bash", Version: "5.1.8", Release: "6.el9_1", Arch: "aarch64",
		Files: []pkgdbtest.RPMFile{{Path: "/usr/bin/bash", Content: string(bashContent(real)), Mode: "0755"}},
	})
	key, pub := pkgdbtest.NewKey(t, "internal-mirror")
	pkgdbtest.SignRPM(t, key, bash)
	repo := t.TempDir()
	pkgdbtest.CreateRepo(t, filepath.Join(repo, "9/BaseOS/aarch64/os"), key, login, bash)
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/pki/rpm-gpg/RPM-GPG-KEY-internal-mirror"), pub, 0o644))
	srv := httptest.NewServer(http.FileServer(http.Dir(repo)))
	t.Cleanup(srv.Close)
	return root, srv.URL
}

// TestAlmaFetchFromMirror: on the AlmaLinux root, /etc/pam.d/login is
// emptied and /usr/bin/bash truncated to zero; rescue fix --apply with a
// --mirror ($releasever and $basearch expanded from the target) and no
// --packages restores both, checked along repomd.xml's signature →
// primary.xml → .rpm digest → rpm database digest; the rescan is clean
// and undo gives the broken tree back.
func TestAlmaFetchFromMirror(t *testing.T) {
	root, url := almaRepoRoot(t, func(real []byte) []byte { return real })
	bash, err := os.ReadFile(filepath.Join(root, "usr/bin/bash"))
	require.NoError(t, err)
	require.NoError(t, os.Truncate(filepath.Join(root, "usr/bin/bash"), 0))
	require.NoError(t, os.Truncate(filepath.Join(root, "etc/pam.d/login"), 0))
	broken := checkstest.HashSnapshot(t, root)
	checks := "pam,zerosize,pkgfiles"
	fix := []string{"fix", root, "--only", checks, "--mirror", url + "/$releasever/BaseOS/$basearch/os/", "--cache", t.TempDir(), "--json"}

	code, out, errOut := rescueCLI(t, fix...)
	require.Equal(t, 4, code, errOut)
	var plan fixJSON
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	froms := map[string]string{}
	for _, it := range plan.Plan.Items {
		for _, op := range it.Fix.Ops {
			assert.Equal(t, "fetch", op.Kind)
			froms[op.Path] = op.Source.From
		}
	}
	assert.Equal(t, url+"/9/BaseOS/aarch64/os/Packages/bash-5.1.8-6.el9_1.aarch64.rpm", froms["/usr/bin/bash"])
	assert.Equal(t, url+"/9/BaseOS/aarch64/os/Packages/util-linux-login-2.37.4-15.el9.aarch64.rpm", froms["/etc/pam.d/login"])

	// The micro root has no PAM: its pam.d/login names modules and
	// stacks that are not there, which rescue reports and cannot fix;
	// the two restores are what this test is about.
	plan = applied(t, append(fix[:len(fix)-1], "--apply")...)
	var seen []string
	for _, it := range plan.Plan.Items {
		for _, op := range it.Fix.Ops {
			seen = append(seen, op.Source.Checks...)
		}
	}
	all := strings.Join(seen, "\n")
	for _, want := range []string{
		"repomd.xml of mirror1 signed by key",
		"from target:/etc/pki/rpm-gpg/RPM-GPG-KEY-internal-mirror",
		"-primary.xml.gz sha256",
		"bash-5.1.8-6.el9_1.aarch64.rpm sha256",
		"bash-5.1.8-6.el9_1.aarch64.rpm header signed by key",
		"util-linux-login-2.37.4-15.el9.aarch64.rpm: package signature NOT checked (the package is not signed)",
		"recorded by rpm",
	} {
		assert.Contains(t, all, want)
	}
	got, _ := os.ReadFile(filepath.Join(root, "usr/bin/bash"))
	assert.Equal(t, bash, got, "bash is restored byte for byte")
	got, _ = os.ReadFile(filepath.Join(root, "etc/pam.d/login"))
	assert.Contains(t, string(got), "pam_nologin.so")

	code, out, errOut = rescueCLI(t, "scan", root, "--checks", checks, "--json")
	var again struct{ Findings []struct{ ID, Path string } }
	require.NoError(t, json.Unmarshal([]byte(out), &again), errOut)
	for _, f := range again.Findings {
		assert.NotContains(t, []string{"/usr/bin/bash", "/etc/pam.d/login"}, f.Path, "still found after the restore: %s", f.ID)
	}
	code, _, errOut = rescueCLI(t, "undo", root)
	require.Equal(t, 0, code, errOut)
	after := checkstest.HashSnapshot(t, root)
	for p := range after {
		if p == "/var/lib/rescue" || strings.HasPrefix(p, "/var/lib/rescue/") {
			delete(after, p)
		}
	}
	assert.Equal(t, broken, after, "undo gives back the broken tree exactly")
}

// TestAlmaFetchDigestDiffers: the repository's package is signed and
// listed correctly, but its bash is not the one the target's database
// records: the restore refuses it with a clear message and writes
// nothing.
func TestAlmaFetchDigestDiffers(t *testing.T) {
	root, url := almaRepoRoot(t, func(real []byte) []byte { return append([]byte("#!/bin/sh\n# not bash\n"), real[:100]...) })
	require.NoError(t, os.Truncate(filepath.Join(root, "usr/bin/bash"), 0))
	broken := checkstest.HashSnapshot(t, root)
	code, out, errOut := rescueCLI(t, "fix", root, "--only", "zerosize", "--mirror", url+"/$releasever/BaseOS/$basearch/os/", "--cache", t.TempDir(), "--apply", "--json")
	assert.Equal(t, 4, code, "%s\n%s", out, errOut)
	var rep struct {
		Findings []struct {
			ID    string
			NoFix string `json:"no_fix"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Findings, 1, out)
	assert.Equal(t, "zerosize/empty:/usr/bin/bash", rep.Findings[0].ID)
	assert.Contains(t, rep.Findings[0].NoFix, "bash-5.1.8-6.el9_1.aarch64.rpm")
	assert.Contains(t, rep.Findings[0].NoFix, "does not match the installed package")
	assert.Equal(t, broken, checkstest.HashSnapshot(t, root), "nothing was written")
}
