package facts

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"rescue/pkgdb"
	"rescue/repair"
)

// ErrNoPackages is returned when the target has no package database rescue
// can read, or no package file to restore from. A missing package file is
// also a *pkgdb.MissingPackageError naming the package to fetch.
var ErrNoPackages = errors.New("no package database or package file to restore from")

type restorerState struct {
	once sync.Once
	r    *pkgdb.Restorer
}

// RestoreFix plans restoring the file at path from the package that owns
// it: the file is extracted from a package file (--packages, or the
// target's own package caches), checked against the database's digest, and
// written with the database's mode and owner. When no package file is at
// hand the error names the exact package and version to fetch.
//
// A symlink the database records is re-created with its target, without a
// package file.
func (f *Facts) RestoreFix(path string) (repair.Fix, error) {
	db, err := f.Packages()
	if err != nil {
		return repair.Fix{}, fmt.Errorf("%w: %w", ErrNoPackages, err)
	}
	if db == nil {
		return repair.Fix{}, ErrNoPackages
	}
	for _, o := range db.Owners(path) {
		if o.Mode&fs.ModeSymlink != 0 && o.LinkTarget != "" && o.State == pkgdb.StateNormal {
			op, err := repair.MakeSymlink(f.root, path, o.LinkTarget)
			return repair.NewFix(fmt.Sprintf("Restore the symlink %s -> %s of %s %s", path, o.LinkTarget, o.Package, o.Version)).Add(op, err).Build()
		}
	}
	f.restorer.once.Do(func() { f.restorer.r = pkgdb.NewRestorer(f.root, db, f.opt.PackageDirs) })
	res, err := f.restorer.r.Restore(path)
	if err != nil {
		var missing *pkgdb.MissingPackageError
		if errors.As(err, &missing) {
			return repair.Fix{}, fmt.Errorf("%w: %w", ErrNoPackages, err)
		}
		return repair.Fix{}, err
	}
	op, err := repair.CreateFile(f.root, path, res.Data, repair.ModeOf(res.Mode), res.UID, res.GID)
	if err == nil && res.File.MTime > 0 {
		// rpm records the time and verifies it: restore it too.
		mt := time.Unix(res.File.MTime, 0)
		op.MTime = &mt
	}
	msg := fmt.Sprintf("Restore %s from %s %s (%s)", path, res.File.Package, res.File.Version, res.From)
	return repair.NewFix(msg).Add(op, err).Build()
}
