package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/images/boot"
)

// listTree runs a tree's listing in dir with the real find, sha256sum and
// sed, as the helper does, and reads it back.
func listTree(t *testing.T, tr HelperTree, dir string) manifest {
	t.Helper()
	cmd := exec.Command("sh", "-c", tr.listing())
	cmd.Dir = dir
	out, err := cmd.Output()
	require.NoError(t, err)
	m, err := parseHelperManifest(string(out))
	require.NoError(t, err)
	return m
}

func TestHelperManifest(t *testing.T) {
	for _, tool := range []string{"find", "sha256sum", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool, " not found")
		}
	}
	root := t.TempDir()
	write := func(p, data string, mode os.FileMode) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(data), mode))
	}
	write("boot/grub/grub.cfg", "set default=0\n", 0o444)
	write("boot/grub/fonts/unicode.pf2", "font", 0o644)
	write("boot/other", "not listed", 0o644)
	require.NoError(t, os.Symlink("grub.cfg", filepath.Join(root, "boot/grub/link")))
	mt := time.Unix(1764606780, 123456789)
	require.NoError(t, os.Chtimes(filepath.Join(root, "boot/grub/grub.cfg"), mt, mt))

	tr := HelperTree{Name: "root", Dir: "boot/grub"}
	m := listTree(t, tr, root)
	assert.ElementsMatch(t, []string{"root:/boot/grub", "root:/boot/grub/grub.cfg", "root:/boot/grub/fonts", "root:/boot/grub/fonts/unicode.pf2", "root:/boot/grub/link"}, keys(m))
	cfg := m["root:/boot/grub/grub.cfg"]
	assert.True(t, cfg.Type.IsRegular())
	assert.Equal(t, os.FileMode(0o444), cfg.Mode)
	assert.Equal(t, int64(14), cfg.Size)
	assert.True(t, cfg.Mtime.Equal(mt), "mtime to the nanosecond: %v", cfg.Mtime)
	assert.Equal(t, fileSum(t, filepath.Join(root, "boot/grub/grub.cfg")), cfg.Hash)
	assert.Equal(t, "grub.cfg", m["root:/boot/grub/link"].Link)
	assert.True(t, m["root:/boot/grub"].Type.IsDir())

	// The whole filesystem (an ESP): paths from its root.
	all := listTree(t, HelperTree{Name: "esp"}, root)
	assert.Contains(t, keys(all), "esp:/")
	assert.Contains(t, keys(all), "esp:/boot/other")

	// The same content rewritten, and a file added: both seen.
	write("boot/grub/grub.cfg", "set default=1\n", 0o444)
	require.NoError(t, os.Chtimes(filepath.Join(root, "boot/grub/grub.cfg"), mt, mt))
	write("boot/grub/x86_64-efi/core.efi", "core", 0o644)
	after := listTree(t, tr, root)
	assert.Equal(t, []string{"added /boot/grub/x86_64-efi", "added /boot/grub/x86_64-efi/core.efi", "/boot/grub/grub.cfg: content"},
		trimTree(diffManifests(m, after)))

	_, err := parseHelperManifest("root\tf\t644\n")
	assert.Error(t, err)
	_, err = parseHelperManifest("root\tf\t644\t0\t0\t1\t1.5\t\t./x\n")
	assert.ErrorContains(t, err, "no hash", "a file without its hash is not judged by size alone")
}

func fileSum(t *testing.T, p string) string {
	s, err := fileHash(p)
	require.NoError(t, err)
	return s
}

func keys(m manifest) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func trimTree(d []string) []string {
	out := make([]string, len(d))
	for i, l := range d {
		out[i] = strings.Replace(l, "root:", "", 1)
	}
	return out
}

// TestJudgeHelperManifests: a repair that does nothing, or does not put
// back the loaders, fails; an undo that leaves anything different fails.
func TestJudgeHelperManifests(t *testing.T) {
	dir := entry{Type: os.ModeDir, Mode: 0o755}
	file := func(h string) entry { return entry{Mode: 0o755, Size: 4, Hash: h, Mtime: time.Unix(100, 0)} }
	broken := manifest{"esp:/": dir, "esp:/EFI": dir, "esp:/EFI/BOOT": dir, "esp:/EFI/BOOT/grub.cfg": file("a")}
	repaired := manifest{"esp:/": dir, "esp:/EFI": dir, "esp:/EFI/BOOT": dir, "esp:/EFI/BOOT/grub.cfg": file("b"), "esp:/EFI/BOOT/BOOTX64.EFI": file("c")}
	restored := []string{"esp:/EFI/BOOT/BOOTX64.EFI"}

	undo, bad := judgeHelperManifests(broken, repaired, broken, restored)
	assert.Equal(t, "identical", undo)
	assert.Empty(t, bad)

	_, bad = judgeHelperManifests(broken, broken, broken, restored)
	assert.Contains(t, bad, "the repair left the trees as they were broken")
	assert.Contains(t, bad, "the repair did not put back esp:/EFI/BOOT/BOOTX64.EFI")

	undo, bad = judgeHelperManifests(broken, repaired, repaired, restored)
	assert.Equal(t, "added esp:/EFI/BOOT/BOOTX64.EFI; esp:/EFI/BOOT/grub.cfg: content", undo)
	assert.Len(t, bad, 1)
	other := manifest{"esp:/": dir, "esp:/EFI": dir, "esp:/EFI/BOOT": dir, "esp:/EFI/BOOT/grub.cfg": file("a")}
	e := other["esp:/EFI/BOOT/grub.cfg"]
	e.Mtime = time.Unix(102, 0)
	other["esp:/EFI/BOOT/grub.cfg"] = e
	undo, _ = judgeHelperManifests(broken, repaired, other, restored)
	assert.Equal(t, "esp:/EFI/BOOT/grub.cfg: mtime", undo)
}

// TestOVMFFoundNothing judges the broken boot by the console OVMF left
// (recorded here: the loaders deleted, OVMF 2022.11): the firmware's own
// failure and its shell; a console that shows GRUB or a kernel is not it.
func TestOVMFFoundNothing(t *testing.T) {
	sc, err := Lookup("efi-loaders-deleted")
	require.NoError(t, err)
	r := &boot.Result{Class: boot.NoBootable, SerialLog: "testdata/ovmf-no-loader.log"}
	ok, why := sc[0].Broken.Met(r)
	assert.True(t, ok, why)
	ok, _ = sc[0].Broken.Met(healthyResult())
	assert.False(t, ok, "a boot that logs in is not the fault")

	other := filepath.Join(t.TempDir(), "serial.log")
	require.NoError(t, os.WriteFile(other, []byte("BdsDxe: loading Boot0002 \"UEFI Misc Device\"\nWelcome to GRUB!\n"), 0o644))
	ok, why = sc[0].Broken.Met(&boot.Result{Class: boot.NoBootable, SerialLog: other})
	assert.False(t, ok)
	assert.Contains(t, why, "failing to load")
}

// TestHelperRowScripts checks the text the helper runs: the manifest
// script mounts each tree read-only and unmounts it, and the break lines
// name the disk by $D only.
func TestHelperRowScripts(t *testing.T) {
	sc, err := Lookup("efi-loaders-deleted")
	require.NoError(t, err)
	hr := sc[0].InHelper
	require.NotNil(t, hr)
	assert.NotEmpty(t, sc[0].FullOnly, "out of CI's budget")
	script := hr.manifestScript()
	assert.Contains(t, script, `mount -t vfat -o ro "${d}1" $m`)
	assert.Contains(t, script, `mount -t xfs -o ro,norecovery "${d}2" $m`)
	assert.Equal(t, 2, strings.Count(script, "\numount $m\n"))
	for _, l := range hr.Break {
		assert.NotContains(t, l, "/dev/vd", "the disk is $D")
	}
}
