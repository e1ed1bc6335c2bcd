package rpmdb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// buildRPM makes a small package with rpmbuild (no helper from pkgdbtest:
// it imports this package) and returns its bytes.
func buildRPM(t testing.TB, payload string, files map[string]string) []byte {
	if _, err := exec.LookPath("rpmbuild"); err != nil {
		t.Skip("rpmbuild is not installed (apt-get install rpm)")
	}
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
	install.WriteString("mkdir -p %{buildroot}/usr/share/t\nln %{buildroot}/usr/share/t/one %{buildroot}/usr/share/t/hardlink\n")
	list.WriteString("/usr/share/t/hardlink\n")
	spec := "Name: t\nVersion: 1\nRelease: 1\nSummary: t\nLicense: MIT\nBuildArch: noarch\n%define debug_package %{nil}\n%define __os_install_post %{nil}\n%description\nt\n%install\n" +
		install.String() + "%files\n" + list.String()
	specFile := filepath.Join(top, "t.spec")
	require.NoError(t, os.WriteFile(specFile, []byte(spec), 0o644))
	out, err := exec.Command("rpmbuild", "--define", "_topdir "+top, "--define", "_binary_payload "+payload, "--nodeps", "-bb", specFile).CombinedOutput()
	require.NoError(t, err, string(out))
	data, err := os.ReadFile(filepath.Join(top, "RPMS", "noarch", "t-1-1.noarch.rpm"))
	require.NoError(t, err)
	return data
}

func TestExtract(t *testing.T) {
	files := map[string]string{
		"/usr/share/t/one":  "first file\n",
		"/etc/t.conf":       strings.Repeat("configuration line\n", 500),
		"/usr/lib/t/big.so": strings.Repeat("\x00\x01binary", 100000),
	}
	for _, payload := range []string{"w9.gzdio", "w6.xzdio", "w19.zstdio", "w9.bzdio", "w.ufdio"} {
		t.Run(payload, func(t *testing.T) {
			data := buildRPM(t, payload, files)
			pf, err := ReadPackageFile(bytes.NewReader(data), int64(len(data)))
			require.NoError(t, err)
			require.Equal(t, "t-1-1.noarch", pf.Package.NVRA())
			for p, want := range files {
				got, err := pf.Extract(p)
				require.NoError(t, err, p)
				require.Equal(t, want, string(got), p)
			}
			// Hard links share one copy of the data, stored with one of
			// the links; either name gives the content.
			got, err := pf.Extract("/usr/share/t/hardlink")
			require.NoError(t, err)
			require.Equal(t, files["/usr/share/t/one"], string(got))
			_, err = pf.Extract("/no/such/file")
			require.ErrorIs(t, err, ErrNotInPackage)
			// A truncated package file is an error, not a panic.
			cut := data[:len(data)-len(data)/3]
			if pf2, err := ReadPackageFile(bytes.NewReader(cut), int64(len(cut))); err == nil {
				_, err = pf2.Extract("/usr/lib/t/big.so")
				require.Error(t, err)
			}
		})
	}
}

func FuzzReadPackageFile(f *testing.F) {
	data := buildRPM(f, "w9.gzdio", map[string]string{"/usr/share/t/one": "x\n"})
	f.Add(data)
	f.Add(data[:200])
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := ReadPackageFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, fl := range pf.Package.Files() {
			pf.Extract(fl.Path)
		}
	})
}
