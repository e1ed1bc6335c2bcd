package disk

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"rescue/parse/blkid"
	"rescue/parse/mountinfo"
)

// HostDevices lists the helper's block devices with its own blkid(8) (a
// helper binary, never the target's), and which of them holds dir, found
// through the helper's mount table: for a target given as a directory,
// the device list its fstab and boot loader are checked against. list is
// nil when the helper cannot tell; root is -1 when no device holds dir.
func HostDevices(dir string) (list []blkid.Device, root int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "blkid", "-c", "/dev/null", "-o", "export").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return nil, -1
	}
	list, _ = blkid.Parse(out)
	if len(list) == 0 {
		return nil, -1
	}
	if src := mountSource(dir); src != "" {
		for i := range list {
			if sameDevice(list[i].Path, src) {
				return list, i
			}
		}
	}
	return list, -1
}

// mountSource returns the source device of the mount holding dir.
func mountSource(dir string) string {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return ""
	}
	tab, err := mountTable()
	if err != nil {
		return ""
	}
	return sourceOf(tab, strconv.FormatUint(uint64(unix.Major(st.Dev)), 10)+":"+strconv.FormatUint(uint64(unix.Minor(st.Dev)), 10))
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
