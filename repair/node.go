package repair

import (
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

// nodeOfState is the node a State of an Other describes, for undo to
// re-create it with Writer.Mknod.
func nodeOfState(st State) *Node {
	return &Node{Type: st.Node, Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev)}
}
