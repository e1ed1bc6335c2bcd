// Package clouddisk serves a disk image as a file whose reads behave like a
// network block device of a cloud provider: every request waits a fixed
// latency, and no more than a set number of operations per second are
// served however many are in flight. Attached through a loop device with
// direct I/O and mounted, it is the freshly attached data disk a rescue
// really runs on, for benchmarks: the kernel's own filesystem decides which
// blocks a tool's reads need, and each of those costs what it would cost
// on the cloud.
//
// The model, in the units providers publish: a request of up to IOSize
// bytes counts as one operation (larger ones as several), operations are
// served at most IOPS per second, and each one completes Latency after it
// is served. A tool that keeps one request in flight is bound by the
// latency (1/Latency requests per second); one that keeps many in flight
// is bound by the IOPS cap. Writes cost the same as reads.
package clouddisk

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// Model is how the disk behaves.
type Model struct {
	// Latency is the time every request takes once it is served.
	Latency time.Duration
	// IOPS caps the operations served per second; 0 means no cap.
	IOPS int
	// IOSize is the largest request counted as one operation (providers
	// count 256 KiB for SSD volumes); 0 means 256 KiB.
	IOSize int
	// QueueDepth is how many requests the kernel may have in flight at
	// once (FUSE's max_background); 0 means 64.
	QueueDepth int
}

// Cloud is the model the benchmarks use by default: a general-purpose
// SSD volume's baseline (1 ms, 3,000 IOPS, 256 KiB per operation).
var Cloud = Model{Latency: time.Millisecond, IOPS: 3000, IOSize: 256 << 10, QueueDepth: 64}

func (m Model) normalized() Model {
	if m.IOSize <= 0 {
		m.IOSize = 256 << 10
	}
	if m.QueueDepth <= 0 {
		m.QueueDepth = 64
	}
	return m
}

// String describes the model for benchmark output.
func (m Model) String() string {
	m = m.normalized()
	iops := "no IOPS cap"
	if m.IOPS > 0 {
		iops = fmt.Sprintf("%d IOPS", m.IOPS)
	}
	return fmt.Sprintf("%v per request, %s, %d KiB per operation, queue depth %d", m.Latency, iops, m.IOSize>>10, m.QueueDepth)
}

// Stats counts what the disk served.
type Stats struct {
	Requests   int64 // read and write requests
	Operations int64 // what the IOPS cap counted
	Bytes      int64
	// MaxInFlight is the most requests the disk held at once.
	MaxInFlight int64
}

// Disk is a served image.
type Disk struct {
	// Path is the served image: open it, or attach it to a loop device.
	Path   string
	model  Model
	dir    string
	server *fuse.Server
	file   *os.File

	mu   sync.Mutex
	next time.Time // when the IOPS cap serves the next operation

	requests, ops, bytes  atomic.Int64
	inFlight, maxInFlight atomic.Int64
}

// Serve makes image available as d.Path, under a fresh FUSE mount in a
// temporary directory, with the model's latency and IOPS cap. It needs root
// (the mount is made with mount(2), without fusermount).
func Serve(image string, m Model) (*Disk, error) {
	m = m.normalized()
	f, err := os.OpenFile(image, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", image, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	dir, err := os.MkdirTemp("", "clouddisk-")
	if err != nil {
		f.Close()
		return nil, err
	}
	d := &Disk{Path: dir + "/disk.img", model: m, dir: dir, file: f}
	root := &fs.Inode{}
	node := &imageNode{d: d, size: st.Size()}
	opts := &fs.Options{
		OnAdd: func(ctx context.Context) {
			ch := root.NewPersistentInode(ctx, node, fs.StableAttr{Ino: 2})
			root.AddChild("disk.img", ch, false)
		},
		MountOptions: fuse.MountOptions{
			FsName:            "clouddisk",
			Name:              "clouddisk",
			DirectMountStrict: true,
			AllowOther:        true,
			MaxBackground:     m.QueueDepth,
			MaxWrite:          512 << 10,
			// The loop device reads with O_DIRECT; asynchronous direct
			// I/O lets it keep many requests in flight, as a real
			// block device does.
			ExtraCapabilities: fuse.CAP_ASYNC_DIO,
		},
	}
	server, err := fs.Mount(dir, root, opts)
	if err != nil {
		f.Close()
		os.Remove(dir)
		return nil, fmt.Errorf("mounting the cloud disk: %w", err)
	}
	d.server = server
	return d, nil
}

// Model returns the model the disk was served with.
func (d *Disk) Model() Model { return d.model }

// Stats returns what was served so far.
func (d *Disk) Stats() Stats {
	return Stats{Requests: d.requests.Load(), Operations: d.ops.Load(), Bytes: d.bytes.Load(), MaxInFlight: d.maxInFlight.Load()}
}

// Close unmounts and releases the image.
func (d *Disk) Close() error {
	err := d.server.Unmount()
	d.file.Close()
	os.Remove(d.dir)
	return err
}

// wait holds a request of n bytes for as long as the model says.
func (d *Disk) wait(n int) {
	ops := max(1, int64(math.Ceil(float64(n)/float64(d.model.IOSize))))
	d.requests.Add(1)
	d.ops.Add(ops)
	d.bytes.Add(int64(n))
	in := d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	for m := d.maxInFlight.Load(); in > m && !d.maxInFlight.CompareAndSwap(m, in); m = d.maxInFlight.Load() {
	}
	served := time.Now()
	if d.model.IOPS > 0 {
		d.mu.Lock()
		if d.next.Before(served) {
			d.next = served
		}
		served = d.next
		d.next = d.next.Add(time.Duration(ops) * time.Second / time.Duration(d.model.IOPS))
		d.mu.Unlock()
	}
	if wait := time.Until(served.Add(d.model.Latency)); wait > 0 {
		time.Sleep(wait)
	}
}

// imageNode is the one file of the mount.
type imageNode struct {
	fs.Inode
	d    *Disk
	size int64
}

var (
	_ fs.NodeGetattrer = (*imageNode)(nil)
	_ fs.NodeOpener    = (*imageNode)(nil)
	_ fs.NodeReader    = (*imageNode)(nil)
	_ fs.NodeWriter    = (*imageNode)(nil)
	_ fs.NodeFsyncer   = (*imageNode)(nil)
)

func (n *imageNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o644
	out.Size = uint64(n.size)
	out.Blocks = uint64(n.size+511) / 512
	return 0
}

// Open keeps no page cache of the image: what a tool reads through a
// buffered loop device is then dropped with the other caches between runs.
func (n *imageNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return nil, 0, 0
}

func (n *imageNode) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= n.size {
		return fuse.ReadResultData(nil), 0
	}
	dest = dest[:min(int64(len(dest)), n.size-off)]
	n.d.wait(len(dest))
	k, err := n.d.file.ReadAt(dest, off)
	if err != nil && !errors.Is(err, os.ErrClosed) && k < len(dest) {
		if k == 0 {
			return nil, syscall.EIO
		}
	}
	return fuse.ReadResultData(dest[:k]), 0
}

func (n *imageNode) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	if off+int64(len(data)) > n.size {
		return 0, syscall.ENOSPC
	}
	n.d.wait(len(data))
	k, err := n.d.file.WriteAt(data, off)
	if err != nil {
		return uint32(k), syscall.EIO
	}
	return uint32(k), 0
}

func (n *imageNode) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	if err := n.d.file.Sync(); err != nil {
		return syscall.EIO
	}
	return 0
}

// DropCaches writes back dirty pages and drops the kernel's page, dentry
// and inode caches (root only): what every benchmark run on a "cold" disk
// starts from.
func DropCaches() error {
	unix.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200); err != nil {
		return fmt.Errorf("dropping the page cache: %w", err)
	}
	return nil
}

// Volume is a filesystem of a served disk, attached through a loop device
// with direct I/O (so that nothing of the image is cached below the
// filesystem) and mounted in a temporary directory.
type Volume struct {
	// Dir is where the filesystem is mounted.
	Dir     string
	loop    string
	options string
}

// Mount attaches the byte range [offset, offset+size) of the disk (size 0:
// to its end) and mounts the filesystem in it with the given mount options
// ("ro", "ro,noload").
func (d *Disk) Mount(offset, size int64, options string) (*Volume, error) {
	args := []string{"-f", "--show", "--direct-io=on", "-o", fmt.Sprint(offset)}
	if size > 0 {
		args = append(args, "--sizelimit", fmt.Sprint(size))
	}
	if strings.Contains(","+options+",", ",ro,") {
		args = append(args, "-r")
	}
	out, err := exec.Command("losetup", append(args, d.Path)...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("losetup %s: %w: %s", d.Path, err, out)
	}
	loop := strings.TrimSpace(string(out))
	dir, err := os.MkdirTemp("", "clouddisk-mnt-")
	if err != nil {
		exec.Command("losetup", "-d", loop).Run()
		return nil, err
	}
	v := &Volume{Dir: dir, loop: loop, options: options}
	if err := v.mount(); err != nil {
		exec.Command("losetup", "-d", loop).Run()
		os.Remove(dir)
		return nil, err
	}
	return v, nil
}

func (v *Volume) mount() error {
	if out, err := exec.Command("mount", "-o", v.options, v.loop, v.Dir).CombinedOutput(); err != nil {
		return fmt.Errorf("mount %s: %w: %s", v.loop, err, out)
	}
	return nil
}

// Cold makes the next reads find nothing cached: the filesystem is
// unmounted (its inodes and pages go with it), every cache dropped, and
// the filesystem mounted again.
func (v *Volume) Cold() error {
	if err := v.unmount(); err != nil {
		return err
	}
	if err := DropCaches(); err != nil {
		return err
	}
	return v.mount()
}

// unmount unmounts the filesystem, waiting a little for a process that
// still has it busy (the last run's children may take a moment to go).
func (v *Volume) unmount() error {
	var err error
	var out []byte
	for range 50 {
		if out, err = exec.Command("umount", v.Dir).CombinedOutput(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	who, _ := exec.Command("fuser", "-vm", v.Dir).CombinedOutput()
	return fmt.Errorf("umount %s: %w: %s%s", v.Dir, err, out, who)
}

// Close unmounts and detaches the volume.
func (v *Volume) Close() error {
	err := v.unmount()
	if e := exec.Command("losetup", "-d", v.loop).Run(); err == nil {
		err = e
	}
	os.Remove(v.Dir)
	return err
}

// ImageOf writes an ext4 image of the tree at dir to out (mkfs.ext4 -d, as
// a real disk would be filled: owners, modes, xattrs and hard links kept),
// sized for the tree with room to spare.
func ImageOf(dir, out string) error {
	used, err := exec.Command("du", "-sb", "--apparent-size", dir).Output()
	if err != nil {
		return fmt.Errorf("du %s: %w", dir, err)
	}
	var bytes int64
	fmt.Sscan(string(used), &bytes)
	files, _ := exec.Command("sh", "-c", "find \"$1\" | wc -l", "sh", dir).Output()
	var n int64
	fmt.Sscan(string(files), &n)
	// Room for the data, a block per small file, inodes and the journal.
	size := (bytes+n*4096)*5/4 + 256<<20
	if o, err := exec.Command("mkfs.ext4", "-q", "-F", "-N", fmt.Sprint(n+n/4+1024), "-d", dir, out, fmt.Sprintf("%dk", size>>10)).CombinedOutput(); err != nil {
		return fmt.Errorf("mkfs.ext4 -d %s: %w: %s", dir, err, o)
	}
	return nil
}
