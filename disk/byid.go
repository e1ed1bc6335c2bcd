package disk

// A runbook names the disk it attached by its cloud id (d-bp1…, vol-0…, a
// GCE disk name), never by a device name: /dev/vdb on one helper is
// /dev/nvme1n1 or /dev/vdc on the next, and a guessed name can be the
// helper's own disk. The hypervisor hands the id to the guest as the
// disk's serial number, and udev publishes it in /dev/disk/by-id:
//
//	virtio-<serial>                                 virtio-blk (Alibaba Cloud, KVM); the
//	                                                kernel keeps at most 20 characters
//	nvme-Amazon_Elastic_Block_Store_vol0123…[_1]    AWS NVMe: the volume id without its dash
//	google-<name>, scsi-0Google_PersistentDisk_<n>  GCE: the device name
//	scsi-0QEMU_QEMU_HARDDISK_<serial>, ata-…        virtio-scsi and emulated disks
//
// ResolveCloudDisk matches every link whose serial is one of the forms the
// id can take, and refuses, listing what the helper has, when none or
// several disks match, or when the match holds the helper's own root.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// ByIDDir is where udev publishes disks by serial.
const ByIDDir = "/dev/disk/by-id"

// virtioSerialMax is how much of a serial virtio-blk hands to the guest
// (VIRTIO_BLK_ID_BYTES): a longer id arrives cut.
const virtioSerialMax = 20

// ErrNoSuchDisk and ErrAmbiguousDisk are returned (wrapped, with the
// candidates) when a disk id matches no disk or several.
var (
	ErrNoSuchDisk    = errors.New("no disk has that id")
	ErrAmbiguousDisk = errors.New("several disks match that id")
	ErrHelperRoot    = errors.New("the disk holds the helper's own root filesystem")
)

// DiskLink is one /dev/disk/by-id entry of a whole disk.
type DiskLink struct {
	Name   string // the link's name (virtio-bp1…)
	Device string // what it points to (/dev/vdb)
}

// DiskIDError says which disk id could not be resolved and what the helper
// has instead.
type DiskIDError struct {
	ID         string
	Err        error
	Matches    []DiskLink // the disks that matched (ambiguous, or the helper's root)
	Candidates []DiskLink // every whole disk the helper has, by id
}

func (e *DiskIDError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "disk:%s: %v", e.ID, e.Err)
	list := e.Candidates
	what := "disks by id on this helper"
	if len(e.Matches) > 0 {
		list, what = e.Matches, "matching"
	}
	if len(list) == 0 {
		fmt.Fprintf(&b, " (%s lists no disk: is udev running?)", ByIDDir)
		return b.String()
	}
	parts := make([]string, len(list))
	for i, l := range list {
		parts[i] = l.Name + " -> " + l.Device
	}
	fmt.Fprintf(&b, " (%s: %s)", what, strings.Join(parts, ", "))
	return b.String()
}

func (e *DiskIDError) Unwrap() error { return e.Err }

// ResolveCloudDisk returns the block device of the disk whose cloud id is
// id, found through /dev/disk/by-id. It refuses the disk that holds the
// helper's own root filesystem.
func ResolveCloudDisk(id string) (string, error) {
	return resolveCloudDisk(ByIDDir, id, helperRootDisks)
}

func resolveCloudDisk(dir, id string, rootDisks func() (map[uint64]bool, error)) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" || strings.ContainsAny(id, "/ \t\n") {
		return "", &DiskIDError{ID: id, Err: errors.New("not a disk id")}
	}
	links, err := diskLinks(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading %s: %w", dir, err)
	}
	serials := idSerials(id)
	byDev := map[string][]DiskLink{}
	for _, l := range links {
		if linkMatches(l.Name, serials) {
			byDev[l.Device] = append(byDev[l.Device], l)
		}
	}
	var matches []DiskLink
	for _, ls := range byDev {
		matches = append(matches, ls[0])
	}
	sort.Slice(matches, func(i, j int) bool { return matches[i].Device < matches[j].Device })
	switch len(matches) {
	case 0:
		return "", &DiskIDError{ID: id, Err: ErrNoSuchDisk, Candidates: links}
	case 1:
	default:
		return "", &DiskIDError{ID: id, Err: ErrAmbiguousDisk, Matches: matches, Candidates: links}
	}
	dev := matches[0].Device
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		return "", fmt.Errorf("disk:%s: %s: %w", id, dev, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		roots, err := rootDisks()
		if err != nil {
			return "", fmt.Errorf("disk:%s: finding the helper's root disk: %w", id, err)
		}
		if roots[st.Rdev] {
			return "", &DiskIDError{ID: id, Err: ErrHelperRoot, Matches: matches, Candidates: links}
		}
	}
	return dev, nil
}

// diskLinks lists the whole-disk entries of a by-id directory (not the
// -partN links of their partitions), sorted by name.
func diskLinks(dir string) ([]DiskLink, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []DiskLink
	for _, e := range ents {
		name := e.Name()
		if isPartLink(name) {
			continue
		}
		target, err := filepath.EvalSymlinks(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		out = append(out, DiskLink{Name: name, Device: target})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func isPartLink(name string) bool {
	i := strings.LastIndex(name, "-part")
	return i >= 0 && allDigits(name[i+len("-part"):])
}

// idSerials lists the serials a disk with this cloud id can show: the id
// itself, Alibaba Cloud's form without the "d-" prefix, and AWS's NVMe
// form without the dash after "vol".
func idSerials(id string) []string {
	s := []string{id}
	if rest, ok := strings.CutPrefix(id, "d-"); ok && rest != "" {
		s = append(s, rest)
	}
	if rest, ok := strings.CutPrefix(id, "vol-"); ok && rest != "" {
		s = append(s, "vol"+rest)
	}
	return s
}

// linkMatches says whether a by-id name carries one of the serials.
func linkMatches(name string, serials []string) bool {
	for _, s := range serials {
		switch {
		case strings.HasPrefix(name, "virtio-"):
			got := strings.TrimPrefix(name, "virtio-")
			// A serial longer than virtio-blk carries arrives cut to
			// its first 20 characters.
			if got == s || (len(got) == virtioSerialMax && len(s) > virtioSerialMax && strings.HasPrefix(s, got)) {
				return true
			}
		case strings.HasPrefix(name, "google-"):
			if strings.TrimPrefix(name, "google-") == s {
				return true
			}
		case strings.HasPrefix(name, "nvme-"):
			// nvme-MODEL_SERIAL, and since systemd 254 also
			// nvme-MODEL_SERIAL_NSID; nvme-eui.… and nvme-nvme.… are
			// not serials.
			rest := strings.TrimPrefix(name, "nvme-")
			if strings.HasPrefix(rest, "eui.") || strings.HasPrefix(rest, "nvme.") || strings.HasPrefix(rest, "uuid.") {
				continue
			}
			if strings.HasSuffix(rest, "_"+s) {
				return true
			}
			if i := strings.LastIndex(rest, "_"); i > 0 && allDigits(rest[i+1:]) && strings.HasSuffix(rest[:i], "_"+s) {
				return true
			}
		case strings.HasPrefix(name, "scsi-"), strings.HasPrefix(name, "ata-"):
			if strings.HasSuffix(name, "_"+s) {
				return true
			}
		}
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// helperRootDisks returns the device numbers of the whole disks under the
// helper's root filesystem: the disk of its partition, or every disk below
// a device-mapper volume (LVM, crypt).
func helperRootDisks() (map[uint64]bool, error) {
	tab, err := mountTable()
	if err != nil {
		return nil, err
	}
	dev := ""
	for _, e := range tab {
		if e.Point == "/" {
			dev = e.Dev // the last mount on / wins, as the kernel shows it
		}
	}
	out := map[uint64]bool{}
	if dev == "" {
		return out, nil
	}
	collectDisks(filepath.Join("/sys/dev/block", dev), out, 0)
	return out, nil
}

// collectDisks adds the whole disk a sysfs block device belongs to, and
// recurses through device-mapper slaves.
func collectDisks(sys string, out map[uint64]bool, depth int) {
	if depth > 8 {
		return
	}
	real, err := filepath.EvalSymlinks(sys)
	if err != nil {
		return
	}
	if _, err := os.Stat(filepath.Join(real, "partition")); err == nil {
		real = filepath.Dir(real)
	}
	if data, err := os.ReadFile(filepath.Join(real, "dev")); err == nil {
		var maj, min uint32
		if _, err := fmt.Sscanf(strings.TrimSpace(string(data)), "%d:%d", &maj, &min); err == nil {
			out[unix.Mkdev(maj, min)] = true
		}
	}
	slaves, _ := os.ReadDir(filepath.Join(real, "slaves"))
	for _, s := range slaves {
		collectDisks(filepath.Join(real, "slaves", s.Name()), out, depth+1)
	}
}
