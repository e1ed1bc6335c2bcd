// Command fakegrub stands in for a target's grub-install in tests that
// have no real one: run in the target's chroot as grub-install
// --target=i386-pc --modules=… DISK, it does what grub-install does to the
// disk with GRUB's own images from the target: boot.img's code into
// sector 0 (the partition table stays) and core.img from sector 1.
package main

import (
	"os"
	"strings"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 || !strings.Contains(strings.Join(args, " "), "--target=i386-pc") || !strings.Contains(strings.Join(args, " "), "--modules=part_msdos") {
		os.Exit(2)
	}
	boot, err := os.ReadFile("/usr/lib/grub/i386-pc/boot.img")
	if err != nil || len(boot) < 440 {
		os.Exit(3)
	}
	core, err := os.ReadFile("/usr/lib/grub/i386-pc/core.img")
	if err != nil {
		os.Exit(3)
	}
	f, err := os.OpenFile(args[len(args)-1], os.O_WRONLY, 0)
	if err != nil {
		os.Exit(4)
	}
	if _, err := f.WriteAt(boot[:440], 0); err != nil {
		os.Exit(5)
	}
	if _, err := f.WriteAt(core, 512); err != nil {
		os.Exit(5)
	}
	if err := f.Close(); err != nil {
		os.Exit(5)
	}
	if err := os.WriteFile("/boot/grub/i386-pc/core.img", core, 0o644); err != nil {
		os.Exit(6)
	}
}
