// Package session is the order of a rescue run, as values: open a target
// (a directory, a device, an image or disk:ID), read what its last boot
// says, gather facts and scan, plan a repair (the fixes chosen plus the
// policies of the whole plan, such as the SELinux relabel), apply it and
// scan again. Each step returns what the next one takes; the command line
// (cmd/rescue) only parses flags, calls these steps and renders their
// values through report.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"rescue/disk"
	"rescue/facts"
	"rescue/parse/blkid"
	"rescue/report"
	"rescue/sysroot"
)

// OpenOptions say how to open a target.
type OpenOptions struct {
	// DevicesFile is a blkid listing of the disk's filesystems (--devices)
	// and RootDevice the one holding the root (--root-device); for a
	// directory target only.
	DevicesFile string
	RootDevice  string
	// RootPartition names the root of a device or image when rescue
	// cannot tell (--root-partition).
	RootPartition string
	// AllowFsck and AllowZeroLog let a writable disk target's damaged
	// filesystems be checked before mounting.
	AllowFsck    bool
	AllowZeroLog bool
	// Packages are directories of .rpm/.deb files restores may use.
	Packages []string
	// Writable mounts a disk target read-write (fix --apply, undo).
	Writable bool
	Log      *slog.Logger
}

// Target is an opened target root.
type Target struct {
	Root *sysroot.Root
	Info report.Target
	// Devices are the filesystems the target's fstab and boot loader may
	// name (nil when nobody could tell).
	Devices *facts.Devices
	// Location names the device, partition and filesystem a target path
	// is on, for findings; nil for a plain directory.
	Location func(path string) string
	// Filesystems are what the disk layer found (nil for a directory).
	Filesystems []facts.Filesystem
	// Disk is the whole disk as the firmware reads it (nil for a
	// directory).
	Disk *facts.Disk

	packages []string
	log      *slog.Logger
	closers  []func() error
}

// Close unmounts what opening the target mounted. An unmount that failed
// is reported wrapped in ErrUnmount.
func (t *Target) Close() error {
	var errs []error
	if t.Root != nil {
		errs = append(errs, t.Root.Close())
	}
	for i := len(t.closers) - 1; i >= 0; i-- {
		errs = append(errs, t.closers[i]())
	}
	return errors.Join(errs...)
}

func (o *OpenOptions) logger() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// Open opens TARGET: a directory holding a root, a block device, an image
// file, or disk:ID (a cloud disk by its id).
func Open(ctx context.Context, arg string, opt OpenOptions) (*Target, error) {
	arg, err := ResolveTarget(arg)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, fmt.Errorf("opening target: %w", err)
	}
	if !fi.IsDir() {
		return openDisk(ctx, arg, opt)
	}
	root, err := sysroot.Open(arg)
	if err != nil {
		return nil, err
	}
	t := &Target{Root: root, Info: report.Target{Path: root.HostPath()}, packages: opt.Packages, log: opt.logger()}
	if t.Devices, err = devicesFor(root.HostPath(), opt); err != nil {
		root.Close()
		return nil, err
	}
	return t, nil
}

// OpenForVerify opens TARGET for verify. A directory is opened as it is:
// verify needs no block device list, and asking the helper's blkid for one
// would only cost time.
func OpenForVerify(ctx context.Context, arg string, opt OpenOptions) (*Target, error) {
	fi, err := os.Stat(arg)
	if err != nil || !fi.IsDir() || opt.DevicesFile != "" {
		return Open(ctx, arg, opt)
	}
	root, err := sysroot.Open(arg)
	if err != nil {
		return nil, err
	}
	return &Target{Root: root, Info: report.Target{Path: root.HostPath()}, packages: opt.Packages, log: opt.logger()}, nil
}

// devicesFor builds the device list of a directory target: from --devices
// when given, else from the helper's blkid, with the root found through the
// helper's mount table.
func devicesFor(dir string, opt OpenOptions) (*facts.Devices, error) {
	if opt.DevicesFile == "" {
		if opt.RootDevice != "" {
			return nil, Usagef("--root-device needs --devices")
		}
		list, root := disk.HostDevices(dir)
		if list == nil {
			return nil, nil
		}
		d := &facts.Devices{Source: "host", List: list}
		if root >= 0 {
			d.Root = &d.List[root]
		}
		opt.logger().Info("block devices from the helper's blkid", "count", len(d.List), "root", d.Root)
		return d, nil
	}
	data, err := os.ReadFile(opt.DevicesFile)
	if err != nil {
		return nil, fmt.Errorf("reading --devices: %w", err)
	}
	list, err := blkid.Parse(data)
	if err != nil {
		return nil, err
	}
	d := &facts.Devices{Source: "file", List: list}
	if opt.RootDevice != "" {
		for i := range d.List {
			if d.List[i].Path == opt.RootDevice {
				d.Root = &d.List[i]
			}
		}
		if d.Root == nil {
			return nil, Usagef("--root-device %s is not in %s", opt.RootDevice, opt.DevicesFile)
		}
	}
	return d, nil
}

// StateDir is where mount sessions are recorded. RESCUE_STATE_DIR moves
// it (for tests that must not share /run/rescue with anyone).
func StateDir() string {
	if d := os.Getenv("RESCUE_STATE_DIR"); d != "" {
		return d
	}
	return disk.DefaultStateDir
}
