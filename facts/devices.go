package facts

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"rescue/parse/blkid"
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
	key, val, ok := Tag(spec)
	if !ok {
		return Device{}, false, false
	}
	for _, x := range d.List {
		var have string
		switch key {
		case "UUID":
			have = x.UUID
		case "LABEL":
			have = x.Label
		case "PARTUUID":
			have = x.PartUUID
		case "PARTLABEL":
			have = x.PartLabel
		}
		if have != "" && (have == val || (key != "LABEL" && key != "PARTLABEL" && strings.EqualFold(have, val))) {
			return x, true, true
		}
	}
	return Device{}, false, true
}

// Tag splits a tag-style source into its key and value: "UUID=ab" and
// "/dev/disk/by-uuid/ab" both give ("UUID", "ab"). ok is false for anything
// else.
func Tag(spec string) (key, val string, ok bool) {
	for _, k := range []string{"UUID", "LABEL", "PARTUUID", "PARTLABEL"} {
		if v, found := strings.CutPrefix(spec, k+"="); found {
			return k, strings.Trim(v, `"'`), v != ""
		}
		byDir := "/dev/disk/by-" + strings.ToLower(k) + "/"
		if v, found := strings.CutPrefix(spec, byDir); found && v != "" {
			return k, unhex(v), true
		}
	}
	return "", "", false
}

// unhex decodes udev's \x2f escapes in by-label names.
func unhex(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			var v byte
			okHex := true
			for _, c := range []byte(s[i+2 : i+4]) {
				v <<= 4
				switch {
				case c >= '0' && c <= '9':
					v |= c - '0'
				case c >= 'a' && c <= 'f':
					v |= c - 'a' + 10
				case c >= 'A' && c <= 'F':
					v |= c - 'A' + 10
				default:
					okHex = false
				}
			}
			if okHex {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
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
	want := strings.Join([]string{itoa(unix.Major(st.Dev)), itoa(unix.Minor(st.Dev))}, ":")
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[2] != want {
			continue
		}
		for i, x := range fields {
			if x == "-" && i+2 < len(fields) {
				return fields[i+2]
			}
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
