package main

import (
	"errors"
	"strings"

	"rescue/disk"
)

// diskIDPrefix names a target by its cloud disk id (disk:d-bp1…,
// disk:vol-0…): what a runbook knows about the disk it attached, instead
// of a device name that differs from helper to helper.
const diskIDPrefix = "disk:"

// resolveTarget turns disk:ID into the block device that carries that id
// in /dev/disk/by-id; any other argument is returned as it is.
func resolveTarget(arg string) (string, error) {
	id, ok := strings.CutPrefix(arg, diskIDPrefix)
	if !ok {
		return arg, nil
	}
	dev, err := disk.ResolveCloudDisk(id)
	switch {
	case errors.Is(err, disk.ErrNoSuchDisk):
		return "", withHint(err, "is the disk attached to this helper? rescue matches the id against the serials in "+disk.ByIDDir+" (the listing above)")
	case errors.Is(err, disk.ErrAmbiguousDisk):
		return "", withHint(err, "detach the other disk, or name the device itself")
	case errors.Is(err, disk.ErrHelperRoot):
		return "", withHint(err, "rescue never works on the disk the helper runs from: attach the broken disk to another machine")
	}
	return dev, err
}
