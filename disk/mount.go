package disk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"rescue/parse/fstab"
	"rescue/sysroot"
)

// MountOptions control Mount.
type MountOptions struct {
	// Writable mounts read-write (for fixes); otherwise every filesystem
	// is mounted so that nothing is written, not even a journal replay:
	// ext4 ro,noload; xfs ro,norecovery,nouuid; btrfs ro,rescue=nologreplay; all
	// through read-only loop devices.
	Writable bool
	// Root names the root volume (--root-partition: a name, a partition
	// number, a UUID, a label or VG/LV); "" chooses it by content.
	Root string
	// StateDir records the session (default DefaultStateDir).
	StateDir string
	// Temporary marks a session that lives only as long as this process
	// (scan, fix): a later run undoes it if the process died.
	Temporary bool
	// AllowFsck lets a writable Mount repair filesystems that need it
	// before mounting them read-write (e2fsck -p, xfs_repair); it cannot
	// be undone. AllowZeroLog also lets xfs_repair -L throw away an xfs
	// log that cannot be replayed.
	AllowFsck    bool
	AllowZeroLog bool
	Log          *slog.Logger
}

func (o *MountOptions) stateDir() string {
	if o.StateDir == "" {
		return DefaultStateDir
	}
	return o.StateDir
}

func (o *MountOptions) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// Mounted is one filesystem of the target as a session mounted it.
type Mounted struct {
	Volume *Volume
	// Point is the mount point inside the target ("/", "/boot").
	Point string
	// Why says how the mount was chosen: "fstab line 3", "by content".
	Why string
	// Copy is set when the filesystem (a FAT ESP the helper's kernel
	// cannot mount) is a copy that is written back at unmount.
	Copy bool
}

// Session is a mounted target.
type Session struct {
	Dir        string
	Disk       *Disk
	Root       *Volume
	Mounts     []Mounted
	Candidates []Candidate
	// Notes say what was skipped or assumed ("fstab names /var by
	// UUID=…, which is not on this disk").
	Notes []string
	// Fscks are the repairs run before mounting read-write.
	Fscks []FsckResult
	state *State
	opt   MountOptions
}

// Close unmounts everything the session mounted (writing a FAT copy back
// first when the session is writable).
func (s *Session) Close() error {
	if s == nil || s.state == nil {
		return nil
	}
	err := unmountState(s.state, s.opt.stateDir(), s.opt.log())
	s.state = nil
	return err
}

// ErrMounted is returned when rescue already has a session at a directory.
var ErrMounted = errors.New("already mounted by rescue")

// Mount finds the target root on d (or takes opt.Root), mounts it at dir
// and then mounts the target's own /boot, /boot/efi, /usr and /var as its
// fstab says, resolving their sources against d. The session is recorded
// before anything is mounted; Close or Unmount undoes it.
func Mount(ctx context.Context, d *Disk, dir string, opt MountOptions) (*Session, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("mounting a disk needs root")
	}
	log := opt.log()
	SweepStale(opt.stateDir(), log)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	dir = filepath.Clean(abs)
	p := stateFile(opt.stateDir(), dir)
	if _, err := os.Stat(p); err == nil {
		return nil, fmt.Errorf("%s: %w (rescue umount %s first)", dir, ErrMounted, dir)
	}
	MarkHostDuplicates(d, log)
	if opt.Writable {
		// The helper's own disk, or an image mounted elsewhere: a second
		// read-write mount of one filesystem corrupts it. (A read-only
		// look is harmless and allowed.)
		if where := InUse(d, opt.stateDir()); where != "" {
			return nil, fmt.Errorf("%s: %w (%s); rescue repairs a disk attached as a data disk", d.Path, ErrInUse, where)
		}
	}

	s := &Session{Dir: dir, Disk: d, opt: opt}
	st := &State{Version: 1, Dir: dir, Disk: d.Path, Writable: opt.Writable,
		Temporary: opt.Temporary, PID: os.Getpid(), Created: time.Now().UTC(), path: p}
	if fi, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return s, fmt.Errorf("creating %s: %w", dir, err)
		}
		st.CreatedDir = true
	} else if err != nil {
		return s, err
	} else if !fi.IsDir() {
		return s, fmt.Errorf("%s is not a directory", dir)
	} else if isMounted(dir, "") {
		return s, fmt.Errorf("something is already mounted at %s", dir)
	}
	// The session is recorded before anything is activated or mounted.
	if err := st.save(); err != nil {
		return s, err
	}
	s.state = st
	fail := func(err error) (*Session, error) {
		if cerr := s.Close(); cerr != nil {
			log.Error("undoing the partial mount", "error", cerr)
		}
		return s, err
	}

	s.activateLVM(ctx)
	root, cands, err := chooseRoot(ctx, d, opt)
	s.Candidates = cands
	if err != nil {
		return fail(err)
	}
	s.Root = root.Volume
	st.Root = root.Volume.Name
	plan, notes := planMounts(d, root, cands)
	s.Notes = append(s.Notes, notes...)

	if opt.Writable {
		if err := s.prepareWritable(ctx, plan); err != nil {
			return fail(err)
		}
	}
	if err := st.save(); err != nil {
		return fail(err)
	}

	for _, pm := range plan {
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		target := dir
		if pm.point != "/" {
			t, ok, err := s.mountPoint(pm.point)
			if err != nil {
				return fail(err)
			}
			if !ok {
				continue
			}
			target = t
		}
		copied, err := mountVolume(st, d.Path, pm.volume, target, pm.point, opt.Writable, pm.subvol, opt.stateDir(), log)
		if err != nil {
			if pm.point == "/" {
				return fail(err)
			}
			s.Notes = append(s.Notes, fmt.Sprintf("%s (%s) is not mounted: %v", pm.point, pm.volume.Name, err))
			continue
		}
		s.Mounts = append(s.Mounts, Mounted{Volume: pm.volume, Point: pm.point, Why: pm.why, Copy: copied})
		log.Info("mounted", "point", pm.point, "volume", pm.volume.Name, "why", pm.why, "writable", opt.Writable)
	}
	return s, nil
}

// mountPoint resolves a mount point inside the mounted target (a hostile
// /boot -> /etc symlink on the disk stays inside the target) and returns
// its host path; ok is false, with a note, when there is no such directory.
func (s *Session) mountPoint(point string) (string, bool, error) {
	r, err := sysroot.Open(s.Dir)
	if err != nil {
		return "", false, err
	}
	defer r.Close()
	resolved, err := r.Resolve(point)
	if err != nil {
		s.Notes = append(s.Notes, fmt.Sprintf("%s is not mounted: the target has no %s directory", point, point))
		return "", false, nil
	}
	fi, err := r.Stat(resolved)
	if err != nil || !fi.IsDir() {
		s.Notes = append(s.Notes, fmt.Sprintf("%s is not mounted: %s is not a directory on the target", point, point))
		return "", false, nil
	}
	if resolved != point {
		s.Notes = append(s.Notes, fmt.Sprintf("%s is a symlink to %s on the target; mounted there", point, resolved))
	}
	return filepath.Join(s.Dir, resolved), true, nil
}

// mountOptions returns the filesystem type, flags and data to mount a
// volume with.
func mountOptions(v *Volume, writable bool, subvol string) (fstype string, flags uintptr, data string, err error) {
	if v.FS == nil {
		return "", 0, "", fmt.Errorf("%s holds no filesystem rescue recognises", v.Name)
	}
	flags = unix.MS_NOSUID | unix.MS_NODEV
	if !writable {
		flags |= unix.MS_RDONLY | unix.MS_NOEXEC
	}
	var opts []string
	switch v.FS.Type {
	case "ext2", "ext3", "ext4":
		fstype = v.FS.Type
		if !writable && v.FS.Type != "ext2" {
			opts = append(opts, "noload")
		}
	case "xfs":
		fstype = "xfs"
		// nouuid: the target may be a clone of the helper's own disk.
		opts = append(opts, "nouuid")
		if !writable {
			opts = append(opts, "norecovery")
		}
	case "btrfs":
		fstype = "btrfs"
		if !writable {
			opts = append(opts, "rescue=nologreplay")
		}
		if subvol != "" {
			opts = append(opts, "subvol="+subvol)
		}
	case "vfat":
		fstype = "vfat"
	default:
		return "", 0, "", fmt.Errorf("%s holds %s, which is not a filesystem rescue mounts", v.Name, v.FS.Type)
	}
	return fstype, flags, strings.Join(opts, ","), nil
}

// mountVolume attaches v to a loop device and mounts it at target,
// recording the mount first. A FAT filesystem the kernel cannot mount is
// copied out and bind-mounted instead (copied is then true).
func mountVolume(st *State, diskPath string, v *Volume, target, point string, writable bool, subvol, stateDir string, log *slog.Logger) (copied bool, err error) {
	if !v.Reachable() {
		return false, fmt.Errorf("%s cannot be reached: %s", v.Name, v.Problem)
	}
	fstype, flags, data, err := mountOptions(v, writable, subvol)
	if err != nil {
		return false, err
	}
	if v.Device != "" {
		return false, mountDevice(st, v, target, point, fstype, flags, data)
	}
	l, err := AttachLoop(diskPath, v.Offset, v.Size, !writable)
	if err != nil {
		return false, err
	}
	defer l.Detach() // a no-op once released to a mount
	rec := MountRecord{Target: target, Point: point, Volume: v.Name, Source: l.Path, FSType: fstype, Options: data,
		Loop: &LoopRecord{Device: l.Path, File: diskPath, Offset: v.Offset, Size: v.Size}}
	st.Mounts = append(st.Mounts, rec)
	i := len(st.Mounts) - 1
	if err := st.save(); err != nil {
		return false, err
	}
	st.Mounts[i].FSType, st.Mounts[i].Options, err = mountFS(l.Path, target, fstype, flags, data)
	if err != nil && fstype == "vfat" && errors.Is(err, unix.ENODEV) {
		l.Detach()
		st.Mounts = st.Mounts[:i]
		if serr := st.save(); serr != nil {
			return false, serr
		}
		log.Info("the helper's kernel cannot mount vfat; using a copy", "volume", v.Name)
		return true, mountFATCopy(st, diskPath, v, target, point, writable, stateDir)
	}
	if err != nil {
		st.Mounts = st.Mounts[:i]
		st.save()
		return false, fmt.Errorf("mounting %s (%s) at %s: %w%s", v.Name, fstype, point, err, mountHint(v, err))
	}
	l.Release()
	st.Mounts[i].Done = true
	return false, st.save()
}

// mountFS calls mount(2), trying the spellings older or smaller kernels
// need: btrfs's nologreplay before Linux 5.9, and the ext4 driver for ext2
// and ext3 where their own drivers are not built. It returns the type and
// options that worked.
func mountFS(source, target, fstype string, flags uintptr, data string) (string, string, error) {
	err := unix.Mount(source, target, fstype, flags, data)
	if err != nil && errors.Is(err, unix.EINVAL) && strings.Contains(data, "rescue=nologreplay") {
		data = strings.Replace(data, "rescue=nologreplay", "nologreplay", 1)
		err = unix.Mount(source, target, fstype, flags, data)
	}
	if err != nil && (fstype == "ext2" || fstype == "ext3") {
		fstype = "ext4"
		err = unix.Mount(source, target, fstype, flags, data)
	}
	return fstype, data, err
}

// mountDevice mounts an activated LV's device directly.
func mountDevice(st *State, v *Volume, target, point, fstype string, flags uintptr, data string) error {
	st.Mounts = append(st.Mounts, MountRecord{Target: target, Point: point, Volume: v.Name, Source: v.Device, FSType: fstype, Options: data})
	i := len(st.Mounts) - 1
	if err := st.save(); err != nil {
		return err
	}
	var err error
	if st.Mounts[i].FSType, st.Mounts[i].Options, err = mountFS(v.Device, target, fstype, flags, data); err != nil {
		st.Mounts = st.Mounts[:i]
		st.save()
		return fmt.Errorf("mounting %s (%s) at %s: %w%s", v.Device, fstype, point, err, mountHint(v, err))
	}
	st.Mounts[i].Done = true
	return st.save()
}

func mountHint(v *Volume, err error) string {
	switch {
	case errors.Is(err, unix.ENODEV):
		return fmt.Sprintf(" (the helper's kernel has no %s driver)", v.FS.Type)
	case v.HostDuplicate != "" && v.FS.Type == "btrfs":
		return fmt.Sprintf(" (it has the same UUID as the helper's %s; btrfs cannot mount two filesystems with one UUID)", v.HostDuplicate)
	}
	return ""
}

// Unmount undoes the session rescue recorded for dir: it writes a FAT copy
// back (when the session was writable), unmounts in reverse order exactly
// what the record says was mounted, and removes the record.
func Unmount(stateDir, dir string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	st, err := LoadState(stateDir, dir)
	if err != nil {
		return err
	}
	return unmountState(st, stateDir, log)
}

func unmountState(st *State, stateDir string, log *slog.Logger) error {
	// The FAT copy is written back first; if that fails, everything is
	// still unmounted, but the copy and the record stay, so that
	// "rescue umount DIR" can try the write-back again.
	var espErr error
	if st.Writable && st.ESP != nil {
		if espErr = writeBackESP(st, log); espErr != nil {
			espErr = fmt.Errorf("writing the changed files back to the ESP %s (the copy stays in %s; run rescue umount %s again): %w", st.ESP.Volume, st.ESP.Dir, st.Dir, espErr)
		}
	}
	var errs []error
	for i := len(st.Mounts) - 1; i >= 0; i-- {
		rec := st.Mounts[i]
		source := rec.Source
		if rec.Bind {
			source = ""
		}
		if isMounted(rec.Target, source) {
			if err := unmountRetry(rec.Target, log); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		keep := espErr != nil && st.ESP != nil && strings.HasPrefix(st.ESP.Dir, rec.TempDir+"/")
		if rec.TempDir != "" && !keep && strings.HasPrefix(rec.TempDir, filepath.Clean(stateDir)+"/") {
			if err := os.RemoveAll(rec.TempDir); err != nil {
				errs = append(errs, err)
			}
		}
		st.Mounts = st.Mounts[:i]
	}
	if len(errs) == 0 {
		// Deactivate what the helper's LVM activated, now that nothing is
		// mounted from it.
		for i := len(st.LVM) - 1; i >= 0; i-- {
			if err := deactivate(st.LVM[i], log); err != nil {
				errs = append(errs, err)
				continue
			}
			st.LVM = st.LVM[:i]
		}
	}
	if espErr != nil {
		errs = append(errs, espErr)
	} else if st.ESP != nil && st.ESP.TempDir != "" {
		// A retried write-back: the copy's directory is no longer in a
		// mount record.
		if strings.HasPrefix(st.ESP.TempDir, filepath.Clean(stateDir)+"/") {
			os.RemoveAll(st.ESP.TempDir)
		}
	}
	if len(errs) > 0 {
		st.save()
		return errors.Join(errs...)
	}
	if st.CreatedDir {
		os.Remove(st.Dir)
	}
	if err := os.Remove(st.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// unmountRetry unmounts target, waiting a little for a busy filesystem
// (a process that is just exiting), then detaching it lazily.
func unmountRetry(target string, log *slog.Logger) error {
	var err error
	for i := 0; i < 10; i++ {
		err = unix.Unmount(target, 0)
		if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if errors.Is(err, unix.EBUSY) {
		if fds, _ := os.ReadDir("/proc/self/fd"); fds != nil {
			for _, fd := range fds {
				l, _ := os.Readlink("/proc/self/fd/" + fd.Name())
				if strings.HasPrefix(l, target) {
					log.Warn("rescue itself still holds a file open there (a bug)", "fd", fd.Name(), "path", l)
				}
			}
		}
		log.Warn("filesystem busy; detaching it lazily (it goes when the last user leaves)", "target", target)
		if err2 := unix.Unmount(target, unix.MNT_DETACH); err2 == nil {
			return nil
		}
	}
	return fmt.Errorf("unmounting %s: %w", target, err)
}

// SweepStale undoes temporary sessions whose process is gone (a scan that
// was killed): their mounts would otherwise stay until reboot.
func SweepStale(stateDir string, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	list, err := Sessions(stateDir)
	if err != nil {
		return
	}
	for _, st := range list {
		if !st.Temporary || st.alive() {
			continue
		}
		log.Warn("undoing the mounts of an interrupted rescue run", "dir", st.Dir, "pid", st.PID)
		if err := unmountState(st, stateDir, log); err != nil {
			log.Error("could not undo an interrupted run's mounts", "dir", st.Dir, "error", err)
		}
	}
}

// planned is a mount Mount intends to make.
type planned struct {
	volume *Volume
	point  string
	subvol string
	why    string
}

// subMounts are the target's own mounts that checks need to see.
var subMounts = []string{"/boot", "/boot/efi", "/usr", "/var"}

// planMounts lists the root and then the target's /boot, /boot/efi, /usr
// and /var as its fstab says; /boot and /boot/efi are found by content
// when the fstab does not name them (a broken fstab is what rescue is
// often called for).
func planMounts(d *Disk, root *Candidate, cands []Candidate) ([]planned, []string) {
	var notes []string
	plan := []planned{{volume: root.Volume, point: "/", subvol: root.Subvol, why: root.Why()}}
	used := map[*Volume]bool{root.Volume: true}
	var entries []fstab.Line
	if root.fstab != nil {
		entries = root.fstab.Entries()
	}
	for _, point := range subMounts {
		found := false
		for _, l := range entries {
			e := l.Entry
			if path.Clean(e.File) != point {
				continue
			}
			found = true
			v, byNumber := d.Resolve(e.Spec)
			switch {
			case v == nil:
				notes = append(notes, fmt.Sprintf("fstab line %d mounts %s from %s, which is not on this disk; not mounted", l.N, point, e.Spec))
			case used[v]:
				notes = append(notes, fmt.Sprintf("fstab line %d mounts %s from %s, which is already mounted; not mounted again", l.N, point, v.Name))
			default:
				why := fmt.Sprintf("fstab line %d", l.N)
				if byNumber {
					why += fmt.Sprintf(" (%s taken as partition %d)", e.Spec, v.Partition.Number)
				}
				plan = append(plan, planned{volume: v, point: point, subvol: optionValue(e.Options, "subvol"), why: why})
				used[v] = true
			}
		}
		if found || (point != "/boot" && point != "/boot/efi") {
			continue
		}
		// Not in the fstab: take the one filesystem on the disk that
		// looks like it.
		var match []*Volume
		for _, c := range cands {
			if c.Role == map[string]string{"/boot": RoleBoot, "/boot/efi": RoleESP}[point] && !used[c.Volume] {
				match = append(match, c.Volume)
			}
		}
		if len(match) == 1 {
			plan = append(plan, planned{volume: match[0], point: point, why: "by content (the fstab does not name it)"})
			used[match[0]] = true
		}
	}
	return plan, notes
}

func optionValue(opts, key string) string {
	for _, o := range strings.Split(opts, ",") {
		if v, ok := strings.CutPrefix(o, key+"="); ok {
			return v
		}
	}
	return ""
}
