package facts

// Filesystems names the filesystems of the target's disk, which the disk
// layer reports when rescue is given a device or an image.
const Filesystems Fact = "filesystems"

// Filesystem is one filesystem of the target's disk as the disk layer
// found it: what its superblock says about its health, where the target
// has it mounted, and how full it is.
type Filesystem struct {
	// Device names the filesystem as people and the target's fstab know
	// it: /dev/vdb2, /dev/mapper/centos-root, disk.img2.
	Device string `json:"device"`
	// Disk is the device or image the filesystem is on.
	Disk  string `json:"disk"`
	Type  string `json:"type"`
	UUID  string `json:"uuid,omitempty"`
	Label string `json:"label,omitempty"`
	// MountPoint is where the target has it ("/", "/boot"), "" when rescue
	// did not mount it.
	MountPoint string `json:"mount_point,omitempty"`

	// Errors: the kernel recorded corruption (ext's error state and
	// count, xfs's needsrepair flag).
	Errors     bool   `json:"errors,omitempty"`
	ErrorCount uint32 `json:"error_count,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	// NeedsRecovery: the journal or log holds changes that were never
	// written back (an unclean shutdown). The read-only scan does not
	// replay it, so what rescue sees may lag behind what the next boot
	// sees.
	NeedsRecovery bool `json:"needs_recovery,omitempty"`
	// NotClean: a filesystem without a journal was not unmounted cleanly.
	NotClean bool `json:"not_clean,omitempty"`
	// LogUnknown says why the xfs log could not be examined.
	LogUnknown string `json:"log_unknown,omitempty"`

	// Space of the mounted filesystem (statfs), zero when not mounted.
	SizeBytes  uint64 `json:"size_bytes,omitempty"`
	AvailBytes uint64 `json:"avail_bytes,omitempty"`
	// FreeBytes includes the blocks reserved for root.
	FreeBytes  uint64 `json:"free_bytes,omitempty"`
	Inodes     uint64 `json:"inodes,omitempty"`
	FreeInodes uint64 `json:"free_inodes,omitempty"`

	// Fsck is the check rescue ran before mounting it read-write
	// (fix --apply --allow-fsck); nil when none ran.
	Fsck *FsckRun `json:"fsck,omitempty"`
	// HostDuplicate names the helper's own filesystem with the same UUID.
	HostDuplicate string `json:"host_duplicate,omitempty"`
}

// FsckRun is a filesystem check rescue ran.
type FsckRun struct {
	Command  string `json:"command"`
	ExitCode int    `json:"exit_code"`
	Output   string `json:"output,omitempty"`
	// Clean says the superblock reads clean afterwards.
	Clean bool `json:"clean"`
}

// Filesystems returns the filesystems of the target's disk; nil when the
// target is a directory (rescue was not given the disk).
func (f *Facts) Filesystems() []Filesystem {
	f.note(Filesystems)
	return f.opt.Filesystems
}

// FilesystemAt returns the filesystem mounted at the target's mount point
// p ("/"), or nil.
func (f *Facts) FilesystemAt(p string) *Filesystem {
	f.note(Filesystems)
	for i := range f.opt.Filesystems {
		if f.opt.Filesystems[i].MountPoint == p {
			return &f.opt.Filesystems[i]
		}
	}
	return nil
}
