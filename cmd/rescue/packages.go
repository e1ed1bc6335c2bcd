package main

import (
	"github.com/spf13/cobra"

	"rescue/pkgdb"
)

// openPackages opens a target's package database (rpm or dpkg).
var openPackages = pkgdb.Open

// packageCommands is verify.
func (a *app) packageCommands() []*cobra.Command { return nil }
