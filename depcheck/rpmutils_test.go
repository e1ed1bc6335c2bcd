package depcheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	rpmutils "github.com/sassoftware/go-rpmutils"
	"github.com/stretchr/testify/require"

	"rescue/rpmdb"
)

// buildRPM makes a package with rpmbuild with the given payload
// compression (as rpmdb/rpmfile_test.go does).
func buildRPM(t *testing.T, payload string, files map[string]string) []byte {
	t.Helper()
	need(t, "rpmbuild")
	top := t.TempDir()
	var install, list strings.Builder
	i := 0
	for p, content := range files {
		src := filepath.Join(top, "src"+string(rune('a'+i)))
		i++
		require.NoError(t, os.WriteFile(src, []byte(content), 0o644))
		install.WriteString("install -D -m 0644 " + src + " %{buildroot}" + p + "\n")
		list.WriteString(p + "\n")
	}
	spec := "Name: t\nVersion: 1\nRelease: 1\nSummary: t\nLicense: MIT\nBuildArch: noarch\n%define debug_package %{nil}\n%define __os_install_post %{nil}\n%description\nt\n%install\n" +
		install.String() + "%files\n" + list.String()
	specFile := filepath.Join(top, "t.spec")
	require.NoError(t, os.WriteFile(specFile, []byte(spec), 0o644))
	run(t, "", "rpmbuild", "--define", "_topdir "+top, "--define", "_binary_payload "+payload, "--nodeps", "-bb", specFile)
	data, err := os.ReadFile(filepath.Join(top, "RPMS", "noarch", "t-1-1.noarch.rpm"))
	require.NoError(t, err)
	return data
}

// go-rpmutils reads every payload compression rpmbuild writes, without
// cgo (its zstd falls back to klauspost/compress), and extracts the same
// bytes as rescue. It would still be a second parser of rpm headers beside
// rpmdb/header.go, which the package databases need anyway.
func TestRpmutilsAgrees(t *testing.T) {
	files := map[string]string{"/etc/t.conf": strings.Repeat("configuration line\n", 500), "/usr/lib/t/big.so": strings.Repeat("\x00\x01binary", 100000)}
	for _, payload := range []string{"w9.gzdio", "w6.xzdio", "w19.zstdio", "w9.bzdio", "w.ufdio"} {
		t.Run(payload, func(t *testing.T) {
			data := buildRPM(t, payload, files)
			pf, err := rpmdb.ReadPackageFile(bytes.NewReader(data), int64(len(data)))
			require.NoError(t, err)
			r, err := rpmutils.ReadRpm(bytes.NewReader(data))
			require.NoError(t, err)
			nevra, err := r.Header.GetNEVRA()
			require.NoError(t, err)
			require.Equal(t, pf.Package.NVRA(), nevra.Name+"-"+nevra.Version+"-"+nevra.Release+"."+nevra.Arch)
			pr, err := r.PayloadReaderExtended()
			require.NoError(t, err)
			compared := 0
			for {
				fi, err := pr.Next()
				if err != nil {
					break
				}
				if fi.Mode()&0o170000 != 0o100000 {
					continue
				}
				var b bytes.Buffer
				_, err = b.ReadFrom(pr)
				require.NoError(t, err)
				ours, err := pf.Extract(fi.Name())
				require.NoError(t, err)
				require.Equal(t, ours, b.Bytes(), fi.Name())
				require.Equal(t, files[fi.Name()], b.String())
				compared++
			}
			require.Equal(t, len(files), compared)
		})
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if .CgoFiles}}{{.ImportPath}}{{end}}", "github.com/sassoftware/go-rpmutils").Output()
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(string(out)), "with CGO_ENABLED=0 no package it needs uses cgo")
}

// The main header of a package whose index count is damaged to 2^24:
// go-rpmutils allocates the 256 MiB the count implies before reading it,
// from a package of a few kilobytes (the count is 32 bits, so up to
// 64 GiB). rescue refuses a header larger than its own bound
// (rpmdb/header.go) with an error.
func TestRpmutilsTrustsHeaderCounts(t *testing.T) {
	data := buildRPM(t, "w9.gzdio", map[string]string{"/etc/t.conf": "x\n"})
	pf, err := rpmdb.ReadPackageFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	blob, err := pf.HeaderBlob()
	require.NoError(t, err)
	at := bytes.Index(data, blob)
	require.Positive(t, at)
	bad := bytes.Clone(data)
	bad[at+8], bad[at+9], bad[at+10], bad[at+11] = 0x01, 0, 0, 0 // il = 2^24
	_, err = rpmdb.ReadPackageFile(bytes.NewReader(bad), int64(len(bad)))
	require.Error(t, err)
	t.Logf("rescue: %v", err)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = rpmutils.ReadRpm(bytes.NewReader(bad))
	runtime.ReadMemStats(&after)
	t.Logf("go-rpmutils: %v; allocated %d MiB for a %d-byte package", err, (after.TotalAlloc-before.TotalAlloc)>>20, len(bad))
	require.Error(t, err)
	require.GreaterOrEqual(t, after.TotalAlloc-before.TotalAlloc, uint64(256<<20),
		"go-rpmutils no longer allocates what a header claims: revisit docs/dependencies.md")
}
