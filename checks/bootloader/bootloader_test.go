package bootloader

import (
	"bufio"
	"bytes"
	_ "embed"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/require"

	"rescue/checks/checkstest"
	"rescue/repair/repairtest"
)

// grubHead is sectors 0-61 of a Debian 12 image as its grub-install
// (GRUB 2.06, i386-pc) left them: boot.img, then the core image.
//
//go:embed testdata/grub-head.bin
var grubHead []byte

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "grub-install" {
		os.Exit(fakeGrubInstall(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeGrubInstall plays the target's grub-install in the chroot of a
// golden root: for i386-pc it writes GRUB's boot code and core image
// into the disk device it is given (leaving the partition table) and its
// core.img under /boot/grub; for x86_64-efi it writes the loaders into
// the ESP directory.
func fakeGrubInstall(args []string) int {
	if _, err := os.Stat("/etc/rescue-test-root"); err != nil {
		return 2
	}
	joined := strings.Join(args, " ")
	switch {
	case strings.Contains(joined, "--target=i386-pc"):
		if !strings.Contains(joined, "--modules=part_") {
			return 3 // the partition map module must be named
		}
		f, err := os.OpenFile(args[len(args)-1], os.O_WRONLY, 0)
		if err != nil {
			return 4
		}
		defer f.Close()
		if _, err := f.WriteAt(grubHead[:440], 0); err != nil {
			return 5
		}
		if _, err := f.WriteAt(grubHead[512:], 512); err != nil {
			return 5
		}
		if err := os.WriteFile("/boot/grub/i386-pc/core.img", []byte("core image of grub-install\n"), 0o644); err != nil {
			return 6
		}
	case strings.Contains(joined, "--target=x86_64-efi"):
		if !strings.Contains(joined, "--no-nvram") {
			return 3
		}
		for _, p := range []string{"/boot/efi/EFI/debian/grubx64.efi", "/boot/efi/EFI/BOOT/BOOTX64.EFI"} {
			if os.MkdirAll(filepath.Dir(p), 0o755) != nil || os.WriteFile(p, []byte("loader\n"), 0o644) != nil {
				return 6
			}
		}
	default:
		return 7
	}
	return 0
}

// setup makes the disk image a golden's .disk names ("{disk}") from its
// .disk-image section, and puts the fake grub-install into the root:
//
//	size BYTES         the image's size
//	head               GRUB's sectors (grubHead) at the start
//	zero OFFSET LEN    zeros over a range
//	write OFFSET TEXT  TEXT at OFFSET
func setup(bin string) func(t testing.TB, a *txtar.Archive, dir string, want bool) {
	return func(t testing.TB, a *txtar.Archive, dir string, want bool) {
		if _, err := os.Stat(filepath.Join(dir, "usr/sbin/grub-install")); err == nil || os.IsNotExist(err) {
			if _, err := os.Stat(filepath.Join(dir, "usr/sbin")); err == nil {
				data, err := os.ReadFile(bin)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, "usr/sbin/grub-install"), data, 0o755))
			}
		}
		if want {
			return
		}
		var spec []byte
		for _, f := range a.Files {
			if f.Name == ".disk-image" {
				spec = f.Data
			}
		}
		if spec == nil {
			return
		}
		img := make([]byte, 0)
		sc := bufio.NewScanner(bytes.NewReader(spec))
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 0 {
				continue
			}
			num := func(i int) int {
				n, err := strconv.Atoi(fields[i])
				require.NoError(t, err)
				return n
			}
			switch fields[0] {
			case "size":
				img = append(img, make([]byte, num(1)-len(img))...)
			case "head":
				copy(img, grubHead)
			case "zero":
				clear(img[num(1) : num(1)+num(2)])
			case "write":
				copy(img[num(1):], strings.Join(fields[2:], " "))
			default:
				t.Fatalf(".disk-image: %q", sc.Text())
			}
		}
		// The partition table of the image the head came from.
		path := filepath.Join(t.TempDir(), "disk.img")
		require.NoError(t, os.WriteFile(path, img, 0o644))
		for i := range a.Files {
			if a.Files[i].Name == ".disk" {
				a.Files[i].Data = bytes.ReplaceAll(a.Files[i].Data, []byte("{disk}"), []byte(path))
			}
		}
	}
}

func TestGolden(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the goldens run the fix's grub-install in a chroot and attach the image to a loop device: root only")
	}
	checkstest.RunWith(t, Check, checkstest.Options{Setup: setup(repairtest.StaticTestBinary(t)), AllowExec: true})
}
