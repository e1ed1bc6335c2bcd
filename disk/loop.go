package disk

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Loop flags from <linux/loop.h>.
const (
	loFlagsReadOnly  = 1
	loFlagsAutoclear = 4
	loFlagsDirectIO  = 16
)

// Loop is a loop device rescue attached to a byte range of a file or a
// block device. It is attached with the kernel's autoclear flag: the kernel
// detaches it by itself once nothing holds it open any more. While the Loop
// is open it holds the device; a mount of the device holds it too. So a
// crash before the mount leaves nothing behind, and after a mount the loop
// device lives exactly as long as the mount does: unmounting is all the
// cleanup there is.
type Loop struct {
	// Path is the device node, /dev/loopN.
	Path     string
	File     string // the backing file or device
	Offset   int64
	Size     int64
	ReadOnly bool
	dev      *os.File
}

// AttachLoop attaches size bytes of file from offset to a free loop device
// (size 0: to the end). A read-only loop device refuses every write at the
// block layer, which is what a scan uses, so that not even a filesystem
// driver can write to the disk behind rescue's back.
func AttachLoop(file string, offset, size int64, readOnly bool) (*Loop, error) {
	if offset < 0 || size < 0 {
		return nil, fmt.Errorf("attaching %s: negative offset or size", file)
	}
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	back, err := os.OpenFile(file, flag|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("attaching %s to a loop device: %w", file, err)
	}
	defer back.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("attaching %s to a loop device: %w", file, err)
	}
	defer ctl.Close()

	// Direct I/O: the loop device reads the backing file without going
	// through its page cache, so nothing is cached twice, and it keeps
	// many reads in flight (a buffered loop device serves them one at a
	// time, which on an image on network storage is one round trip per
	// read). The kernel falls back to buffered I/O where the backing file
	// or the offset does not allow direct I/O.
	info := unix.LoopInfo64{Offset: uint64(offset), Sizelimit: uint64(size), Flags: loFlagsAutoclear | loFlagsDirectIO}
	if readOnly {
		info.Flags |= loFlagsReadOnly
	}
	copy(info.File_name[:], file)
	// Other programs (and other rescue runs) take loop devices at the same
	// time: a device found free can be taken before it is configured, which
	// shows as EBUSY; then ask for another.
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("finding a free loop device: %w", err)
		}
		path := fmt.Sprintf("/dev/loop%d", n)
		dev, err := openLoopNode(path, n, flag)
		if err != nil {
			return nil, err
		}
		err = configure(dev, back, info)
		if err != nil && !errors.Is(err, unix.EBUSY) && info.Flags&loFlagsDirectIO != 0 {
			// A kernel that refuses direct I/O for this backing file
			// instead of falling back by itself: attach without.
			info.Flags &^= loFlagsDirectIO
			err = configure(dev, back, info)
		}
		if errors.Is(err, unix.EBUSY) {
			dev.Close()
			lastErr = err
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
			continue
		}
		if err != nil {
			dev.Close()
			return nil, fmt.Errorf("configuring %s for %s: %w", path, file, err)
		}
		return &Loop{Path: path, File: file, Offset: offset, Size: size, ReadOnly: readOnly, dev: dev}, nil
	}
	return nil, fmt.Errorf("attaching %s to a loop device: every free device was taken first: %w", file, lastErr)
}

// openLoopNode opens /dev/loopN, creating the node when /dev is not a
// devtmpfs that made it.
func openLoopNode(path string, n, flag int) (*os.File, error) {
	dev, err := os.OpenFile(path, flag|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		if err := unix.Mknod(path, unix.S_IFBLK|0o660, int(unix.Mkdev(7, uint32(n)))); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("creating %s: %w", path, err)
		}
		dev, err = os.OpenFile(path, flag|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return dev, nil
}

// configure binds back to the loop device: LOOP_CONFIGURE (Linux 5.8) in
// one step, else the older LOOP_SET_FD then LOOP_SET_STATUS64.
func configure(dev, back *os.File, info unix.LoopInfo64) error {
	cfg := unix.LoopConfig{Fd: uint32(back.Fd()), Info: info}
	err := unix.IoctlLoopConfigure(int(dev.Fd()), &cfg)
	if err == nil || !(errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY)) {
		return err
	}
	if err := unix.IoctlSetInt(int(dev.Fd()), unix.LOOP_SET_FD, int(back.Fd())); err != nil {
		return err
	}
	if err := unix.IoctlLoopSetStatus64(int(dev.Fd()), &info); err != nil {
		unix.IoctlSetInt(int(dev.Fd()), unix.LOOP_CLR_FD, 0)
		return err
	}
	return nil
}

// Release lets go of the device: from now on it lives as long as something
// else (a mount) holds it, and the kernel detaches it after that.
func (l *Loop) Release() error {
	if l == nil || l.dev == nil {
		return nil
	}
	err := l.dev.Close()
	l.dev = nil
	return err
}

// Detach detaches the device now, or, when something still holds it, as
// soon as that lets go.
func (l *Loop) Detach() error {
	if l == nil || l.dev == nil {
		return nil
	}
	err := unix.IoctlSetInt(int(l.dev.Fd()), unix.LOOP_CLR_FD, 0)
	if errors.Is(err, unix.ENXIO) {
		err = nil // already detached
	}
	if cerr := l.Release(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("detaching %s: %w", l.Path, err)
	}
	return nil
}
