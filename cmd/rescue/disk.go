package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"rescue/bytesize"
	"rescue/disk"
	"rescue/facts"
	"rescue/parse/blkid"
	"rescue/report"
	"rescue/safetext"
	"rescue/sysroot"
)

// stateDir is where mount sessions are recorded. RESCUE_STATE_DIR moves it
// (for tests that must not share /run/rescue with anyone).
func stateDir() string {
	if d := os.Getenv("RESCUE_STATE_DIR"); d != "" {
		return d
	}
	return disk.DefaultStateDir
}

// openDisk opens a block device or image file as a target (target.go
// calls it for anything that is not a directory).
var openDisk func(ctx context.Context, a *app, path string, opt targetOptions, writable bool) (*target, error) = openDiskTarget

// openDiskTarget opens a block device or image file as a target: probe
// it, find the root, mount the root and the target's own /boot,
// /boot/efi, /usr and /var (read-only unless writable) in a private
// directory, and unmount everything when the target is closed.
func openDiskTarget(ctx context.Context, a *app, path string, opt targetOptions, writable bool) (*target, error) {
	if opt.devicesFile != "" || opt.rootDevice != "" {
		return nil, usagef("--devices and --root-device are for a directory target; for a device or image rescue reads the disk itself (use --root-partition to name the root)")
	}
	if os.Geteuid() != 0 {
		return nil, withHint(fmt.Errorf("%s is a device or image: mounting it needs root", path),
			"run rescue as root, or mount the disk yourself and give the mount point")
	}
	d, err := disk.Probe(path)
	if err != nil {
		return nil, err
	}
	for _, w := range d.Warnings {
		a.log.Warn(w, "disk", path)
	}
	sd := stateDir()
	if err := os.MkdirAll(sd, 0o700); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(sd, "target-")
	if err != nil {
		return nil, err
	}
	s, err := disk.Mount(ctx, d, dir, disk.MountOptions{
		Writable: writable, Root: opt.rootPartition, StateDir: sd, Temporary: true,
		AllowFsck: opt.allowFsck, AllowZeroLog: opt.allowZeroLog, Log: a.log,
	})
	if s != nil {
		logFscks(a, s)
	}
	if err != nil {
		os.Remove(dir)
		return nil, diskHint(err, path)
	}
	for _, n := range s.Notes {
		a.log.Warn(n)
	}
	closeSession := func() error {
		err := s.Close()
		os.Remove(dir)
		if err != nil {
			// The command's own result is already out; this must not be
			// lost (an ESP change that was not written back).
			a.log.Error("unmounting the target", "error", err)
			a.exit = report.ExitError
		}
		return err
	}
	root, err := sysroot.Open(dir)
	if err != nil {
		closeSession()
		return nil, err
	}
	t := &target{root: root, opt: opt, closers: []func() error{closeSession}}
	t.info = report.Target{Path: dir, Device: d.Path, Partition: s.Root.Name, Filesystem: s.Root.FS.Type, UUID: s.Root.FS.UUID}
	t.devices = devicesOf(d, s.Root)
	t.filesystems = filesystemsOf(d, s, writable)
	t.location = locator(s)
	a.log.Info("target mounted", "disk", d.Path, "root", s.Root.Describe(), "dir", dir, "writable", writable)
	return t, nil
}

func logFscks(a *app, s *disk.Session) {
	for _, f := range s.Fscks {
		a.log.Warn("checked a filesystem before mounting it read-write; this cannot be undone",
			"volume", f.Volume, "command", strings.Join(f.Command, " "), "exit", f.ExitCode, "clean", f.Clean)
	}
}

// diskHint adds what to do to the errors an operator can act on.
func diskHint(err error, path string) error {
	switch {
	case errors.Is(err, disk.ErrAmbiguousRoot):
		return withHint(err, fmt.Sprintf("rescue probe %s lists the candidates; then add --root-partition N", path))
	case errors.Is(err, disk.ErrNoRoot):
		return withHint(err, fmt.Sprintf("rescue probe %s shows what is on the disk; --root-partition names the root if rescue missed it", path))
	case errors.Is(err, disk.ErrInUse):
		return withHint(err, "unmount it first (rescue umount DIR for a rescue mount --rw), or attach the disk to another helper; a read-only scan works meanwhile")
	case errors.Is(err, disk.ErrNeedsFsck):
		return withHint(err, "add --allow-fsck to check the filesystem first, or scan without --apply to only look")
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
			var sf unix.Statfs_t
			if unix.Statfs(filepath.Join(s.Dir, p), &sf) == nil {
				bs := uint64(sf.Bsize)
				fs.SizeBytes, fs.AvailBytes, fs.FreeBytes = sf.Blocks*bs, sf.Bavail*bs, sf.Bfree*bs
				fs.Inodes, fs.FreeInodes = sf.Files, sf.Ffree
			}
		}
		out = append(out, fs)
	}
	return out
}

// refreshSpace measures the free space and inodes of the target's mounted
// filesystems again: the scan after a repair must see the room a spill made
// (the figures were taken when the disk was mounted).
func (t *target) refreshSpace() {
	for i := range t.filesystems {
		fs := &t.filesystems[i]
		if fs.MountPoint == "" {
			continue
		}
		var sf unix.Statfs_t
		if unix.Statfs(filepath.Join(t.root.HostPath(), fs.MountPoint), &sf) == nil {
			bs := uint64(sf.Bsize)
			fs.SizeBytes, fs.AvailBytes, fs.FreeBytes = sf.Blocks*bs, sf.Bavail*bs, sf.Bfree*bs
			fs.Inodes, fs.FreeInodes = sf.Files, sf.Ffree
		}
	}
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

// diskCommands are probe, mount and umount.
func (a *app) diskCommands() []*cobra.Command {
	return []*cobra.Command{a.probeCommand(), a.mountCommand(), a.umountCommand()}
}

type probeOptions struct {
	json          bool
	rootPartition string
}

func (a *app) probeCommand() *cobra.Command {
	o := &probeOptions{}
	cmd := &cobra.Command{
		Use:   "probe DEVICE|IMAGE",
		Short: "Show a disk's partitions, filesystems and which one is the root",
		Long: `Read the partition table (GPT, or MBR with its logical partitions) and
every filesystem's superblock (ext2/3/4, xfs, btrfs, vfat, swap, LVM2 and
its logical volumes, LUKS), all without the helper's kernel, and say which
filesystem holds the root: the one with /etc/os-release and an /etc/fstab
whose / names it. Each filesystem's state (errors, a journal or log to
replay) and a UUID shared with one of the helper's own filesystems are
shown too. Nothing is written; looking inside filesystems mounts them
read-only for a moment, which needs root.`,
		Example: `  rescue probe /dev/vdb
  rescue probe disk.img --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runProbe(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print the result as JSON (schema rescue.probe/v1)")
	f.StringVar(&o.rootPartition, "root-partition", "", "the `PARTITION` that holds the root, when rescue cannot tell")
	return cmd
}

// probeResult is rescue probe's JSON.
type probeResult struct {
	Schema     string           `json:"schema"`
	Disk       *disk.Disk       `json:"disk"`
	Candidates []disk.Candidate `json:"candidates,omitempty"`
	Root       string           `json:"root,omitempty"`
	RootError  string           `json:"root_error,omitempty"`
}

func (a *app) runProbe(ctx context.Context, path string, o *probeOptions) error {
	path, err := resolveTarget(path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(path); err != nil {
		return err
	} else if fi.IsDir() {
		return usagef("%s is a directory; rescue probe takes a device or an image file", path)
	}
	d, err := disk.Probe(path)
	if err != nil && d == nil {
		return err
	}
	res := &probeResult{Schema: "rescue.probe/v1", Disk: d}
	if err != nil {
		res.RootError = err.Error()
	} else if os.Geteuid() != 0 {
		res.RootError = "looking inside the filesystems to find the root needs root"
	} else {
		disk.MarkHostDuplicates(d, a.log)
		opt := disk.MountOptions{StateDir: stateDir(), Root: o.rootPartition, Log: a.log}
		disk.SweepStale(opt.StateDir, a.log)
		root, cands, rerr := disk.ChooseRoot(ctx, d, opt)
		res.Candidates = cands
		if rerr != nil {
			res.RootError = rerr.Error()
		} else {
			res.Root = root.Name
		}
	}
	if o.json {
		if werr := report.WriteValue(a.stdout, res); werr != nil {
			return werr
		}
		// The same exit code as the text: a table that cannot be read
		// is an error, in JSON too.
		return err
	}
	writeProbe(a.stdout, res)
	if err != nil {
		return err
	}
	return nil
}

// size writes a disk, partition or extent size as probe shows it.
func size(n int64) string { return bytesize.Format(n, bytesize.Short) }

func writeProbe(w io.Writer, r *probeResult) {
	d := r.Disk
	table := "no partition table"
	if d.Table != nil {
		table = fmt.Sprintf("%s partition table, id %s", strings.ToUpper(d.Table.Kind), d.Table.ID)
	}
	fmt.Fprintf(w, "%s: %s, %s\n", d.Path, size(d.Size), table)
	if d.Table != nil && len(d.Table.Partitions) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  #\tSTART\tSIZE\tTYPE\tPARTUUID\tNAME")
		for _, p := range d.Table.Partitions {
			typ := p.TypeName
			if typ == "" {
				typ = p.Type
			}
			if p.Bootable {
				typ += " (boot)"
			}
			if p.Logical {
				typ += " (logical)"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", p.Number, size(p.Start), size(p.Size), typ, p.PartUUID, safetext.Line(p.Name))
		}
		tw.Flush()
	}
	roles := map[string]disk.Candidate{}
	for _, c := range r.Candidates {
		roles[c.Name] = c
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VOLUME\tTYPE\tUUID\tLABEL\tROLE\tSTATE")
	for _, v := range d.Volumes {
		typ, uuid, label, state := "-", "", "", ""
		if v.FS != nil {
			typ, uuid, label = v.FS.Type, v.FS.UUID, v.FS.Label
			state = fsState(v.FS.State)
		}
		if v.Problem != "" {
			state = joinState(state, "unusable: "+v.Problem)
		}
		if v.HostDuplicate != "" {
			state = joinState(state, "same UUID as the helper's "+v.HostDuplicate)
		}
		role := roles[v.Name].Role
		if role == "" && v.FS != nil {
			switch v.FS.Type {
			case "swap":
				role = "swap"
			case "LVM2_member":
				role = "lvm-pv"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", v.Name, safetext.Line(typ), safetext.Line(uuid), safetext.Line(label), role, safetext.Line(state))
	}
	tw.Flush()
	for _, vg := range d.Groups {
		fmt.Fprintf(w, "\nLVM volume group %s: %d PV(s), %d LV(s), extent %s\n", safetext.Line(vg.Name), len(vg.PVs), len(vg.LVs), size(vg.ExtentSize))
	}
	fmt.Fprintln(w)
	switch {
	case r.Root != "":
		c := roles[r.Root]
		osName := ""
		if c.OS != "" {
			osName = fmt.Sprintf(" holding %s", c.OS)
		}
		fmt.Fprintf(w, "Root: %s%s\n  %s\n", r.Root, safetext.Line(osName), safetext.Line(c.Why()))
	case r.RootError != "":
		fmt.Fprintf(w, "Root: not determined: %s\n", safetext.Line(r.RootError))
	}
	for _, c := range r.Candidates {
		if c.Role == disk.RoleRoot && c.Name != r.Root {
			fmt.Fprintf(w, "  also a candidate: %s (%s), scored %d: %s\n", c.Name, safetext.Line(c.OS), c.Score, safetext.Line(strings.Join(c.Reasons, "; ")))
		}
		if c.Error != "" {
			fmt.Fprintf(w, "  %s could not be looked into: %s\n", c.Name, safetext.Line(c.Error))
		}
	}
	if len(d.Warnings) > 0 {
		fmt.Fprintln(w)
		for _, x := range d.Warnings {
			fmt.Fprintf(w, "warning: %s\n", safetext.Line(x))
		}
	}
}

func fsState(st *disk.FSState) string {
	if st == nil {
		return ""
	}
	var parts []string
	if st.Errors {
		p := "errors recorded"
		if st.LastError != "" {
			p += " (" + st.LastError + ")"
		}
		parts = append(parts, p)
	}
	if st.NeedsRecovery {
		parts = append(parts, "needs journal/log recovery")
	}
	if st.NotClean {
		parts = append(parts, "not cleanly unmounted")
	}
	if len(parts) == 0 {
		return "clean"
	}
	return strings.Join(parts, ", ")
}

func joinState(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

type mountOptions struct {
	rw            bool
	rootPartition string
	allowFsck     bool
	allowZeroLog  bool
}

const defaultMountDir = "/mnt/rescue"

func (a *app) mountCommand() *cobra.Command {
	o := &mountOptions{}
	cmd := &cobra.Command{
		Use:   "mount DEVICE|IMAGE [DIR]",
		Short: "Mount the target's root, /boot, /boot/efi, /usr and /var at DIR",
		Long: `Find the root filesystem on DEVICE or IMAGE, mount it at DIR (default
` + defaultMountDir + `), then mount the target's own /boot, /boot/efi, /usr and /var
inside it as its fstab says, resolving UUID=, LABEL= and PARTUUID= against
the disk. Partitions and linear LVM volumes are reached through loop
devices, so the helper needs no partition nodes and no device-mapper.

Read-only by default, so that nothing is written, not even a journal
replay (ext4 ro,noload; xfs ro,norecovery,nouuid). With --rw the
filesystems are mounted read-write; a filesystem with recorded errors is
then refused unless --allow-fsck checks it first. An ESP the helper's
kernel cannot mount is shown as a copy and written back by umount.

What was mounted is recorded in /run/rescue; "rescue umount DIR" undoes
exactly that, also after a crash.`,
		Example: `  rescue mount /dev/vdb
  rescue mount disk.img /mnt/broken --rw
  rescue mount /dev/nvme1n1 --root-partition 3`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := defaultMountDir
			if len(args) == 2 {
				dir = args[1]
			}
			return a.runMount(cmd.Context(), args[0], dir, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.rw, "rw", false, "mount read-write (for repairs by hand)")
	f.StringVar(&o.rootPartition, "root-partition", "", "the `PARTITION` holding the root (a number, name, UUID, label or VG/LV), when rescue cannot tell")
	f.BoolVar(&o.allowFsck, "allow-fsck", false, "with --rw: check and repair damaged filesystems (e2fsck -p, xfs_repair) before mounting; cannot be undone")
	f.BoolVar(&o.allowZeroLog, "allow-fsck-zero-log", false, "with --allow-fsck: let xfs_repair -L zero an xfs log that cannot be replayed")
	return cmd
}

func (a *app) runMount(ctx context.Context, path, dir string, o *mountOptions) error {
	if o.allowFsck && !o.rw {
		return usagef("--allow-fsck needs --rw (a read-only mount writes nothing and needs no check)")
	}
	if o.allowZeroLog && !o.allowFsck {
		return usagef("--allow-fsck-zero-log needs --allow-fsck")
	}
	path, err := resolveTarget(path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(path); err != nil {
		return err
	} else if fi.IsDir() {
		return usagef("%s is a directory; rescue mount takes a device or an image file", path)
	}
	if os.Geteuid() != 0 {
		return errors.New("mounting needs root")
	}
	d, err := disk.Probe(path)
	if err != nil {
		return err
	}
	for _, w := range d.Warnings {
		a.log.Warn(w, "disk", path)
	}
	s, err := disk.Mount(ctx, d, dir, disk.MountOptions{Writable: o.rw, Root: o.rootPartition, StateDir: stateDir(),
		AllowFsck: o.allowFsck, AllowZeroLog: o.allowZeroLog, Log: a.log})
	if s != nil {
		logFscks(a, s)
	}
	if err != nil {
		return diskHint(err, path)
	}
	mode := "read-only"
	if o.rw {
		mode = "read-write"
	}
	fmt.Fprintf(a.stdout, "Mounted %s %s at %s:\n", path, mode, s.Dir)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, m := range s.Mounts {
		how := m.Why
		if m.Copy {
			how += "; a copy of the FAT, written back by umount"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t(%s)\n", safetext.Line(filepath.Join(s.Dir, m.Point)), m.Volume.Name, m.Volume.FS.Type, safetext.Line(how))
	}
	tw.Flush()
	for _, n := range s.Notes {
		fmt.Fprintf(a.stdout, "note: %s\n", safetext.Line(n))
	}
	fmt.Fprintf(a.stdout, "Unmount with: rescue umount %s\n", s.Dir)
	return nil
}

func (a *app) umountCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "umount DIR",
		Short: "Undo what rescue mount did at DIR",
		Long: `Unmount, innermost first, exactly what "rescue mount" recorded for DIR in
/run/rescue, and detach its loop devices. If the ESP was mounted as a copy
read-write, the changed files are first written back into the FAT
filesystem and checked. Works after a crash too: the record is written
before anything is mounted. DIR may also be the device or image that was
mounted.`,
		Example: `  rescue umount /mnt/rescue
  rescue umount /dev/vdb`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runUmount(args[0])
		},
	}
}

func (a *app) runUmount(arg string) error {
	dir := arg
	if abs, err := filepath.Abs(arg); err == nil {
		dir = abs
	}
	if _, err := disk.LoadState(stateDir(), dir); errors.Is(err, os.ErrNotExist) {
		// Perhaps the device or image itself was named.
		list, _ := disk.Sessions(stateDir())
		var match []*disk.State
		for _, st := range list {
			if st.Disk == arg || st.Disk == dir {
				match = append(match, st)
			}
		}
		switch len(match) {
		case 0:
			return withHint(err, "rescue umount takes the directory given to rescue mount")
		case 1:
			dir = match[0].Dir
		default:
			return fmt.Errorf("%s is mounted by rescue at %d places; name the directory", arg, len(match))
		}
	}
	if err := disk.Unmount(stateDir(), dir, a.log); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Unmounted %s.\n", dir)
	return nil
}
