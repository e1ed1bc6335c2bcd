package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"rescue/report"
	"rescue/session"
)

// targetOptions are the flags of every command that takes a TARGET.
type targetOptions struct {
	devicesFile string   // --devices: a blkid listing of the disk's filesystems
	rootDevice  string   // --root-device: which of them holds the root
	packages    []string // --packages: directories of .rpm/.deb files
	// For a device or image: --root-partition, and fix's --allow-fsck and
	// --allow-fsck-zero-log.
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

// open says how session.Open opens the target.
func (o targetOptions) open(a *app, writable bool) session.OpenOptions {
	return session.OpenOptions{DevicesFile: o.devicesFile, RootDevice: o.rootDevice, RootPartition: o.rootPartition,
		AllowFsck: o.allowFsck, AllowZeroLog: o.allowZeroLog, Packages: o.packages, Writable: writable, Log: a.log}
}

// openTarget opens TARGET (session.Open) with the command's flags.
func (a *app) openTarget(ctx context.Context, arg string, opt targetOptions, writable bool) (*session.Target, error) {
	return session.Open(ctx, arg, opt.open(a, writable))
}

// closeTarget closes a target when the command is done with it. Its result
// is out by then; an unmount that failed still makes the exit code 8.
func (a *app) closeTarget(t *session.Target) {
	if err := t.Close(); errors.Is(err, session.ErrUnmount) {
		a.exit = report.ExitError
	}
}
