package facts

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"rescue/parse/blkid"
	"rescue/parse/devspec"
	"rescue/parse/mountinfo"
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

// HostDevices lists the helper's block devices with its own blkid(8) (a
// helper binary, never the target's) and finds the one holding dir through
// /proc/self/mountinfo. It returns nil when the helper cannot tell.
func HostDevices(dir string) *Devices {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "blkid", "-c", "/dev/null", "-o", "export").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return nil
	}
	list, _ := blkid.Parse(out)
	if len(list) == 0 {
		return nil
	}
	d := &Devices{Source: "host", List: list}
	if src := mountSource(dir); src != "" {
		for i := range d.List {
			if sameDevice(d.List[i].Path, src) {
				d.Root = &d.List[i]
				break
			}
		}
	}
	return d
}

// mountSource returns the source device of the mount holding dir.
func mountSource(dir string) string {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return ""
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	// A line parse/mountinfo cannot read is left out: the kernel wrote
	// it, and the mount it describes cannot be told anyway.
	tab, _ := mountinfo.Parse(data)
	return sourceOf(tab, itoa(unix.Major(st.Dev))+":"+itoa(unix.Minor(st.Dev)))
}

// sourceOf returns the source of the first mount of the device dev
// (major:minor) in tab, or "".
func sourceOf(tab []mountinfo.Entry, dev string) string {
	for _, e := range tab {
		if e.Dev == dev {
			return e.Source
		}
	}
	return ""
}

func sameDevice(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

func itoa(n uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
