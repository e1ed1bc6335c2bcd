package dpkg

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// buildDeb makes a .deb with dpkg-deb and returns its bytes.
func buildDeb(t testing.TB, compression string) []byte {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb is not installed")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "pkg")
	for p, c := range map[string]string{
		"DEBIAN/control":       "Package: hello\nVersion: 1:2.10-3\nArchitecture: amd64\nMaintainer: t <t@example.org>\nDescription: t\n",
		"usr/bin/hello":        "\x7fELF hello\n",
		"etc/pam.d/login":      "auth required pam_unix.so\n",
		"usr/lib/big/data.bin": strings.Repeat("data", 50000),
	} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(c), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(root, "usr/bin/hello"), 0o755|os.ModeSetuid))
	require.NoError(t, os.Link(filepath.Join(root, "usr/bin/hello"), filepath.Join(root, "usr/bin/hello-link")))
	require.NoError(t, os.Symlink("../big/data.bin", filepath.Join(root, "usr/lib/big/data.so.1")))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "usr/share/empty"), 0o750))
	require.NoError(t, os.Chmod(filepath.Join(root, "usr/share/empty"), 0o750))
	if os.Getuid() == 0 {
		require.NoError(t, unix.Mknod(filepath.Join(root, "usr/share/empty/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		require.NoError(t, unix.Chmod(filepath.Join(root, "usr/share/empty/null"), 0o666))
	}
	require.NoError(t, unix.Mkfifo(filepath.Join(root, "usr/share/empty/fifo"), 0o600))
	out := filepath.Join(dir, "hello.deb")
	cmd := exec.Command("dpkg-deb", "--root-owner-group", "-Z"+compression, "--build", root, out)
	o, err := cmd.CombinedOutput()
	require.NoError(t, err, string(o))
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	return data
}

func TestDeb(t *testing.T) {
	for _, z := range []string{"gzip", "xz", "zstd", "none"} {
		t.Run(z, func(t *testing.T) {
			data := buildDeb(t, z)
			d, err := OpenDeb(bytes.NewReader(data), int64(len(data)))
			require.NoError(t, err)
			require.Equal(t, "hello", d.Name)
			require.Equal(t, "1:2.10-3", d.Version)
			require.Equal(t, "amd64", d.Architecture)
			e, err := d.Extract("/etc/pam.d/login")
			require.NoError(t, err)
			require.Equal(t, "auth required pam_unix.so\n", string(e.Data))
			require.Equal(t, int64(0o644), e.Mode)
			e, err = d.Extract("/usr/lib/big/data.bin")
			require.NoError(t, err)
			require.Len(t, e.Data, 200000)
			for _, p := range []string{"/usr/bin/hello", "/usr/bin/hello-link"} {
				e, err = d.Extract(p)
				require.NoError(t, err, p)
				require.Equal(t, "\x7fELF hello\n", string(e.Data), p)
				require.Equal(t, int64(0o4755), e.Mode&0o7777)
				require.Equal(t, "root", e.Uname)
			}
			_, err = d.Extract("/usr/bin")
			require.Error(t, err, "a directory is not a regular file")

			// Lookup returns every kind of entry with what dpkg
			// installs it with.
			e, err = d.Lookup("/usr/lib/big/data.so.1")
			require.NoError(t, err)
			require.Equal(t, byte(tar.TypeSymlink), e.Type)
			require.Equal(t, "../big/data.bin", e.Linkname)
			e, err = d.Lookup("/usr/share/empty")
			require.NoError(t, err)
			require.Equal(t, byte(tar.TypeDir), e.Type)
			require.Equal(t, int64(0o750), e.Mode)
			e, err = d.Lookup("/usr/bin/hello-link")
			require.NoError(t, err)
			if e.Type == tar.TypeLink {
				require.Equal(t, "/usr/bin/hello", e.LinkedFrom)
			} else {
				// dpkg-deb stores whichever link tar meets first.
				e, err = d.Lookup("/usr/bin/hello")
				require.NoError(t, err)
				require.Equal(t, byte(tar.TypeLink), e.Type)
				require.Equal(t, "/usr/bin/hello-link", e.LinkedFrom)
			}
			require.Equal(t, "\x7fELF hello\n", string(e.Data))
			e, err = d.Lookup("/usr/share/empty/fifo")
			require.NoError(t, err)
			require.Equal(t, byte(tar.TypeFifo), e.Type)
			require.Equal(t, int64(0o600), e.Mode)
			if os.Getuid() == 0 {
				e, err = d.Lookup("/usr/share/empty/null")
				require.NoError(t, err)
				require.Equal(t, byte(tar.TypeChar), e.Type)
				require.Equal(t, [2]int64{1, 3}, [2]int64{e.Devmajor, e.Devminor})
			}
			_, err = d.Extract("/nope")
			require.ErrorIs(t, err, ErrNotInPackage)
		})
	}
	_, err := OpenDeb(bytes.NewReader([]byte("not a deb")), 9)
	require.Error(t, err)
}

func FuzzOpenDeb(f *testing.F) {
	data := buildDeb(f, "gzip")
	f.Add(data)
	f.Add(data[:300])
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := OpenDeb(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		d.Extract("/usr/bin/hello")
		d.Extract("/usr/bin/hello-link")
		d.Lookup("/usr/lib/big/data.so.1")
		d.Lookup("/usr/share/empty/null")
	})
}
