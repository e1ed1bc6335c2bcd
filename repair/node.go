package repair

import (
	"fmt"
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// nodeOf names the kind of a FIFO, socket or device, and its device number.
func nodeOf(fi fs.FileInfo) (string, uint64) {
	var rdev uint64
	switch s := fi.Sys().(type) {
	case *unix.Stat_t:
		rdev = s.Rdev
	case *syscall.Stat_t:
		rdev = s.Rdev
	}
	switch m := fi.Mode(); {
	case m&fs.ModeNamedPipe != 0:
		return "fifo", 0
	case m&fs.ModeSocket != 0:
		return "socket", 0
	case m&fs.ModeCharDevice != 0:
		return "char", rdev
	case m&fs.ModeDevice != 0:
		return "block", rdev
	}
	return "", 0
}

// Mknod creates the FIFO, socket or device node name with mode and owner,
// for undo to put back one that a repair removed.
func (w *Writer) Mknod(name string, st State) error {
	var typ uint32
	switch st.Node {
	case "fifo":
		typ = unix.S_IFIFO
	case "socket":
		typ = unix.S_IFSOCK
	case "char":
		typ = unix.S_IFCHR
	case "block":
		typ = unix.S_IFBLK
	default:
		return fmt.Errorf("cannot re-create %s: unknown node type %q", name, st.Node)
	}
	d, base, err := w.dir(name)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Mknodat(int(d.Fd()), base, typ|0o600, int(st.Rdev)); err != nil {
		return fmt.Errorf("creating %s %s: %w", st.Node, name, err)
	}
	if err := unix.Fchownat(int(d.Fd()), base, st.UID, st.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting owner of %s: %w", name, err)
	}
	if err := unix.Fchmodat(int(d.Fd()), base, uint32(st.Mode), 0); err != nil {
		return fmt.Errorf("setting mode of %s: %w", name, err)
	}
	return syncDir(d, name)
}
