package repair

import (
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"rescue/disk"
)

// DiskArg is what an exec op's Argv says where the target's whole disk
// goes: a device the command can open in the chroot (the helper's /dev is
// bound there). For a block device it is the device itself; for a disk
// image it is a loop device attached over the whole image for the run.
const DiskArg = "{disk}"

// Region is a byte range of the target's disk outside its filesystems
// (the boot sector and the gap before the first partition, a BIOS boot
// partition) that an exec op may rewrite, as grub-install does. Apply
// backs it up into the journal before the op runs, and undo writes it back
// byte for byte: it is no file of the root, so the file journal alone
// would not see it.
type Region struct {
	// Name says what the range is, for people.
	Name string `json:"name"`
	// Disk is the device or image file, on the helper.
	Disk   string `json:"disk"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	// SHA256 is the digest of the range when the op was planned: apply
	// refuses the op when the disk changed since.
	SHA256 string `json:"sha256"`
}

// maxRegion bounds a backed-up region: the gap before the first partition
// and a BIOS boot partition are a few MiB at most.
const maxRegion = 64 << 20

// ReadRegion reads size bytes of the disk at offset.
func ReadRegion(diskPath string, offset, size int64) ([]byte, error) {
	if size <= 0 || size > maxRegion || offset < 0 {
		return nil, fmt.Errorf("reading %s: region of %d bytes at %d out of bounds", diskPath, size, offset)
	}
	f, err := os.Open(diskPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, offset); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading %s at %d: %w", diskPath, offset, err)
	}
	return buf, nil
}

// NewRegion plans a region: it reads the range now, for its digest.
func NewRegion(name, diskPath string, offset, size int64) (Region, error) {
	data, err := ReadRegion(diskPath, offset, size)
	if err != nil {
		return Region{}, err
	}
	return Region{Name: name, Disk: diskPath, Offset: offset, Size: size, SHA256: sum(data)}, nil
}

// digest reads the region's range on diskPath and returns its digest.
func (r Region) digest(diskPath string) (string, error) {
	data, err := ReadRegion(diskPath, r.Offset, r.Size)
	if err != nil {
		return "", err
	}
	return sum(data), nil
}

// Describe names the region with its range.
func (r Region) Describe() string {
	return fmt.Sprintf("%s (%s, bytes %d-%d)", r.Name, r.Disk, r.Offset, r.Offset+r.Size-1)
}

// RegionRecord is what undo needs for one region: its backup and its
// digests before and after the repair.
type RegionRecord struct {
	Region
	Backup string `json:"backup"`
	// After is the digest once the op ran ("" when it did not run).
	After string `json:"after,omitempty"`
}

// writeRegion writes data into the disk at offset and syncs it.
func writeRegion(diskPath string, offset int64, data []byte) error {
	f, err := os.OpenFile(diskPath, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, offset); err != nil {
		f.Close()
		return fmt.Errorf("writing %s at %d: %w", diskPath, offset, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// backupRegions checks every region of the accepted exec ops against its
// digest at the plan and copies it into the journal, synced, before
// anything changes.
func backupRegions(st *store, j *Journal, items []Item) error {
	for _, it := range items {
		for _, op := range it.Fix.Ops {
			for _, r := range op.Regions {
				data, err := ReadRegion(r.Disk, r.Offset, r.Size)
				if err != nil {
					return err
				}
				if sum(data) != r.SHA256 {
					return fmt.Errorf("%s changed since the scan; scan again", r.Describe())
				}
				rec := RegionRecord{Region: r, Backup: fmt.Sprintf("region-%02d-%d.bin", len(j.Regions)+1, r.Offset)}
				if err := st.w.WriteFile(path.Join("/", j.ID, "backup", rec.Backup), data, Meta{Mode: 0o600, UID: os.Getuid(), GID: os.Getgid()}); err != nil {
					return err
				}
				j.Regions = append(j.Regions, rec)
			}
		}
	}
	return nil
}

// regionsAfter records the digests of the op's regions once it ran.
func regionsAfter(j *Journal, op Op) {
	for _, r := range op.Regions {
		for i := range j.Regions {
			rec := &j.Regions[i]
			if rec.Disk == r.Disk && rec.Offset == r.Offset && rec.Size == r.Size {
				if d, err := rec.digest(rec.Disk); err == nil {
					rec.After = d
				}
			}
		}
	}
}

// diskArgv returns the op's command line with DiskArg replaced by a
// device the command can open in the chroot, and the function that lets
// go of what was attached for it.
func diskArgv(op Op) ([]string, func(), error) {
	if !strings.Contains(strings.Join(op.Argv, "\x00"), DiskArg) {
		return op.Argv, func() {}, nil
	}
	if op.Disk == "" {
		return nil, nil, fmt.Errorf("%s names the target's disk, which is not known", op.Argv[0])
	}
	var st unix.Stat_t
	if err := unix.Stat(op.Disk, &st); err != nil {
		return nil, nil, fmt.Errorf("the target's disk %s: %w", op.Disk, err)
	}
	dev, done := op.Disk, func() {}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		// The helper's /dev is bound in the chroot: the command sees
		// the same node.
		if !strings.HasPrefix(op.Disk, "/dev/") {
			return nil, nil, fmt.Errorf("the target's disk %s is not under /dev, which the chroot binds", op.Disk)
		}
	case unix.S_IFREG:
		// An image: a loop device over all of it, for the run only.
		l, err := disk.AttachLoop(op.Disk, 0, 0, false)
		if err != nil {
			return nil, nil, err
		}
		dev = l.Path
		done = func() {
			if f, err := os.OpenFile(l.Path, os.O_RDONLY, 0); err == nil {
				f.Sync()
				f.Close()
			}
			l.Detach()
		}
	default:
		return nil, nil, fmt.Errorf("the target's disk %s is neither a block device nor an image file", op.Disk)
	}
	argv := make([]string, len(op.Argv))
	for i, a := range op.Argv {
		argv[i] = strings.ReplaceAll(a, DiskArg, dev)
	}
	return argv, done, nil
}

// undoRegions decides, for every region of the journal, whether it is as
// the repair left it (restore it), as before (nothing to do), or changed
// since (refuse unless force). diskPath, when set, is the disk the target
// was opened from now, which stands for the recorded one (a loop device
// or an image moved since); the digests tell whether it is the same disk.
func undoRegions(j *Journal, diskPath string, force bool) (todo []RegionRecord, unchanged []RegionRecord, changed []string) {
	for _, rec := range j.Regions {
		if diskPath != "" {
			rec.Disk = diskPath
		}
		cur, err := rec.digest(rec.Disk)
		switch {
		case err != nil:
			changed = append(changed, fmt.Sprintf("%s: %v", rec.Describe(), err))
		case cur == rec.SHA256:
			unchanged = append(unchanged, rec)
		case cur == rec.After, force:
			todo = append(todo, rec)
		default:
			changed = append(changed, fmt.Sprintf("%s (expected sha256 %s, found %s)", rec.Describe(), short(rec.After), short(cur)))
		}
	}
	return todo, unchanged, changed
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// restoreRegion writes a region's backup back into the disk.
func restoreRegion(st *store, j *Journal, rec RegionRecord) error {
	data, err := st.w.root.ReadFileLimit(path.Join("/", j.ID, "backup", rec.Backup), maxRegion)
	if err != nil {
		return fmt.Errorf("reading backup: %w", err)
	}
	if sum(data) != rec.SHA256 || int64(len(data)) != rec.Size {
		return fmt.Errorf("backup %s does not match the recorded sha256", rec.Backup)
	}
	return writeRegion(rec.Disk, rec.Offset, data)
}
