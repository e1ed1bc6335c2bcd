package repair

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ExecTimeout bounds a command run in the target's chroot (an initramfs
// rebuild takes a minute or two on a slow helper).
var ExecTimeout = 15 * time.Minute

// runExec runs an exec op: the target's /dev, /proc and /sys are bound to
// the helper's, /run and /tmp are fresh tmpfs (what the command
// leaves there, /run/blkid/blkid.tab for one, is gone when it ends), the
// command runs chrooted into the target, and the mounts are detached again
// whatever happens. Its output goes to the journal. The states of the
// touched paths afterwards become the journal's after-states, so undo can
// tell whether anything changed them later. Whatever else the command
// changes is found by comparing the tree before and after: what it created
// is journaled (undo removes it), what it changed or removed, which has no
// backup, is recorded in the journal and reported.
func runExec(w *Writer, st *store, j *Journal, op Op, log *slog.Logger) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("running %s in a chroot needs root", op.Argv[0])
	}
	var mounted, made []string
	defer func() {
		for i := len(mounted) - 1; i >= 0; i-- {
			unix.Unmount(mounted[i], unix.MNT_DETACH)
		}
		// Mount points the target did not have go again.
		for i := len(made) - 1; i >= 0; i-- {
			w.Remove(made[i])
		}
	}()
	mountAt := func(m, source, fstype string, flags uintptr, data string) error {
		// The mount point is resolved inside the target: a dev -> /
		// symlink on the disk must not make rescue mount over the
		// helper's own root.
		var missing []string
		for d := m; d != "/"; d = path.Dir(d) {
			if _, err := w.root.Lstat(d); !errors.Is(err, fs.ErrNotExist) {
				break
			}
			missing = append(missing, d)
		}
		if len(missing) > 0 {
			if err := w.MkdirAll(m); err != nil {
				return err
			}
			for _, d := range slices.Backward(missing) {
				made = append(made, d)
			}
		}
		p, err := w.root.Resolve(m)
		if err != nil {
			return err
		}
		// mount(2) and umount(2) take a host path: the mount point was
		// resolved inside the root just above (the --allow-chroot run
		// is the one place a host path into the target is the point).
		host := strings.TrimSuffix(w.root.HostPath(), "/") + p
		if err := unix.Mount(source, host, fstype, flags, data); err != nil {
			return fmt.Errorf("mounting %s in the target: %w", m, err)
		}
		mounted = append(mounted, host)
		return nil
	}
	before, snapErr := snapshotTree(w)
	for _, m := range []string{"/dev", "/proc", "/sys"} {
		if err := mountAt(m, m, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
	}
	for _, m := range scratchDirs {
		if err := mountAt(m, "tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
			return err
		}
	}
	argv, release, err := diskArgv(op)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: w.root.HostPath()}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "HOME=/root"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	log.Info("running in the target's chroot", "argv", argv)
	runErr := cmd.Run()
	// The disk's regions as the command left them, once what it wrote
	// through the loop device is in the image.
	release()
	regionsAfter(j, op)
	for i := len(mounted) - 1; i >= 0; i-- {
		unix.Unmount(mounted[i], unix.MNT_DETACH)
	}
	mounted = nil
	logName := fmt.Sprintf("exec-%s.log", path.Base(op.Argv[0]))
	st.w.WriteFile(path.Join("/", j.ID, logName), out.Bytes(), Meta{Mode: 0o600, UID: os.Getuid(), GID: os.Getgid()})
	// Record what the command left, even when it failed: undo compares
	// against it.
	for i := range j.Paths {
		r := &j.Paths[i]
		for _, t := range op.Touches {
			if r.Path == t {
				if s, err := ReadState(w.root, t); err == nil {
					r.After, r.AfterKnown = s, true
				}
			}
		}
	}
	if snapErr == nil {
		// Made mount points are removed before the comparison is read
		// by undo; they are not the command's doing.
		after, err := snapshotTree(w)
		if err == nil {
			recordChanges(w, j, op, before, after, made, log)
		} else {
			snapErr = err
		}
	}
	if snapErr != nil {
		msg := fmt.Sprintf("what %s changed besides %s could not be tracked: %v", op.Argv[0], strings.Join(op.Touches, ", "), snapErr)
		j.Unrecorded = append(j.Unrecorded, msg)
		log.Warn(msg)
	}
	if runErr != nil {
		tail := out.String()
		if len(tail) > 400 {
			tail = "…" + tail[len(tail)-400:]
		}
		return fmt.Errorf("%s failed: %v: %s", strings.Join(op.Argv, " "), runErr, strings.TrimSpace(tail))
	}
	return nil
}

// scratchDirs get a tmpfs of their own while a command runs in the target.
// /var/tmp does not: mkinitramfs and dracut build the image there, hundreds
// of megabytes a small helper may not have in memory; what they leave
// there is found by the comparison and journaled like the rest.
var scratchDirs = []string{"/run", "/tmp"}

// notTracked are the trees the comparison leaves out: the helper's own
// /dev, /proc and /sys are bound there, and the scratch directories are
// the command's own.
var notTracked = append([]string{"/dev", "/proc", "/sys"}, scratchDirs...)

// maxTracked bounds the tree snapshot: a system has a few hundred thousand
// entries.
const maxTracked = 2000000

// nodeKey is what tells that an entry changed.
type nodeKey struct {
	ino, size    int64
	mtime, ctime int64
	mode         fs.FileMode
}

// snapshotTree records every entry of the target, mounts below its root
// included, except the trees in notTracked.
func snapshotTree(w *Writer) (map[string]nodeKey, error) {
	snap := map[string]nodeKey{}
	err := w.root.Walk("/", func(name string, fi fs.FileInfo, err error) error {
		if err != nil {
			return nil // an unreadable corner is not the command's doing
		}
		if slices.Contains(notTracked, name) || name == DefaultJournalDir {
			return fs.SkipDir
		}
		if len(snap) >= maxTracked {
			return fmt.Errorf("more than %d entries", maxTracked)
		}
		k := nodeKey{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: fi.Mode()}
		switch s := fi.Sys().(type) {
		case *unix.Stat_t:
			k.ino, k.ctime = int64(s.Ino), s.Ctim.Nano()
		case *syscall.Stat_t:
			k.ino, k.ctime = int64(s.Ino), s.Ctim.Nano()
		}
		snap[name] = k
		return nil
	})
	return snap, err
}

// recordChanges journals what the command created, so that undo removes
// it, and records what it changed or removed outside its touched files,
// which undo cannot put back.
func recordChanges(w *Writer, j *Journal, op Op, before, after map[string]nodeKey, made []string, log *slog.Logger) {
	skip := func(p string) bool {
		return slices.Contains(op.Touches, p) || slices.Contains(made, p) || p == "/"
	}
	var created, other []string
	for p, k := range after {
		if skip(p) {
			continue
		}
		b, ok := before[p]
		switch {
		case !ok:
			created = append(created, p)
		case k.mode.IsDir() && b.mode.IsDir():
			// A directory's times change with its entries; those are
			// judged themselves.
		case b != k:
			other = append(other, "changed "+p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok && !skip(p) {
			other = append(other, "removed "+p)
		}
	}
	// Parents before children, so that undo, going backwards, removes
	// the children first.
	slices.Sort(created)
	for _, p := range created {
		s, err := ReadState(w.root, p)
		if err != nil {
			other = append(other, "created "+p)
			continue
		}
		j.Paths = append(j.Paths, PathRecord{Path: p, Before: State{Type: Absent}, After: s, AfterKnown: true})
	}
	slices.Sort(other)
	for _, o := range other {
		msg := fmt.Sprintf("%s: %s (not in the journal: undo cannot put it back)", op.Argv[0], o)
		j.Unrecorded = append(j.Unrecorded, msg)
		log.Warn(msg)
	}
}
