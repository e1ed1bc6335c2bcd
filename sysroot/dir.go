package sysroot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Dir is a directory of the target, opened once, through which the entries
// in it are reached by their single names. It is the descriptor-level side
// of the one confinement: the directory is resolved inside the root like
// every path, and an entry name is one component that is never followed
// when it is a symlink, so nothing reached through a Dir lies outside the
// root.
//
// The package verifier reads through it (lstat, readlink, extended
// attributes, open for reading: one resolution per directory instead of
// one per file, for every file of every package), and the repair writer
// changes the target through it (OpenParent, Create, Mkdir, and its own
// *at calls on Fd with the single name OpenParent returned).
type Dir struct {
	h    *os.File // O_PATH handle
	fd   int
	name string // target-absolute
}

// OpenDir opens the directory name, following symlinks inside the root.
func (r *Root) OpenDir(name string) (*Dir, error) {
	h, err := r.resolve(name, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, wrap("open", name, err)
	}
	return &Dir{h: h, fd: int(h.Fd()), name: Clean(name)}, nil
}

// OpenParent opens the directory that holds name (following symlinks inside
// the root) and returns it with name's last element, which is not resolved:
// the caller acts on that entry itself (lstat, readlink, replace, remove),
// so a symlink there is the symlink, never its target. For "/" the
// directory is the root and the element is ".".
//
// The directory is opened as it resolves, without insisting that it is one:
// an entry below a file then fails on use with ENOTDIR, as a path lookup
// would.
func (r *Root) OpenParent(name string) (*Dir, string, error) {
	c := Clean(name)
	dir, base := path.Split(c)
	if c == "/" {
		dir, base = "/", "."
	}
	h, err := r.resolve(dir, unix.O_PATH)
	if err != nil {
		return nil, "", wrap("open", dir, err)
	}
	return &Dir{h: h, fd: int(h.Fd()), name: Clean(dir)}, base, nil
}

// MkdirAll makes the directory name and every missing parent with perm
// (less the umask), each one created by a single name in its parent, which
// is resolved inside the root; an existing symlink on the way is followed
// inside the root like any path.
func (r *Root) MkdirAll(name string, perm uint32) error {
	c := Clean(name)
	for i := 1; i <= len(c); i++ {
		if i < len(c) && c[i] != '/' {
			continue
		}
		d, err := r.OpenDir(c[:i])
		if err == nil {
			d.Close()
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		p, base, err := r.OpenParent(c[:i])
		if err != nil {
			return err
		}
		err = p.Mkdir(base, perm)
		p.Close()
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		// A name that exists now but did not open as a directory (a
		// dangling symlink, a file) fails on the next round's OpenDir.
		if d, err := r.OpenDir(c[:i]); err != nil {
			return err
		} else {
			d.Close()
		}
	}
	return nil
}

// Name is the directory's target-absolute path, as it was opened.
func (d *Dir) Name() string { return d.name }

// Close releases the directory.
func (d *Dir) Close() error { return d.h.Close() }

// Fd is the directory's O_PATH descriptor, for *at system calls on a single
// name of it that this type has no method for (rename, unlink, link,
// mknod, chown): the caller must pass one component it got from
// OpenParent, and use the call's no-follow form.
func (d *Dir) Fd() int { return d.fd }

// Sync flushes the directory itself (the names in it) to the disk, as a
// rename or create in it needs before it is durable.
func (d *Dir) Sync() error {
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil {
		err = unix.Fsync(fd)
		unix.Close(fd)
	}
	if err != nil {
		return &fs.PathError{Op: "sync", Path: d.name, Err: err}
	}
	return nil
}

// Mkdir creates the directory name in d with perm (less the umask).
func (d *Dir) Mkdir(name string, perm uint32) error {
	p, err := d.entry(name)
	if err != nil {
		return err
	}
	if err := unix.Mkdirat(d.fd, name, perm); err != nil {
		return &fs.PathError{Op: "mkdir", Path: p, Err: err}
	}
	return nil
}

// Create creates the regular file name in d for writing, with perm; a
// name that is already there (a symlink included) is an error, so a new
// file is never anything but new.
func (d *Dir) Create(name string, perm uint32) (*os.File, error) {
	p, err := d.entry(name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(d.fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return nil, &fs.PathError{Op: "create", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// OpenNode returns an O_PATH descriptor of the entry name itself (a
// symlink is the symlink), for changing its metadata through
// /proc/self/fd; "." is d. The caller closes it with unix.Close.
func (d *Dir) OpenNode(name string) (int, error) {
	p, err := d.entry(name)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Openat(d.fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return fd, nil
}

// errNotOneName is the error for an entry name that is not a single path
// component: a Dir reaches only its own entries.
var errNotOneName = errors.New("not a single name in the directory")

// entry checks that name is one component of d ("." is d itself; ".."
// would climb out of the root when d is the root) and returns its
// target-absolute path for messages.
func (d *Dir) entry(name string) (string, error) {
	if name == "" || name == ".." || strings.IndexByte(name, '/') >= 0 {
		return "", &fs.PathError{Op: "lookup", Path: path.Join(d.name, name), Err: errNotOneName}
	}
	return path.Join(d.name, name), nil
}

// Lstat fills st with the status of the entry name, not following it.
func (d *Dir) Lstat(name string, st *unix.Stat_t) error {
	p, err := d.entry(name)
	if err != nil {
		return err
	}
	if err := unix.Fstatat(d.fd, name, st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	return nil
}

// Readlink returns the target of the symlink name, as stored. buf, when
// big enough (unix.PathMax), saves an allocation per call.
func (d *Dir) Readlink(name string, buf []byte) (string, error) {
	p, err := d.entry(name)
	if err != nil {
		return "", err
	}
	if len(buf) < unix.PathMax {
		buf = make([]byte, unix.PathMax)
	}
	n, err := unix.Readlinkat(d.fd, name, buf)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: err}
	}
	return string(buf[:n]), nil
}

// OpenFile opens the entry name for reading and returns its descriptor,
// which the caller closes with unix.Close (a raw descriptor: verify opens
// tens of thousands of files, and an *os.File costs more system calls
// each). A symlink is not followed (ELOOP); the open does not block on a
// FIFO and never makes a terminal the controlling one. The caller has
// seen with Lstat that name is a regular file: opening a device node can
// have effects, and only a rename racing the caller could put one there.
// The access time stays as it was where the kernel permits O_NOATIME.
func (d *Dir) OpenFile(name string) (int, error) {
	p, err := d.entry(name)
	if err != nil {
		return -1, err
	}
	fd, err := openatNoAtime(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return fd, nil
}

// Xattr returns the extended attribute attr of the entry name, not
// following it; an attribute that is not set (or a filesystem without
// them) gives (nil, nil). buf, when big enough, is used for the value.
func (d *Dir) Xattr(name, attr string, buf []byte) ([]byte, error) {
	p, err := d.entry(name)
	if err != nil {
		return nil, err
	}
	if len(buf) == 0 {
		buf = make([]byte, 256)
	}
	// The directory's descriptor, seen through procfs, is the confined
	// directory itself; the name's last (and only) element is not followed.
	at := fmt.Sprintf("/proc/self/fd/%d/%s", d.fd, name)
	for {
		n, err := unix.Lgetxattr(at, attr, buf)
		switch {
		case errors.Is(err, unix.ERANGE) && len(buf) < 64<<10:
			buf = make([]byte, 64<<10)
			continue
		case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP):
			return nil, nil
		case err != nil:
			return nil, &fs.PathError{Op: "getxattr", Path: p, Err: err}
		}
		return buf[:n], nil
	}
}

// DirEntry is one name of a directory listing, with the inode number and
// type the directory itself records (no stat is made to learn them).
type DirEntry struct {
	Name string
	Ino  uint64
	Type uint8 // unix.DT_REG, unix.DT_DIR, …; unix.DT_UNKNOWN where the filesystem does not say
}

// Entries lists the directory, in the order the filesystem returns, "."
// and ".." left out. The inode numbers let a caller visit the entries in
// the order their inodes lie on disk.
func (d *Dir) Entries() ([]DirEntry, error) {
	fd, err := openatNoAtime(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.name, Err: err}
	}
	defer unix.Close(fd)
	var out []DirEntry
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: err}
		}
		if n <= 0 {
			return out, nil
		}
		out = parseDirents(buf[:n], out)
	}
}

// parseDirents appends the entries of a getdents64 buffer to out.
func parseDirents(b []byte, out []DirEntry) []DirEntry {
	const nameOff = int(unsafe.Offsetof(unix.Dirent{}.Name))
	for len(b) >= nameOff {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < nameOff || reclen > len(b) {
			break // a malformed record: the kernel never writes one
		}
		ino := binary.NativeEndian.Uint64(b[0:8])
		typ := b[18]
		name := b[nameOff:reclen]
		if i := indexZero(name); i >= 0 {
			name = name[:i]
		}
		if s := string(name); s != "." && s != ".." && ino != 0 {
			out = append(out, DirEntry{Name: s, Ino: ino, Type: typ})
		}
		b = b[reclen:]
	}
	return out
}

func indexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// openatNoAtime is unix.Openat for reading a target's file or directory
// (flags without O_NOATIME), with O_NOATIME where permitted, as Open; an
// interrupted open is retried.
func openatNoAtime(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := noAtime(func(noatime int) (int, error) { return unix.Openat(dirfd, name, flags|noatime, 0) })
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}
