package disk

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"rescue/parse/kname"
)

// HostFilesystem is a filesystem the helper itself has mounted.
type HostFilesystem struct {
	Source string // the block device
	Point  string // where it is mounted (the first mount point)
	Type   string
	UUID   string
}

// HostFilesystems lists the filesystems the helper has mounted from block
// devices, with the UUIDs their superblocks hold (read in pure Go, not
// from a udev database that may lag). Loop devices backed by exclude (the
// disk being examined, mounted by rescue) are left out.
func HostFilesystems(exclude string) []HostFilesystem {
	tab, err := mountTable()
	if err != nil {
		return nil
	}
	excl := ""
	if exclude != "" {
		if abs, err := filepath.Abs(exclude); err == nil {
			excl = abs
		}
	}
	seen := map[string]bool{}
	var out []HostFilesystem
	for _, e := range tab {
		if !strings.HasPrefix(e.Source, "/dev/") || seen[e.Source] {
			continue
		}
		seen[e.Source] = true
		if excl != "" && loopBacking(e.Source) == excl {
			continue
		}
		sb := probeDevice(e.Source)
		if sb == nil || sb.UUID == "" || sb.Usage != "filesystem" {
			continue
		}
		out = append(out, HostFilesystem{Source: e.Source, Point: e.Point, Type: sb.Type, UUID: sb.UUID})
	}
	return out
}

// loopBacking returns the backing file of a loop device, or "".
func loopBacking(dev string) string {
	name := filepath.Base(dev)
	if !strings.HasPrefix(name, "loop") {
		return ""
	}
	data, err := os.ReadFile(filepath.Join("/sys/block", name, "loop", "backing_file"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

func probeDevice(dev string) *Superblock {
	f, err := os.OpenFile(dev, os.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeDevice == 0 {
		return nil
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil || size <= 0 {
		return nil
	}
	sb, _ := ProbeFS(f, size)
	return sb
}

// MarkHostDuplicates sets HostDuplicate on every volume of d whose
// filesystem UUID is also the UUID of a filesystem the helper has
// mounted: a disk cloned from a snapshot of the helper's own system disk.
// Such an xfs needs nouuid to mount (rescue always passes it), and the
// target's fstab and boot loader, which name the UUID, may pick the
// helper's disk if both are attached at boot.
func MarkHostDuplicates(d *Disk, log *slog.Logger) {
	host := HostFilesystems(d.Path)
	for _, v := range d.Volumes {
		if v.FS == nil || v.FS.UUID == "" {
			continue
		}
		for _, h := range host {
			if strings.EqualFold(h.UUID, v.FS.UUID) {
				v.HostDuplicate = fmt.Sprintf("%s (mounted at %s)", h.Source, h.Point)
				if log != nil {
					log.Warn("the target has the same filesystem UUID as one of the helper's own", "volume", v.Name, "uuid", v.FS.UUID, "helper", v.HostDuplicate)
				}
				break
			}
		}
	}
}

// ErrInUse is returned when a writable session is asked for on a disk the
// helper itself has mounted (its own system disk, or an image someone
// else mounted): mounting one filesystem twice read-write corrupts it.
var ErrInUse = errors.New("the disk is in use by the helper")

// InUse says where the helper has a filesystem of the disk mounted, apart
// from rescue's own read-only sessions, or "" when it has none: a
// partition of the disk (for a block device), or a loop device backed by
// the image.
func InUse(d *Disk, stateDir string) string {
	tab, err := mountTable()
	if err != nil {
		return ""
	}
	// rescue's own read-only sessions are harmless; a writable one (a
	// rescue mount --rw, a fix --apply in another shell) is a user like
	// any other.
	readOnly := map[string]bool{}
	if list, err := Sessions(stateDir); err == nil {
		for _, st := range list {
			for _, m := range st.Mounts {
				if !st.Writable {
					readOnly[m.Target] = true
				}
			}
		}
	}
	abs, _ := filepath.Abs(d.Path)
	names := map[string]bool{abs: true}
	for _, v := range d.Volumes {
		if v.Partition != nil {
			names[kname.Partition(abs, v.Partition.Number)] = true
		}
	}
	for _, e := range tab {
		if readOnly[e.Point] {
			continue
		}
		if names[e.Source] || (loopBacking(e.Source) == abs && abs != "") {
			return fmt.Sprintf("%s is mounted at %s", e.Source, e.Point)
		}
	}
	return ""
}
