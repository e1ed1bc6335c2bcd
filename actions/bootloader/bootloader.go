// Package bootloader plans `rescue fix --reinstall-bootloader`: GRUB
// reinstalled on the target's disk by the target's own grub-install
// (grub2-install), run in its chroot, for the firmware the disk is made
// for: BIOS (boot.img in sector 0, the core image in the gap or the BIOS
// boot partition) and UEFI (the ESP's loaders, with the removable-media
// path, no NVRAM entry). The plan is the bootloader check's, so that the
// finding's fix and the action asked for by name are one primitive.
package bootloader

import (
	"errors"
	"strings"

	check "rescue/checks/bootloader"
	"rescue/facts"
	"rescue/repair"
	"rescue/sysroot"
)

// Finding is the id plan items of the action carry.
const Finding = "action/reinstall-bootloader"

// Options say how the action is asked for.
type Options struct {
	// AllowChroot: the user allowed running the target's programs;
	// without it the plan says what it would run and how to allow it.
	AllowChroot bool
}

// Result is the planned change and its account.
type Result struct {
	Fix     repair.Fix
	Changes []string
	Notes   []string
}

// Plan plans the reinstall on the target at root, whose disk is d (nil
// for a directory: refused, as the disk cannot be told).
func Plan(root *sysroot.Root, d *facts.Disk, o Options) (*Result, error) {
	if d == nil {
		return nil, check.ErrNoDisk
	}
	var firmwares []string
	if check.Firmware(root, d) == "bios" {
		firmwares = append(firmwares, "bios")
	}
	if esp := d.Partition("esp"); esp != nil {
		firmwares = append(firmwares, "uefi")
	}
	if len(firmwares) == 0 {
		return nil, errors.New("no boot loader to reinstall: the target has no GRUB for BIOS (/boot/grub/i386-pc) and its disk no EFI system partition")
	}
	r := &Result{}
	b := repair.NewFix("")
	var msgs []string
	for _, fw := range firmwares {
		p, err := check.PlanReinstall(root, d, fw)
		if err != nil {
			return nil, err
		}
		for _, op := range p.Fix.Ops {
			b.Add(op, nil)
		}
		msgs = append(msgs, p.Fix.Message)
		r.Changes = append(r.Changes, p.Changes...)
		r.Notes = append(r.Notes, p.Notes...)
	}
	fix, err := b.Build()
	if err != nil {
		return nil, err
	}
	fix.Message = strings.Join(msgs, "; ")
	r.Fix = fix
	if !o.AllowChroot {
		r.Notes = append(r.Notes, "it runs the target's own grub-install in a chroot: apply with --apply --allow-chroot")
	}
	return r, nil
}
