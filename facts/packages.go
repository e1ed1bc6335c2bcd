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

// packageState caches the restorer (its index of package files) and the
// whole-system verify reports between checks.
type packageState struct {
	restoreOnce sync.Once
	restorer    *pkgdb.Restorer

	mu      sync.Mutex
	reports map[bool]*pkgdb.Report // by fast
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
	f.pkgState.restoreOnce.Do(func() { f.pkgState.restorer = pkgdb.NewRestorer(f.root, db, f.opt.PackageDirs) })
	res, err := f.pkgState.restorer.Restore(path)
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

// PackageVerify compares every installed package's files with the package
// database, once per scan (the report is shared by the checks that ask):
// with fast, metadata only (sizes, modes, owners, links; enough to find
// emptied and missing files), else with digests. The report lists only the
// files that differ. It is (nil, nil) when the target has no package
// database.
func (f *Facts) PackageVerify(fast bool) (*pkgdb.Report, error) {
	db, err := f.Packages()
	if err != nil || db == nil {
		return nil, err
	}
	f.pkgState.mu.Lock()
	defer f.pkgState.mu.Unlock()
	if r, ok := f.pkgState.reports[fast]; ok {
		return r, nil
	}
	if !fast {
		// A full report answers the metadata questions too.
		if r, ok := f.pkgState.reports[false]; ok {
			return r, nil
		}
	}
	r, err := pkgdb.Verify(f.ctx(), f.root, db, pkgdb.VerifyOptions{Fast: fast})
	if err != nil {
		return nil, err
	}
	if f.pkgState.reports == nil {
		f.pkgState.reports = map[bool]*pkgdb.Report{}
	}
	f.pkgState.reports[fast] = r
	return r, nil
}

// VerifyPaths compares the package records of the given paths (found
// through symlinked directories too) with the disk, digests included, and
// returns the records that differ: none means every path that a package
// owns is as the package installed it. A path no package owns yields
// nothing; db.Owners tells those apart.
func (f *Facts) VerifyPaths(paths ...string) ([]pkgdb.Result, error) {
	db, err := f.Packages()
	if err != nil || db == nil {
		return nil, err
	}
	r, err := pkgdb.Verify(f.ctx(), f.root, db, pkgdb.VerifyOptions{Paths: paths})
	if err != nil {
		return nil, err
	}
	return r.Results, nil
}
