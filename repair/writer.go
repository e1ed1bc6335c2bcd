package repair

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"rescue/bytesize"
	"rescue/sysroot"
)

// Writer is the only code in rescue that changes a disk. Every path it is
// given is resolved inside its root exactly as sysroot resolves reads; the
// last element is never followed, so a symlink planted in the target is
// replaced, not written through. Files are replaced atomically: a temporary
// file in the same directory gets the content, mode, owner, extended
// attributes and (when asked) mtime, is synced, renamed over the old name,
// and the directory is synced.
//
// The writer holds the root it changes rather than being a read-only view
// itself: what it reads to decide (state, content) it reads through
// w.root like every other reader, and what it changes it reaches through
// the root's descriptor-level API (OpenParent, MkdirAll), the same
// resolution sysroot uses for every read.
type Writer struct {
	root *sysroot.Root
}

// NewWriter returns a writer confined to dir, which it opens; Close
// releases it.
func NewWriter(dir string) (*Writer, error) {
	r, err := sysroot.Open(dir)
	if err != nil {
		return nil, err
	}
	return &Writer{root: r}, nil
}

// Close releases the root the writer opened (NewWriter): an open handle
// keeps the target's filesystem busy, so that it could not be unmounted.
func (w *Writer) Close() error { return w.root.Close() }

// Meta is the metadata a written file gets.
type Meta struct {
	Mode   Mode
	UID    int
	GID    int
	Xattrs map[string][]byte // nil: none
	Mtime  *time.Time        // nil: now
	// Flags are inode flags (chattr) to carry over, such as +A (no atime
	// updates) or +d (no dump). Only the ones a user may change are set;
	// +i and +a never are here (a file carrying them cannot be renamed
	// into place), see Apply's --clear-immutable.
	Flags uint32
}

// userFlags are the inode flags chattr may change (FS_FL_USER_MODIFIABLE):
// the others say how the filesystem stores the file (extents, inline
// data) and belong to the new file as the filesystem made it.
const userFlags = 0x000380FF

// dir opens the directory of name (resolved inside the root) for *at
// calls, and returns name's last element, which is not followed.
func (w *Writer) dir(name string) (*sysroot.Dir, string, error) {
	if sysroot.Clean(name) == "/" {
		return nil, "", fmt.Errorf("refusing to replace the root directory itself")
	}
	d, base, err := w.root.OpenParent(name)
	if err != nil {
		return nil, "", fmt.Errorf("opening %s: %w", path.Dir(sysroot.Clean(name)), err)
	}
	return d, base, nil
}

// tempName returns a name for a temporary file next to base. The leading dot
// and the pid keep it out of the way; it is renamed or removed before the
// writer returns.
func tempName(base string) string {
	return "." + base + ".rescue-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
}

// WriteFile atomically replaces (or creates) name with data and meta.
func (w *Writer) WriteFile(name string, data []byte, meta Meta) error {
	d, base, err := w.dir(name)
	if err != nil {
		return err
	}
	defer d.Close()
	tmp := tempName(base)
	f, err := d.Create(tmp, 0o600)
	if err != nil {
		return fmt.Errorf("creating temporary file for %s: %w", name, err)
	}
	fd := int(f.Fd())
	done := false
	defer func() {
		if !done {
			f.Close()
			unix.Unlinkat(d.Fd(), tmp, 0)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := setOpenMeta(fd, name, meta); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", name, err)
	}
	if err := unix.Renameat(d.Fd(), tmp, d.Fd(), base); err != nil {
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	done = true
	return syncDir(d, name)
}

// setOpenMeta gives the open file fd (to be name) the owner, mode,
// extended attributes, inode flags and mtime of meta.
func setOpenMeta(fd int, name string, meta Meta) error {
	// Owner before mode: chown clears setuid and setgid bits.
	if err := unix.Fchown(fd, meta.UID, meta.GID); err != nil {
		return fmt.Errorf("setting owner of %s: %w", name, err)
	}
	if err := unix.Fchmod(fd, uint32(meta.Mode)); err != nil {
		return fmt.Errorf("setting mode of %s: %w", name, err)
	}
	for k, v := range meta.Xattrs {
		if err := unix.Fsetxattr(fd, k, v, 0); err != nil {
			return fmt.Errorf("setting %s on %s: %w", k, name, err)
		}
	}
	if err := setFileFlags(fd, meta.Flags&^(flagImmutable|flagAppend)); err != nil {
		return fmt.Errorf("setting flags of %s: %w", name, err)
	}
	if meta.Mtime != nil {
		// Through /proc/self/fd, the very inode that is open: a file
		// made with O_TMPFILE has no name to give utimensat yet.
		ts := unix.NsecToTimespec(meta.Mtime.UnixNano())
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, procPath(fd), []unix.Timespec{ts, ts}, 0); err != nil {
			return fmt.Errorf("setting mtime of %s: %w", name, err)
		}
	}
	return nil
}

// CreateFile makes name, which must not exist, with the size bytes src
// gives and meta. verify is called once the content is synced to the disk
// and before the file has its name; its error leaves nothing behind. Undo
// puts back this way the files a repair removed (a spilled log, a
// quarantined file), where WriteFile's temporary name and rename would do
// two things wrong on a filesystem filled to its last block:
//
//   - Room. The blocks are allocated in one request (fallocate) before a
//     byte is written, which gets them in as few extents as the free space
//     allows; written page by page, the last file of an undo that filled
//     exactly what the spill had freed needed a block more than was there,
//     for its extent tree, and failed with ENOSPC
//     (TestUndoSpillOnFilesystemFullToTheLastBlock). A file that does not
//     fit at all fails at once, having written nothing. And the file is
//     made without a name (O_TMPFILE) and linked under its own name at the
//     end, so that the directory only ever gains that one entry, in the
//     slot its removal freed: a longer temporary name can need a new
//     directory block, and there is none.
//   - A crash. Until the link the file has no name: a crash at any point
//     before it leaves nothing in the directory (the filesystem frees the
//     nameless inode at its next read-write mount: ext4's orphan list, xfs's
//     unlinked list), so the path is still absent as the journal says and
//     undo can run again. The name appears only on content that is
//     complete, verified and synced; never on a half-written file.
//
// On a filesystem without O_TMPFILE a temporary name takes its place, and
// is renamed without replacing anything (RENAME_NOREPLACE).
func (w *Writer) CreateFile(name string, src io.Reader, size int64, meta Meta, verify func() error) error {
	d, base, err := w.dir(name)
	if err != nil {
		return err
	}
	defer d.Close()
	tmp := ""
	fd, err := openTmpfile(d.Fd())
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) {
		tmp = tempName(base)
		var f *os.File
		if f, err = d.Create(tmp, 0o600); err == nil {
			fd, err = unix.Dup(int(f.Fd()))
			f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	done := false
	defer func() {
		f.Close()
		if tmp != "" && !done {
			unix.Unlinkat(d.Fd(), tmp, 0)
		}
	}()
	if size > 0 {
		err := unix.Fallocate(fd, 0, 0, size)
		if errors.Is(err, unix.ENOSPC) {
			// What the failed request did allocate is given back
			// first, so that the message counts it free.
			unix.Ftruncate(fd, 0)
			return fmt.Errorf("no room to put %s back: it needs %s and a few blocks for the filesystem's records of it%s: %w", name, bytesize.Format(size, bytesize.Tenths), roomOf(d), err)
		}
		if err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("allocating %s: %w", name, err)
		}
	}
	n, err := io.Copy(f, src)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("writing %s: got %d bytes, want %d", name, n, size)
	}
	if err := setOpenMeta(fd, name, meta); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", name, err)
	}
	if err := verify(); err != nil {
		return err
	}
	if tmp == "" {
		err = unix.Linkat(unix.AT_FDCWD, procPath(fd), d.Fd(), base, unix.AT_SYMLINK_FOLLOW)
	} else {
		err = unix.Renameat2(d.Fd(), tmp, d.Fd(), base, unix.RENAME_NOREPLACE)
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	done = true
	return syncDir(d, name)
}

// openTmpfile opens a new nameless file in the directory dirfd (a
// variable so that a test can take the path of a filesystem without
// O_TMPFILE).
var openTmpfile = func(dirfd int) (int, error) {
	return unix.Openat(dirfd, ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
}

// roomOf says how much room the filesystem of d has left, for a message.
// On ext4 part of what statfs counts free is a pool nobody can allocate
// (2% of the blocks, at most 4096: ext4_calculate_resv_clusters), and
// without that the numbers would seem to say the file fits.
func roomOf(d *sysroot.Dir) string {
	var st unix.Statfs_t
	if err := unix.Fstatfs(d.Fd(), &st); err != nil {
		return ""
	}
	s := " and " + bytesize.Format(int64(st.Bfree)*st.Bsize, bytesize.Tenths) + " is free"
	if st.Type == unix.EXT4_SUPER_MAGIC {
		s += ", part of which ext4 keeps for itself (2% of its blocks, at most 4096)"
	}
	return s
}

func syncDir(d *sysroot.Dir, name string) error {
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory of %s: %w", name, err)
	}
	return nil
}

// Symlink atomically makes name a symlink to target, replacing a file or
// symlink there. An empty directory is removed first (not atomic: there is
// no way to rename a symlink over a directory).
func (w *Writer) Symlink(name, target string, owner *Owner) error {
	d, base, err := w.dir(name)
	if err != nil {
		return err
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstatat(d.Fd(), base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := unix.Unlinkat(d.Fd(), base, unix.AT_REMOVEDIR); err != nil {
			return fmt.Errorf("removing directory %s to make a symlink: %w", name, err)
		}
	}
	tmp := tempName(base)
	if err := unix.Symlinkat(target, d.Fd(), tmp); err != nil {
		return fmt.Errorf("creating symlink %s: %w", name, err)
	}
	if owner != nil {
		if err := unix.Fchownat(d.Fd(), tmp, owner.UID, owner.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			unix.Unlinkat(d.Fd(), tmp, 0)
			return fmt.Errorf("setting owner of symlink %s: %w", name, err)
		}
	}
	if err := unix.Renameat(d.Fd(), tmp, d.Fd(), base); err != nil {
		unix.Unlinkat(d.Fd(), tmp, 0)
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	return syncDir(d, name)
}

// Remove removes name itself: a file, a symlink or an empty directory.
func (w *Writer) Remove(name string) error {
	d, base, err := w.dir(name)
	if err != nil {
		return err
	}
	defer d.Close()
	err = unix.Unlinkat(d.Fd(), base, 0)
	if errors.Is(err, unix.EISDIR) {
		err = unix.Unlinkat(d.Fd(), base, unix.AT_REMOVEDIR)
	}
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return syncDir(d, name)
}

// Mkdir creates the directory name with mode and owner.
func (w *Writer) Mkdir(name string, mode Mode, owner Owner) error {
	d, base, err := w.dir(name)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Mkdir(base, 0o700); err != nil {
		return fmt.Errorf("creating directory %s: %w", name, err)
	}
	if err := unix.Fchownat(d.Fd(), base, owner.UID, owner.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting owner of %s: %w", name, err)
	}
	if err := unix.Fchmodat(d.Fd(), base, uint32(mode), 0); err != nil {
		return fmt.Errorf("setting mode of %s: %w", name, err)
	}
	return syncDir(d, name)
}

// MkdirAll creates name and its missing parents (0755, root) inside the root.
func (w *Writer) MkdirAll(name string) error {
	if err := w.root.MkdirAll(name, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	return nil
}

// Chmod sets the mode of name. The last element is not followed: a symlink
// found where a file was planned is refused by the state check before this.
func (w *Writer) Chmod(name string, mode Mode) error {
	return w.onNode(name, func(fd int) error {
		// fchmod on an O_PATH fd is not allowed; /proc/self/fd reaches the
		// very inode that was opened.
		return unix.Chmod(procPath(fd), uint32(mode))
	})
}

// Chown sets the owner of name, without following its last element.
func (w *Writer) Chown(name string, uid, gid int) error {
	return w.onNode(name, func(fd int) error {
		if err := unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown %s: %w", name, err)
		}
		return nil
	})
}

// SetMtime sets the modification time of name (not following it).
func (w *Writer) SetMtime(name string, t time.Time) error {
	return w.onNode(name, func(fd int) error {
		ts := unix.NsecToTimespec(t.UnixNano())
		if err := unix.UtimesNano(procPath(fd), []unix.Timespec{ts, ts}); err != nil {
			return fmt.Errorf("setting mtime of %s: %w", name, err)
		}
		return nil
	})
}

// SetXattrs sets extended attributes on name itself.
func (w *Writer) SetXattrs(name string, attrs map[string][]byte) error {
	return w.onNode(name, func(fd int) error {
		for k, v := range attrs {
			if err := unix.Setxattr(procPath(fd), k, v, 0); err != nil {
				return fmt.Errorf("setting %s on %s: %w", k, name, err)
			}
		}
		return nil
	})
}

// Xattrs returns every extended attribute of name itself (a symlink is not
// followed), so that a replaced file keeps its SELinux label and ACLs.
func (w *Writer) Xattrs(name string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := w.onNode(name, func(fd int) error {
		// The /proc/self/fd link names the very inode that was opened;
		// the following variants go through it to that inode (the l*
		// variants would ask the proc link itself).
		p := procPath(fd)
		size, err := unix.Listxattr(p, nil)
		if err != nil || size == 0 {
			if errors.Is(err, unix.ENOTSUP) {
				return nil
			}
			return err
		}
		buf := make([]byte, size)
		size, err = unix.Listxattr(p, buf)
		if err != nil {
			return err
		}
		for _, k := range splitNul(buf[:size]) {
			vsize, err := unix.Getxattr(p, k, nil)
			if err != nil {
				return err
			}
			v := make([]byte, vsize)
			vsize, err = unix.Getxattr(p, k, v)
			if err != nil {
				return err
			}
			out[k] = v[:vsize]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading extended attributes of %s: %w", name, err)
	}
	return out, nil
}

func splitNul(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}

func procPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// onNode calls fn with an O_PATH fd of name itself (not followed); "/" is
// the root directory.
func (w *Writer) onNode(name string, fn func(fd int) error) error {
	d, base, err := w.root.OpenParent(name)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path.Dir(sysroot.Clean(name)), err)
	}
	defer d.Close()
	fd, err := d.OpenNode(base)
	if err != nil {
		return fmt.Errorf("opening %s: %w", name, err)
	}
	defer unix.Close(fd)
	return fn(fd)
}

// Inode flags that make a file unchangeable (chattr +i, +a).
const (
	flagImmutable = sysroot.FlagImmutable
	flagAppend    = sysroot.FlagAppend
)

// setFileFlags gives the open file fd the user-changeable inode flags in
// flags, keeping the ones the filesystem set itself. Nothing to set on a
// filesystem without flags is no error.
func setFileFlags(fd int, flags uint32) error {
	flags &= userFlags
	cur, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		if flags == 0 {
			return nil
		}
		return err
	}
	want := cur&^userFlags | flags
	if want == cur {
		return nil
	}
	return unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(want))
}

// SetFlags sets the inode flags of name.
func (w *Writer) SetFlags(name string, flags uint32) error {
	f, err := w.root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags)); err != nil {
		return fmt.Errorf("setting flags of %s: %w", name, err)
	}
	return nil
}

// Locked reports whether name carries the immutable or append-only flag,
// which make every change fail with EPERM, even for root.
func (w *Writer) Locked(name string) (bool, error) {
	f, err := w.Flags(name)
	return f&(flagImmutable|flagAppend) != 0, err
}

// Flags returns the inode flags of name itself when it is a regular file or
// a directory, or 0 (symlinks and missing paths have none that matter).
func (w *Writer) Flags(name string) (uint32, error) {
	fi, err := w.root.Lstat(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return 0, nil
	}
	return w.root.Flags(name)
}
