package main

import (
	"github.com/spf13/cobra"

	"rescue/pkgdb"
	"rescue/sysroot"
)

// openPackages opens a target's package database; nil until package
// support is built in.
var openPackages func(*sysroot.Root) (pkgdb.DB, error)

// packageCommands is verify.
func (a *app) packageCommands() []*cobra.Command { return nil }
