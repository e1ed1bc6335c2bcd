package report

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/docs/schema"
	"rescue/pkgdb"
	"rescue/sysroot"
)

// verifyRoot is a dpkg root of two packages (as cmd/rescue's verify
// script has it) with a changed conffile, a missing library and an
// emptied binary.
func verifyRoot(t *testing.T) string {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"var/lib/dpkg/status": "Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.10-3\nConffiles:\n /etc/pam.d/login 313082b0fdcceb592c76c3c9f2df9916\n\n" +
			"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 2.36-9+deb12u4\n",
		"var/lib/dpkg/info/hello.list":          "/.\n/etc\n/etc/pam.d\n/etc/pam.d/login\n/usr\n/usr/bin\n/usr/bin/hello\n",
		"var/lib/dpkg/info/hello.md5sums":       "b1946ac92492d2347c6235b4d2611184  usr/bin/hello\n",
		"var/lib/dpkg/info/libc6:amd64.list":    "/.\n/lib\n",
		"var/lib/dpkg/info/libc6:amd64.md5sums": "b1946ac92492d2347c6235b4d2611184  lib/libnss_files.so.2\n",
		"etc/pam.d/login":                       "auth sufficient pam_permit.so\n",
		"usr/bin/hello":                         "",
		"lib/.keep":                             "",
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	return dir
}

// TestVerifyDocument: verify's JSON document, text and closing line from a
// real verify run; the document validates against docs/schema's
// verify.v1.json, and the summary and exit code count what the run found.
func TestVerifyDocument(t *testing.T) {
	root, err := sysroot.Open(verifyRoot(t))
	require.NoError(t, err)
	defer root.Close()
	db, err := pkgdb.Open(root)
	require.NoError(t, err)
	require.NotNil(t, db)
	rep, err := pkgdb.Verify(context.Background(), root, db, pkgdb.VerifyOptions{})
	require.NoError(t, err)

	sum := SummarizeVerify(rep)
	assert.Equal(t, VerifySummary{Changed: 1, Missing: 1, ZeroSize: 1, ConfigChanged: 1}, sum)
	assert.Equal(t, ExitFindings, sum.ExitCode())
	assert.Equal(t, ExitOK, VerifySummary{ConfigChanged: 3}.ExitCode(), "a changed configuration file is normal")
	assert.Equal(t, ExitFindings, VerifySummary{ConfigMissing: 1}.ExitCode(), "a missing one is not")

	var b bytes.Buffer
	require.NoError(t, NewVerify(Tool{Name: "rescue", Version: "dev"}, Target{Path: "/mnt"}, db, rep, false, nil, 0.5).WriteJSON(&b))
	require.NoError(t, schema.Validate(b.Bytes()), b.String())
	assert.Contains(t, b.String(), `"schema": "rescue.verify/v1"`)
	assert.Contains(t, b.String(), `"line": "missing     /lib/libnss_files.so.2"`)

	b.Reset()
	WriteVerifyText(&b, rep)
	assert.Equal(t, "??5??????    /usr/bin/hello (zero size)\nmissing     /lib/libnss_files.so.2\n\n"+
		"Configuration files (a changed one is normal, a missing one is not):\n??5??????  c /etc/pam.d/login\n", b.String())
	assert.Equal(t, "dpkg database /var/lib/dpkg/status: 2 packages, 8 files (8 paths, 30 B read) in 0.50s; "+
		"1 file differs, 1 file missing, 1 file emptied, 1 configuration file changed", VerifyClosing(db, rep, 0.5, false))
}
