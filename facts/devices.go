package facts

import (
	"rescue/parse/blkid"
	"rescue/parse/devspec"
)

// Device is a block device holding a filesystem.
type Device = blkid.Device

// Devices is the list of filesystems the target's fstab and boot loader can
// refer to, and which of them holds the target root.
type Devices struct {
	// Source says where the list came from: "probe" (the attached disk),
	// "file" (--devices) or "host" (the helper's own blkid).
	Source string   `json:"source"`
	List   []Device `json:"devices"`
	// Root is the filesystem the target root is on, when known.
	Root *Device `json:"root,omitempty"`
}

// Known reports whether there is a device list to check against.
func (d *Devices) Known() bool { return d != nil && len(d.List) > 0 }

// Lookup finds the device a source specification names: UUID=, LABEL=,
// PARTUUID=, PARTLABEL= (quoted or not), their /dev/disk/by-* forms, or a
// device path. checkable is false when the spec is of a kind the list cannot
// answer for (a kernel name like /dev/sda1, which depends on the machine the
// disk is attached to; a network or pseudo source), so that no one reports a
// device as missing on guesswork.
func (d *Devices) Lookup(spec string) (dev Device, found, checkable bool) {
	if !d.Known() {
		return Device{}, false, false
	}
	tag := devspec.Parse(spec)
	if !tag.IsTag() {
		return Device{}, false, false
	}
	if x := blkid.Find(d.List, tag); x != nil {
		return *x, true, true
	}
	return Device{}, false, true
}
