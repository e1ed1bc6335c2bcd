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

// TestDebian11FetchFromMirror restores the seed's lost files on a real
// Debian 11 root with no --packages and nothing in the target's cache:
// libnss_files.so.2 (a symlink in libc6), pam_unix.so deleted and
// /bin/login emptied. The packages come from a mirror served over HTTP by
// the test, holding Debian's own signed InRelease and Packages files and
// the real .debs: the dry run resolves them (metadata only) and says from
// where; --apply downloads them, checks the chain (signature with the
// root's own keys, Packages digest, .deb digest) and every file against
// dpkg's md5sums; the rescan is clean and undo gives the broken tree back.
func TestDebian11FetchFromMirror(t *testing.T) {
	root, debs := pkgdbtest.DebianSuiteRoot(t, "bullseye")
	mirror := pkgdbtest.DebianMirror(t, root, debs)
	srv := httptest.NewServer(http.FileServer(http.Dir(mirror)))
	defer srv.Close()
	cache := t.TempDir()

	lib := filepath.Join(root, "lib/x86_64-linux-gnu")
	loginData, err := os.ReadFile(filepath.Join(root, "bin/login"))
	require.NoError(t, err)
	pamData, err := os.ReadFile(filepath.Join(lib, "security/pam_unix.so"))
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(lib, "libnss_files.so.2")))
	require.NoError(t, os.Remove(filepath.Join(lib, "security/pam_unix.so")))
	require.NoError(t, os.Truncate(filepath.Join(root, "bin/login"), 0))
	broken := checkstest.HashSnapshot(t, root)
	checks := "nss,pam,zerosize,pkgfiles"
	fix := []string{"fix", root, "--only", checks, "--mirror", srv.URL, "--cache", cache, "--json"}

	// The dry run resolves: metadata is fetched, no package is.
	code, out, errOut := rescueCLI(t, fix...)
	require.Equal(t, 4, code, errOut)
	var plan fixJSON
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	fetches := map[string]string{}
	for _, it := range plan.Plan.Items {
		for _, op := range it.Fix.Ops {
			require.Equal(t, "fetch", op.Kind, it.Fix.Message)
			require.NotNil(t, op.Source)
			fetches[op.Path] = op.Source.From
			assert.Contains(t, strings.Join(op.Source.Checks, "\n"), "signed by key", op.Path)
		}
	}
	assert.Equal(t, srv.URL+"/pool/updates/main/g/glibc/libc6_2.31-13+deb11u14_amd64.deb", fetches["/lib/x86_64-linux-gnu/libnss_files.so.2"])
	assert.Contains(t, fetches["/lib/x86_64-linux-gnu/security/pam_unix.so"], "/libpam-modules_1.4.0-9+deb11u2_amd64.deb")
	assert.Contains(t, fetches["/bin/login"], "/login_4.8.1-1+deb11u1_amd64.deb")
	debsIn, _ := filepath.Glob(filepath.Join(cache, "*", "*", "pool", "*", "*", "*", "*", "*.deb"))
	assert.Empty(t, debsIn, "a dry run downloads no package")

	// --apply fetches, checks and restores.
	plan = applied(t, append(fix[:len(fix)-1], "--apply")...)
	var checksSeen []string
	for _, it := range plan.Plan.Items {
		for _, op := range it.Fix.Ops {
			require.NotNil(t, op.Source, op.Path)
			assert.True(t, strings.HasPrefix(op.Source.From, srv.URL+"/pool/"), op.Source.From)
			checksSeen = append(checksSeen, op.Source.Checks...)
		}
	}
	all := strings.Join(checksSeen, "\n")
	for _, want := range []string{
		"InRelease of " + srv.URL + " bullseye-security main signed by key",
		"target:/etc/apt/trusted.gpg.d/",
		"main/binary-amd64/Packages sha256",
		"libc6_2.31-13+deb11u14_amd64.deb sha256",
		"recorded by dpkg",
		"link target from the package libc6_2.31-13+deb11u14_amd64 itself",
	} {
		assert.Contains(t, all, want)
	}
	l, err := os.Readlink(filepath.Join(lib, "libnss_files.so.2"))
	require.NoError(t, err)
	assert.Equal(t, "libnss_files-2.31.so", l)
	got, _ := os.ReadFile(filepath.Join(lib, "security/pam_unix.so"))
	assert.Equal(t, pamData, got)
	got, _ = os.ReadFile(filepath.Join(root, "bin/login"))
	assert.Equal(t, loginData, got)

	code, out, errOut = rescueCLI(t, "scan", root, "--checks", checks)
	assert.Equal(t, 0, code, "the rescan is clean:\n%s%s", out, errOut)
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
