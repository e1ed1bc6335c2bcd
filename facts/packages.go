package facts

import (
	"errors"
	"fmt"
	"sync"

	"rescue/pkgdb"
	"rescue/pkgrepo"
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
	repos       *pkgrepo.Repos

	mu      sync.Mutex
	reports map[bool]*pkgdb.Report // by fast
}

// Restored describes the entry at path as the package that owns it
// installs it: its type, mode, owner (by name, through the target's
// accounts), file capabilities, modification time and, for a regular file,
// its bytes, extracted from a package file found with --packages or in the
// target's own package caches and checked against the database's digest.
// It is a description only: checks/internal/restore turns it into a fix.
//
// When no package file is at hand the error is ErrNoPackages, naming the
// exact package and version to fetch when the database knows it. In a dry
// run whose package a repository has (--repo), the error is a
// *pkgdb.PendingFetchError saying what apply will fetch from where; what
// the entry is becomes known then.
func (f *Facts) Restored(path string) (*pkgdb.Restored, error) {
	db, err := f.Packages()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoPackages, err)
	}
	if db == nil {
		return nil, ErrNoPackages
	}
	f.pkgState.restoreOnce.Do(func() {
		var fetch pkgdb.Fetcher
		if f.opt.Repos != nil {
			f.pkgState.repos = pkgrepo.New(f.root, db, f.inner().OS(), *f.opt.Repos)
			fetch = f.pkgState.repos
		}
		f.pkgState.restorer = pkgdb.NewRestorer(f.root, db, f.opt.PackageDirs, fetch)
	})
	res, err := f.pkgState.restorer.Restore(path)
	var missing *pkgdb.MissingPackageError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("%w: %w", ErrNoPackages, err)
	}
	return res, err
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
