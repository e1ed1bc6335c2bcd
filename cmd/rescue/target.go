package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"rescue/checks"
	"rescue/facts"
	"rescue/parse/blkid"
	"rescue/pkgrepo"
	"rescue/report"
	"rescue/sysroot"
)

// targetOptions are the flags of every command that takes a TARGET.
type targetOptions struct {
	devicesFile string   // --devices: a blkid listing of the disk's filesystems
	rootDevice  string   // --root-device: which of them holds the root
	packages    []string // --packages: directories of .rpm/.deb files
	// For a device or image (disk.go): --root-partition, and fix's
	// --allow-fsck and --allow-fsck-zero-log.
	rootPartition string
	allowFsck     bool
	allowZeroLog  bool
}

func (o *targetOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.devicesFile, "devices", "", "read the disk's filesystems from `FILE` (output of blkid or blkid -o export) instead of asking the helper")
	f.StringVar(&o.rootDevice, "root-device", "", "the `DEVICE` in the --devices list that holds the target root")
	f.StringVar(&o.rootPartition, "root-partition", "", "for a DEVICE or IMAGE: the `PARTITION` holding the root (a number, name, UUID, label or VG/LV), when rescue cannot tell")
}

// addPackagesFlag adds --packages to the commands it does something for:
// fix restores damaged files from the packages, and scan, which plans the
// same fixes, shows those restores among the fixes it offers.
func (o *targetOptions) addPackagesFlag(cmd *cobra.Command, usage string) {
	cmd.Flags().StringArrayVar(&o.packages, "packages", nil, usage)
}

// target is an opened target root.
type target struct {
	root    *sysroot.Root
	opt     targetOptions
	info    report.Target
	devices *facts.Devices
	// location names the device, partition and filesystem a target path
	// is on, for findings; nil for a plain directory.
	location func(path string) string
	// filesystems are what the disk layer found (nil for a directory).
	filesystems []facts.Filesystem
	// repos says how restores may use the target's repositories: only
	// name them (scan), resolve (fix) or download (fix --apply).
	repos   *pkgrepo.Options
	closers []func() error
}

func (t *target) Close() error {
	var errs []error
	if t.root != nil {
		errs = append(errs, t.root.Close())
	}
	for i := len(t.closers) - 1; i >= 0; i-- {
		errs = append(errs, t.closers[i]())
	}
	return errors.Join(errs...)
}

// openTarget opens TARGET: a directory holding a root, a block device, an
// image file, or disk:ID (a cloud disk by its id).
func (a *app) openTarget(ctx context.Context, arg string, opt targetOptions, writable bool) (*target, error) {
	arg, err := resolveTarget(arg)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, fmt.Errorf("opening target: %w", err)
	}
	if !fi.IsDir() {
		if openDisk == nil {
			return nil, withHint(fmt.Errorf("%s is not a directory", arg), "mount the disk and give the mount point")
		}
		return openDisk(ctx, a, arg, opt, writable)
	}
	root, err := sysroot.Open(arg)
	if err != nil {
		return nil, err
	}
	t := &target{root: root, opt: opt, info: report.Target{Path: root.HostPath()}}
	if t.devices, err = a.devicesFor(root.HostPath(), opt); err != nil {
		root.Close()
		return nil, err
	}
	return t, nil
}

// devicesFor builds the device list of a directory target: from --devices
// when given, else from the helper's blkid, with the root found through the
// helper's mount table.
func (a *app) devicesFor(dir string, opt targetOptions) (*facts.Devices, error) {
	if opt.devicesFile == "" {
		if opt.rootDevice != "" {
			return nil, usagef("--root-device needs --devices")
		}
		d := facts.HostDevices(dir)
		if d != nil {
			a.log.Info("block devices from the helper's blkid", "count", len(d.List), "root", d.Root)
		}
		return d, nil
	}
	data, err := os.ReadFile(opt.devicesFile)
	if err != nil {
		return nil, fmt.Errorf("reading --devices: %w", err)
	}
	list, err := blkid.Parse(data)
	if err != nil {
		return nil, err
	}
	d := &facts.Devices{Source: "file", List: list}
	if opt.rootDevice != "" {
		for i := range d.List {
			if d.List[i].Path == opt.rootDevice {
				d.Root = &d.List[i]
			}
		}
		if d.Root == nil {
			return nil, usagef("--root-device %s is not in %s", opt.rootDevice, opt.devicesFile)
		}
	}
	return d, nil
}

// scanTarget runs checks on an opened target, with progress on a terminal.
func (a *app) scanTarget(ctx context.Context, t *target, list []*checks.Check, memory int64, machine *facts.Machine) (*checks.Result, *facts.Facts) {
	show, done := a.progress()
	var repos *pkgrepo.Options
	if t.repos != nil {
		o := *t.repos
		o.Log = a.log
		o.Progress = func(what string, n, total int64) {
			if total > 0 {
				show("fetching %s: %s of %s", what, humanBytes(n), humanBytes(total))
			} else {
				show("fetching %s: %s", what, humanBytes(n))
			}
		}
		repos = &o
	}
	f := facts.New(t.root, facts.Options{Devices: t.devices, Memory: memory, Machine: machine, OpenPackages: openPackages, PackageDirs: t.opt.packages, Filesystems: t.filesystems, Repos: repos, Context: ctx})
	// The line names the check running and what was read so far; a
	// ticker redraws it while a long check (a walk of /usr) runs.
	began := time.Now()
	var mu sync.Mutex
	current := ""
	line := func() {
		mu.Lock()
		name := current
		mu.Unlock()
		files, bytes := t.root.ReadStats()
		rate := float64(bytes) / max(time.Since(began).Seconds(), 1e-3)
		show("checking %s: %d files, %s read, %s/s", name, files, humanBytes(bytes), humanBytes(int64(rate)))
	}
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				line()
			}
		}
	}()
	res := checks.Run(ctx, t.root, f, list, func(name string, i, n int) {
		mu.Lock()
		current = fmt.Sprintf("%s (%d/%d)", name, i+1, n)
		mu.Unlock()
		line()
	})
	close(stop)
	<-ticked
	done()
	if t.location != nil {
		for i := range res.Findings {
			if res.Findings[i].Path != "" {
				res.Findings[i].Location = t.location(res.Findings[i].Path)
			}
		}
	}
	return res, f
}
