package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"rescue/images/boot"
)

// The rows of the boot loader on the disk itself, outside the root's
// files: sector 0's boot code wiped, which rescue fix --reinstall-bootloader
// gives back through the target's own grub-install in a chroot. They stay
// out of "all" (FullOnly) with the operator rows: CI's budget was spent.

// gapBytes is the MBR flavor's gap before its first partition (sector
// 2048): boot.img and GRUB's core image.
const gapBytes = 1 << 20

// bootloaderScenarios are those rows.
func bootloaderScenarios() []*Scenario {
	return append([]*Scenario{
		{
			// dd if=/dev/zero of=IMG bs=440 count=1: the partition table
			// and the core image stay, the BIOS runs zeros. SeaBIOS
			// prints nothing on the serial port, so the boot is silent
			// until the harness gives up.
			Name: "mbr-code-zeroed", Fault: "sector 0's boot code zeroed (MBR); rescue fix --reinstall-bootloader",
			BreakDisk: zeroBootCode,
			Broken:    Expect{Class: boot.Timeout, Note: "the BIOS runs the zeroed boot code: no GRUB, nothing on the serial console"},
			// The finding is about the disk, not a file of the root: it
			// has no path.
			Paths:     []string{""},
			Finding:   "bootloader/mbr-code-zeroed",
			Action:    []string{"fix", "--allow-chroot", "--reinstall-bootloader"},
			DiskBytes: gapBytes,
			SSH:       true,
			FullOnly:  outOfCIBudget,
		},
	}, uefiScenarios()...)
}

// zeroBootCode zeroes the boot code of sector 0 (its first 440 bytes).
func zeroBootCode(img string) error {
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(make([]byte, 440), 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// diskHash is the digest of the first n bytes of the image ("" for n 0).
func diskHash(img string, n int64) (string, error) {
	if n == 0 {
		return "", nil
	}
	f, err := os.Open(img)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if m, err := io.CopyN(h, f, n); err != nil {
		return "", fmt.Errorf("reading %d bytes of %s: %d read: %w", n, img, m, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
