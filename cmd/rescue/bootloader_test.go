package main

// rescue fix --reinstall-bootloader on real disks: a DOS table and an ext4
// made by sfdisk and mkfs, GRUB's real sectors (a Debian 12 image's) in
// the gap, sector 0's boot code zeroed; and, where the e2e cache has one,
// a real Debian 12 image with its own grub-install.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"rescue/images"
	"rescue/parse/bootsector"
)

// gap reads the first MiB of an image: sector 0 and the gap before the
// first partition.
func gap(t *testing.T, img string) []byte {
	t.Helper()
	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1<<20)
	_, err = f.ReadAt(b, 0)
	require.NoError(t, err)
	return b
}

func writeAt(t *testing.T, img string, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(data, off)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func findingIDs(t *testing.T, out string) []string {
	t.Helper()
	var rep scanReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	var ids []string
	for _, f := range rep.Findings {
		ids = append(ids, f.ID)
	}
	return ids
}

func TestDiskReinstallBootloader(t *testing.T) {
	needDiskRoot(t)
	head, err := os.ReadFile("../../checks/bootloader/testdata/grub-head.bin")
	require.NoError(t, err)
	rootUUID := "0b7e2a51-3c1d-4e8f-9a6b-5d4c3b2a1f00"
	root := systemTree(t, "debian", "UUID="+rootUUID+" / ext4 defaults 0 1\n")
	fake := filepath.Join(root, "usr/sbin/grub-install")
	cmd := exec.Command("go", "build", "-o", fake, "./testdata/fakegrub")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot build the stand-in grub-install: %v %s", err, out)
	}
	for p, data := range map[string][]byte{
		"usr/lib/grub/i386-pc/boot.img": head[:512], "usr/lib/grub/i386-pc/core.img": head[512:],
		"boot/grub/i386-pc/core.img": head[512:], "boot/grub/i386-pc/normal.mod": []byte("module"),
	} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), data, 0o644))
	}
	img := buildImage(t, images.Layout{Table: images.DOS, SizeMiB: 64, Partitions: []images.Partition{
		{Type: images.Linux, Bootable: true, FS: &images.Filesystem{Type: "ext4", UUID: rootUUID, From: root}},
	}})
	// GRUB as grub-install leaves it: boot.img's code, the core image.
	writeAt(t, img.Path, 0, head[:440])
	writeAt(t, img.Path, 512, head[512:])
	code, out, errOut := cli(t, "scan", "--json", "--checks", "bootloader", img.Path)
	require.Equal(t, 0, code, "the healthy disk: %s\n%s", out, errOut)
	require.Empty(t, findingIDs(t, out))

	writeAt(t, img.Path, 0, make([]byte, 440))
	broken := gap(t, img.Path)
	files := snapshot(t, img.Path, "")
	code, out, errOut = cli(t, "scan", "--json", "--checks", "bootloader", img.Path)
	require.Equal(t, 4, code, errOut)
	require.Equal(t, []string{"bootloader/mbr-code-zeroed"}, findingIDs(t, out))
	require.Equal(t, broken, gap(t, img.Path), "a scan writes nothing")

	// Without --allow-chroot nothing runs, and the report says how.
	code, out, _ = cli(t, "fix", "--apply", "--only", "bootloader", "--reinstall-bootloader", img.Path)
	require.NotEqual(t, 0, code)
	require.Contains(t, out, "allow it with --allow-chroot")
	require.Equal(t, broken, gap(t, img.Path))

	// The rest of this small tree has findings of its own (no
	// /etc/shadow, no host keys): the rescan after the repair sees them.
	code, out, errOut = cli(t, "fix", "--apply", "--only", "bootloader", "--allow-chroot", "--reinstall-bootloader", img.Path)
	require.Equal(t, 4, code, "repaired, other findings left: %s\n%s", out, errOut)
	require.Contains(t, out, "applied  bootloader/mbr-code-zeroed")
	fixed := gap(t, img.Path)
	require.Equal(t, head[:440], fixed[:440], "GRUB's boot code is back in sector 0")
	require.Equal(t, broken[440:512], fixed[440:512], "the partition table stays")
	code, out, _ = cli(t, "scan", "--json", "--checks", "bootloader", img.Path)
	require.Equal(t, 0, code)
	require.Empty(t, findingIDs(t, out))

	code, out, errOut = cli(t, "undo", img.Path)
	require.Equal(t, 0, code, "undo: %s\n%s", out, errOut)
	require.True(t, bytes.Equal(broken, gap(t, img.Path)), "undo writes the gap back byte for byte")
	require.Empty(t, changed(files, snapshot(t, img.Path, "")), "and every file")
}

// TestDiskReinstallRealGRUB runs the target's own grub-install (GRUB 2.06
// of Debian 12) from a copy of the e2e cache's MBR image, under the e2e
// lock (taken without waiting: skipped when a boot run holds it).
func TestDiskReinstallRealGRUB(t *testing.T) {
	needDiskRoot(t)
	if testing.Short() {
		t.Skip("copies and writes a 3 GiB image")
	}
	bases, _ := filepath.Glob("/var/cache/rescue-e2e/base-*-mbr-ext4-v3.img")
	var base string
	for _, b := range bases {
		if data, err := os.ReadFile(strings.TrimSuffix(b, ".img") + ".json"); err == nil && bytes.Contains(data, []byte("bookworm")) {
			base = b
		}
	}
	if base == "" {
		t.Skip("no Debian 12 MBR image in /var/cache/rescue-e2e (make e2e builds one)")
	}
	// RESCUE_E2E_LOCKED=1: the caller holds the lock (flock
	// /var/lock/rescue-e2e.lock go test …).
	if os.Getenv("RESCUE_E2E_LOCKED") != "1" {
		lock, err := os.OpenFile("/var/lock/rescue-e2e.lock", os.O_RDWR|os.O_CREATE, 0o644)
		require.NoError(t, err)
		defer lock.Close()
		if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			t.Skipf("the e2e cache is in use (%v): run again when no boot run holds /var/lock/rescue-e2e.lock, or under flock with RESCUE_E2E_LOCKED=1", err)
		}
		defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	out, err := exec.Command("cp", "--sparse=always", base, img).CombinedOutput()
	require.NoError(t, err, "%s", out)
	healthy := gap(t, img)
	writeAt(t, img, 0, make([]byte, 440))
	broken := gap(t, img)

	code, stdout, errOut := cli(t, "scan", "--json", "--checks", "bootloader", img)
	require.Equal(t, 4, code, errOut)
	require.Contains(t, findingIDs(t, stdout), "bootloader/mbr-code-zeroed")
	code, stdout, errOut = cli(t, "fix", "--apply", "--allow-chroot", "--reinstall-bootloader", img)
	require.Equal(t, 1, code, "%s\n%s", stdout, errOut)
	fixed := gap(t, img)
	m, err := bootsector.ParseMBR(fixed[:512])
	require.NoError(t, err)
	require.Equal(t, bootsector.MBR{Signature: true, Loader: "grub2", KernelSector: 1}, m, "the target's grub-install wrote GRUB 2's boot code again")
	// The same boot.img as the image builder wrote, but for the two
	// bytes at 0x66: grub-bios-setup turns the jump over the boot drive
	// check into NOPs for a hard disk (measured: eb 05 -> 90 90), which
	// the builder (grub-mkimage and dd) does not.
	require.Equal(t, healthy[0x68:440], fixed[0x68:440])
	require.Equal(t, healthy[440:512], fixed[440:512], "the partition table stays")
	require.NotEqual(t, sha256.Sum256(broken), sha256.Sum256(fixed))
	code, stdout, _ = cli(t, "scan", "--json", "--checks", "bootloader", img)
	require.Equal(t, 0, code)
	require.NotContains(t, findingIDs(t, stdout), "bootloader/mbr-code-zeroed")
	code, stdout, errOut = cli(t, "undo", img)
	require.Equal(t, 0, code, "%s\n%s", stdout, errOut)
	require.True(t, bytes.Equal(broken, gap(t, img)), "undo writes the gap back byte for byte")
}
