//go:build bench

package bench

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"

	"rescue/images"
	"rescue/pkgdb/pkgdbtest"
)

// tree is a root verify is measured on.
type tree struct {
	name  string
	dir   string
	kind  string // rpm, dpkg
	files int
	bytes int64
	// cloud: measured on the cloud disk too (the trees that are large
	// enough for the disk to matter).
	cloud bool
}

func treeSize(dir string) (int, int64) {
	n, size := 0, int64(0)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n++
			size += fi.Size()
		}
		return nil
	})
	return n, size
}

// breakTree makes the same kinds of damage in every tree: a missing
// configuration file, an emptied file, a changed byte, a mode change.
func breakTree(t *testing.T, dir string, conf, empty, change, chmod string) {
	p := func(s string) string { return filepath.Join(dir, s) }
	require.NoError(t, os.Remove(p(conf)))
	require.NoError(t, os.Truncate(p(empty), 0))
	data, err := os.ReadFile(p(change))
	require.NoError(t, err)
	data[len(data)/2] ^= 0x55
	require.NoError(t, os.WriteFile(p(change), data, 0o644))
	require.NoError(t, os.Chmod(p(chmod), 0o700))
}

// bulkRPMRoot installs generated packages holding many files of mixed
// sizes, as a stand-in for a full system's /usr.
func bulkRPMRoot(t *testing.T) string {
	pkgs := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var rpms []string
	for p := range 4 {
		spec := pkgdbtest.RPMSpec{Name: fmt.Sprintf("bulk%d", p), Version: "1.0", Release: "1", Arch: "x86_64", Payload: "w.ufdio"}
		for i := range 2000 {
			size := 512 + rng.IntN(24<<10)
			if i%50 == 0 {
				size = 1<<20 + rng.IntN(2<<20)
			}
			buf := make([]byte, size)
			for j := range buf {
				buf[j] = byte(rng.Uint32())
			}
			spec.Files = append(spec.Files, pkgdbtest.RPMFile{Path: fmt.Sprintf("/usr/lib64/bulk%d/d%02d/f%04d.so", p, i%40, i), Content: string(buf), Mode: "0755"})
		}
		if p == 0 {
			spec.Files = append(spec.Files, pkgdbtest.RPMFile{Path: "/etc/bulk.conf", Content: "a=1\n", Attrs: "%config(noreplace)"})
		}
		rpms = append(rpms, pkgdbtest.BuildRPM(t, pkgs, spec))
	}
	return pkgdbtest.RPMRoot(t, rpms...)
}

// bootRoot extracts the Debian 12 root the boot proof uses (cached by the
// e2e suite, built with mmdebstrap when missing): a real system with two
// kernels, systemd, sshd and grub.
func bootRoot(t *testing.T) string {
	pkgdbtest.NeedTool(t, "mmdebstrap", "mmdebstrap")
	root, err := images.BuildBootRoot(context.Background(), images.Bookworm, "")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, images.ExtractRoot(root.Tarball, dir))
	return dir
}

// growthRoot builds a dpkg root of n files: packages of 500 files each, in
// directories of 50, of 0.5 to 8 KiB with one in a hundred of 64 KiB to
// 1 MiB, with dpkg's status, file lists and md5sums, and the four kinds of
// damage of breakTree.
func growthRoot(t *testing.T, n int) string {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	info := filepath.Join(dir, "var/lib/dpkg/info")
	require.NoError(t, os.MkdirAll(info, 0o755))
	status, err := os.Create(filepath.Join(dir, "var/lib/dpkg/status"))
	require.NoError(t, err)
	defer status.Close()
	sw := bufio.NewWriter(status)
	buf := make([]byte, 1<<20)
	for j := range buf {
		buf[j] = byte(rng.Uint32())
	}
	const perPkg, perDir = 500, 50
	for p := 0; p*perPkg < n; p++ {
		name := fmt.Sprintf("growth%05d", p)
		var list, sums strings.Builder
		list.WriteString("/usr\n/usr/share\n/usr/share/growth\n")
		fmt.Fprintf(&list, "/usr/share/growth/%s\n", name)
		for i := 0; i < perPkg && p*perPkg+i < n; i++ {
			if i%perDir == 0 {
				d := fmt.Sprintf("/usr/share/growth/%s/d%02d", name, i/perDir)
				require.NoError(t, os.MkdirAll(dir+d, 0o755))
				list.WriteString(d + "\n")
			}
			size := 512 + rng.IntN(8<<10-512)
			if i%100 == 7 {
				size = 64<<10 + rng.IntN(1<<20-64<<10)
			}
			off := rng.IntN(len(buf) - size)
			data := buf[off : off+size]
			f := fmt.Sprintf("/usr/share/growth/%s/d%02d/f%04d", name, i/perDir, i)
			require.NoError(t, os.WriteFile(dir+f, data, 0o644))
			sum := md5.Sum(data)
			list.WriteString(f + "\n")
			fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), f[1:])
		}
		if p == 0 {
			require.NoError(t, os.MkdirAll(dir+"/etc", 0o755))
			require.NoError(t, os.WriteFile(dir+"/etc/growth.conf", []byte("a=1\n"), 0o644))
			list.WriteString("/etc\n/etc/growth.conf\n")
		}
		require.NoError(t, os.WriteFile(filepath.Join(info, name+".list"), []byte(list.String()), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(info, name+".md5sums"), []byte(sums.String()), 0o644))
		conffiles := ""
		if p == 0 {
			sum := md5.Sum([]byte("a=1\n"))
			conffiles = "Conffiles:\n /etc/growth.conf " + hex.EncodeToString(sum[:]) + "\n"
		}
		fmt.Fprintf(sw, "Package: %s\nStatus: install ok installed\nPriority: optional\nSection: misc\nInstalled-Size: 1\nMaintainer: bench <bench@example.org>\nArchitecture: all\nVersion: 1.0\n%sDescription: growth tree package %d\n\n", name, conffiles, p)
	}
	require.NoError(t, sw.Flush())
	breakTree(t, dir, "etc/growth.conf", "usr/share/growth/growth00000/d00/f0003",
		"usr/share/growth/growth00000/d00/f0001", "usr/share/growth/growth00000/d01/f0055")
	return dir
}

// rpmDBRoot is a root holding nothing but a real RPM database from
// testdata/rpmdb (every file it lists is missing): how verify's cost grows
// with the packages and records of a database.
func rpmDBRoot(t *testing.T, name, file string) string {
	z, err := os.ReadFile(filepath.Join("..", "testdata", "rpmdb", name, file+".zst"))
	require.NoError(t, err)
	dec, err := zstd.NewReader(nil)
	require.NoError(t, err)
	defer dec.Close()
	data, err := dec.DecodeAll(z, nil)
	require.NoError(t, err)
	dir := t.TempDir()
	db := filepath.Join(dir, "var/lib/rpm")
	require.NoError(t, os.MkdirAll(db, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(db, file), data, 0o644))
	return dir
}

// rescueBinary builds the CLI once.
func rescueBinary(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "rescue")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/rescue")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}
