package main

import (
	"context"

	"github.com/spf13/cobra"
)

// openDisk opens a block device or image file as a target: probe, find the
// root, mount it (read-only unless writable). nil until disk support is
// built in.
var openDisk func(ctx context.Context, a *app, path string, opt targetOptions, writable bool) (*target, error)

// diskCommands are probe, mount and umount.
func (a *app) diskCommands() []*cobra.Command { return nil }
