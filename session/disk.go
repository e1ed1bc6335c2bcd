package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"rescue/disk"
	"rescue/facts"
	"rescue/parse/blkid"
	"rescue/report"
	"rescue/sysroot"
)

// diskIDPrefix names a target by its cloud disk id (disk:d-bp1…,
// disk:vol-0…): what a runbook knows about the disk it attached, instead
// of a device name that differs from helper to helper.
const diskIDPrefix = "disk:"

// ResolveTarget turns disk:ID into the block device that carries that id
// in /dev/disk/by-id; any other argument is returned as it is.
func ResolveTarget(arg string) (string, error) {
	id, ok := strings.CutPrefix(arg, diskIDPrefix)
	if !ok {
		return arg, nil
	}
	dev, err := disk.ResolveCloudDisk(id)
	switch {
	case errors.Is(err, disk.ErrNoSuchDisk):
		return "", WithHint(err, "is the disk attached to this helper? rescue matches the id against the serials in "+disk.ByIDDir+" (the listing above)")
	case errors.Is(err, disk.ErrAmbiguousDisk):
		return "", WithHint(err, "detach the other disk, or name the device itself")
	case errors.Is(err, disk.ErrHelperRoot):
		return "", WithHint(err, "rescue never works on the disk the helper runs from: attach the broken disk to another machine")
	}
	return dev, err
}

// openDisk opens a block device or image file as a target: probe it, find
// the root, mount the root and the target's own /boot, /boot/efi, /usr and
// /var (read-only unless writable) in a private directory, and unmount
// everything when the target is closed.
func openDisk(ctx context.Context, path string, opt OpenOptions) (*Target, error) {
	log := opt.logger()
	if opt.DevicesFile != "" || opt.RootDevice != "" {
		return nil, Usagef("--devices and --root-device are for a directory target; for a device or image rescue reads the disk itself (use --root-partition to name the root)")
	}
	if os.Geteuid() != 0 {
		return nil, WithHint(fmt.Errorf("%s is a device or image: mounting it needs root", path),
			"run rescue as root, or mount the disk yourself and give the mount point")
	}
	d, err := disk.Probe(path)
	if err != nil {
		return nil, err
	}
	for _, w := range d.Warnings {
		log.Warn(w, "disk", path)
	}
	sd := StateDir()
	if err := os.MkdirAll(sd, 0o700); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(sd, "target-")
	if err != nil {
		return nil, err
	}
	s, err := disk.Mount(ctx, d, dir, disk.MountOptions{
		Writable: opt.Writable, Root: opt.RootPartition, StateDir: sd, Temporary: true,
		AllowFsck: opt.AllowFsck, AllowZeroLog: opt.AllowZeroLog, Log: log,
	})
	if s != nil {
		LogFscks(log, s)
	}
	if err != nil {
		os.Remove(dir)
		return nil, DiskHint(err, path)
	}
	for _, n := range s.Notes {
		log.Warn(n)
	}
	closeSession := func() error {
		err := s.Close()
		os.Remove(dir)
		if err != nil {
			// The command's own result is already out; this must not be
			// lost (an ESP change that was not written back).
			log.Error("unmounting the target", "error", err)
			return fmt.Errorf("%w: %w", ErrUnmount, err)
		}
		return nil
	}
	root, err := sysroot.Open(dir)
	if err != nil {
		closeSession()
		return nil, err
	}
	t := &Target{Root: root, packages: opt.Packages, log: log, closers: []func() error{closeSession}}
	t.Info = report.Target{Path: dir, Device: d.Path, Partition: s.Root.Name, Filesystem: s.Root.FS.Type, UUID: s.Root.FS.UUID}
	t.Devices = devicesOf(d, s.Root)
	t.Filesystems = filesystemsOf(d, s, opt.Writable)
	t.Disk = bootDiskOf(d, s)
	t.Location = locator(s)
	log.Info("target mounted", "disk", d.Path, "root", s.Root.Describe(), "dir", dir, "writable", opt.Writable)
	return t, nil
}

// LogFscks logs each filesystem check that ran before mounting.
func LogFscks(log *slog.Logger, s *disk.Session) {
	for _, f := range s.Fscks {
		log.Warn("checked a filesystem before mounting it read-write; this cannot be undone",
			"volume", f.Volume, "command", strings.Join(f.Command, " "), "exit", f.ExitCode, "clean", f.Clean)
	}
}

// DiskHint adds what to do to the errors an operator can act on.
func DiskHint(err error, path string) error {
	switch {
	case errors.Is(err, disk.ErrAmbiguousRoot):
		return WithHint(err, fmt.Sprintf("rescue probe %s lists the candidates; then add --root-partition N", path))
	case errors.Is(err, disk.ErrNoRoot):
		return WithHint(err, fmt.Sprintf("rescue probe %s shows what is on the disk; --root-partition names the root if rescue missed it", path))
	case errors.Is(err, disk.ErrInUse):
		return WithHint(err, "unmount it first (rescue umount DIR for a rescue mount --rw), or attach the disk to another helper; a read-only scan works meanwhile")
	case errors.Is(err, disk.ErrNeedsFsck):
		return WithHint(err, "add --allow-fsck to check the filesystem first, or scan without --apply to only look")
	}
	return err
}

// devicesOf is the device list checks compare fstab and boot loader
// entries with: every volume that holds something with a UUID or label.
func devicesOf(d *disk.Disk, root *disk.Volume) *facts.Devices {
	devs := &facts.Devices{Source: "probe"}
	rootIdx := -1
	for _, v := range d.Volumes {
		if v.FS == nil {
			continue
		}
		dev := blkid.Device{Path: v.Name, UUID: v.FS.UUID, Label: v.FS.Label, Type: v.FS.Type}
		if v.Partition != nil {
			dev.PartUUID, dev.PartLabel = v.Partition.PartUUID, v.Partition.Name
		}
		if v == root {
			rootIdx = len(devs.List)
		}
		devs.List = append(devs.List, dev)
	}
	if rootIdx >= 0 {
		devs.Root = &devs.List[rootIdx]
	}
	return devs
}

// filesystemsOf describes every filesystem of the disk for checks.
func filesystemsOf(d *disk.Disk, s *disk.Session, writable bool) []facts.Filesystem {
	mounted := map[*disk.Volume]string{}
	for _, m := range s.Mounts {
		mounted[m.Volume] = m.Point
	}
	fscks := map[string]*facts.FsckRun{}
	for _, f := range s.Fscks {
		fscks[f.Volume] = &facts.FsckRun{Command: strings.Join(f.Command, " "), ExitCode: f.ExitCode, Output: f.Output, Clean: f.Clean}
	}
	var out []facts.Filesystem
	for _, v := range d.Volumes {
		if v.FS == nil || v.FS.Usage != "filesystem" {
			continue
		}
		fs := facts.Filesystem{Device: v.Name, Disk: d.Path, Type: v.FS.Type, UUID: v.FS.UUID, Label: v.FS.Label,
			MountPoint: mounted[v], Fsck: fscks[v.Name], HostDuplicate: v.HostDuplicate}
		if st := v.FS.State; st != nil {
			fs.Errors, fs.ErrorCount, fs.LastError = st.Errors, st.ErrorCount, st.LastError
			fs.NeedsRecovery, fs.NotClean, fs.LogUnknown = st.NeedsRecovery, st.NotClean, st.LogUnknown
			if writable && fs.MountPoint != "" {
				// The read-write mount has just replayed the journal.
				fs.NeedsRecovery = false
			}
		}
		if p := mounted[v]; p != "" {
			statfs(&fs, filepath.Join(s.Dir, p))
		}
		out = append(out, fs)
	}
	return out
}

// statfs fills in the space and inodes of the filesystem mounted at dir.
func statfs(fs *facts.Filesystem, dir string) {
	var sf unix.Statfs_t
	if unix.Statfs(dir, &sf) == nil {
		bs := uint64(sf.Bsize)
		fs.SizeBytes, fs.AvailBytes, fs.FreeBytes = sf.Blocks*bs, sf.Bavail*bs, sf.Bfree*bs
		fs.Inodes, fs.FreeInodes = sf.Files, sf.Ffree
	}
}

// refreshSpace measures the free space and inodes of the target's mounted
// filesystems again: the scan after a repair must see the room a spill made
// (the figures were taken when the disk was mounted).
func (t *Target) refreshSpace() {
	for i := range t.Filesystems {
		fs := &t.Filesystems[i]
		if fs.MountPoint == "" {
			continue
		}
		statfs(fs, filepath.Join(t.Root.HostPath(), fs.MountPoint))
	}
}

// fscked says whether a filesystem check (--allow-fsck) ran on the
// target's disk before it was mounted read-write.
func (t *Target) fscked() bool {
	for _, fs := range t.Filesystems {
		if fs.Fsck != nil {
			return true
		}
	}
	return false
}

// locator names the device, partition and filesystem a target path is on:
// the deepest mount point above it.
func locator(s *disk.Session) func(string) string {
	mounts := append([]disk.Mounted(nil), s.Mounts...)
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].Point) > len(mounts[j].Point) })
	return func(p string) string {
		p = sysroot.Clean(p)
		for _, m := range mounts {
			if m.Point == "/" || p == m.Point || strings.HasPrefix(p, m.Point+"/") {
				desc := m.Volume.Describe()
				if m.Copy {
					desc += ", read through a copy of the FAT"
				}
				return desc
			}
		}
		return ""
	}
}

// bootDiskOf describes the disk as the firmware reads it: its table and
// partitions; the facts read its boot areas when a check asks.
func bootDiskOf(d *disk.Disk, s *disk.Session) *facts.Disk {
	abs, err := filepath.Abs(d.Path)
	if err != nil {
		abs = d.Path
	}
	fd := &facts.Disk{Path: abs}
	mounted := map[*disk.Volume]string{}
	copied := map[*disk.Volume]bool{}
	for _, m := range s.Mounts {
		mounted[m.Volume] = m.Point
		copied[m.Volume] = m.Copy
	}
	if d.Table != nil {
		fd.Table = d.Table.Kind
	}
	for _, v := range d.Volumes {
		if v.Partition == nil {
			continue
		}
		p := facts.DiskPartition{Name: v.Name, Number: v.Partition.Number, Start: v.Partition.Start, Size: v.Partition.Size,
			Kind: v.Partition.TypeName, MountPoint: mounted[v], Copy: copied[v]}
		if v.FS != nil {
			p.FSType = v.FS.Type
		}
		fd.Partitions = append(fd.Partitions, p)
	}
	if d.Table != nil {
		// Partitions without a volume (a BIOS boot partition holds no
		// filesystem, and the disk layer may list it all the same).
		for _, tp := range d.Table.Partitions {
			known := false
			for _, p := range fd.Partitions {
				known = known || p.Start == tp.Start
			}
			if !known && !tp.IsExtended() {
				fd.Partitions = append(fd.Partitions, facts.DiskPartition{Number: tp.Number, Start: tp.Start, Size: tp.Size, Kind: tp.TypeName})
			}
		}
	}
	return fd
}
