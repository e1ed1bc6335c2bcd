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

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Dir is a directory of the target, opened once, through which the entries
// in it are reached by their single names: lstat, readlink, extended
// attributes, open for reading. It is the descriptor-level side of the one
// confinement: the directory is resolved inside the root like every path,
// and an entry name is one component that is never followed when it is a
// symlink, so nothing reached through a Dir lies outside the root. Code
// that looks at many files of one directory (verify looks at every file of
// every package) pays one resolution per directory instead of one per file.
type Dir struct {
	h    *os.File // O_PATH handle
	fd   int
	name string // target-absolute
}

// OpenDir opens the directory name, following symlinks inside the root.
func (r *Root) OpenDir(name string) (*Dir, error) {
	h, ok, err := r.openat2(rel(name), unix.O_PATH|unix.O_DIRECTORY)
	if !ok {
		h, err = pathrs.OpenatInRoot(r.handle, rel(name))
		if err == nil {
			var st unix.Stat_t
			if err = unix.Fstat(int(h.Fd()), &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				err = unix.ENOTDIR
			}
			if err != nil {
				h.Close()
			}
		}
	}
	if err != nil {
		return nil, wrap("open", name, err)
	}
	return &Dir{h: h, fd: int(h.Fd()), name: Clean(name)}, nil
}

// Name is the directory's target-absolute path, as it was opened.
func (d *Dir) Name() string { return d.name }

// Close releases the directory.
func (d *Dir) Close() error { return d.h.Close() }

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

// openatNoAtime opens name relative to dirfd with O_NOATIME where the
// kernel permits it (to the file's owner and to root), and without it
// where it answers EPERM: reading a target's file must not change what the
// disk says about when it was last read.
func openatNoAtime(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_NOATIME, 0)
		if errors.Is(err, unix.EPERM) {
			fd, err = unix.Openat(dirfd, name, flags, 0)
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return fd, err
	}
}
