package facts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"rescue/pkgdb"
	"rescue/pkgrepo"
	"rescue/repair"
	"rescue/sysroot"
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

// RestoreFix plans restoring the entry at path from the package that owns
// it, whatever its type: a regular file (extracted from a package file
// found with --packages or in the target's own package caches, checked
// against the database's digest), a symlink with the target the package
// records, a directory, a hard link to a surviving copy, a device node.
// Each gets the package's mode, owner (by name, through the target's
// accounts), file capabilities and modification time. When no package
// file is at hand the error names the exact package and version to fetch.
func (f *Facts) RestoreFix(path string) (repair.Fix, error) {
	_, fix, err := f.RestoreEntry(path)
	return fix, err
}

// RestoreEntry is RestoreFix that also returns what the package says the
// entry is, for findings that say what exactly is missing (the soname
// symlink, or the library file behind it). In a dry run whose package is
// still to be fetched from a repository, the fix is a single fetch op and
// the entry is nil.
func (f *Facts) RestoreEntry(path string) (*pkgdb.Restored, repair.Fix, error) {
	db, err := f.Packages()
	if err != nil {
		return nil, repair.Fix{}, fmt.Errorf("%w: %w", ErrNoPackages, err)
	}
	if db == nil {
		return nil, repair.Fix{}, ErrNoPackages
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
	var pending *pkgdb.PendingFetchError
	if errors.As(err, &pending) {
		// A dry run: the package is found in a repository, and apply
		// fetches it; what the entry is becomes known then.
		src := &repair.Source{Package: pending.Package.Name, Version: pending.Package.Version, Arch: pending.Package.Arch,
			From: pending.Fetched.URL, Checks: pending.Fetched.Checks}
		if pending.File.Digest != "" {
			src.Checks = append(slices.Clone(src.Checks), fmt.Sprintf("then %s %s recorded by %s", pending.File.DigestAlgo, pending.File.Digest, db.Kind()))
		}
		fix, err := repair.NewFix(fmt.Sprintf("Restore %s from %s %s, to be fetched from %s", path, pending.Package.Name, pending.Package.Version, pending.Fetched.URL)).
			Add(repair.Fetch(f.root, path, src)).Build()
		return nil, fix, err
	}
	if err != nil {
		var missing *pkgdb.MissingPackageError
		if errors.As(err, &missing) {
			return nil, repair.Fix{}, fmt.Errorf("%w: %w", ErrNoPackages, err)
		}
		return nil, repair.Fix{}, err
	}
	fix, err := restoreOps(f.root, path, res)
	if err == nil {
		f.label(fix.Ops, res)
	}
	return res, fix, err
}

// label gives what the ops create the SELinux label the target's policy
// assigns it, when the target runs SELinux. A file that is replaced keeps
// its own label (the writer copies it).
func (f *Facts) label(ops []repair.Op, res *pkgdb.Restored) {
	// The labels are part of building a restore, which the caller asked
	// for as packages: they are not charged to it.
	set := f.inner().SELinuxLabels()
	if set == nil {
		return
	}
	for i := range ops {
		op := &ops[i]
		if op.Expect.Type != repair.Absent || op.Kind == repair.KindLink {
			continue // a hard link shares its sibling's label
		}
		ctx, ok := set.Lookup(op.Path, res.Type)
		if !ok {
			continue
		}
		if op.Xattrs == nil {
			op.Xattrs = map[string][]byte{}
		}
		op.Xattrs["security.selinux"] = append([]byte(ctx), 0)
		if op.Source != nil {
			src := *op.Source
			src.Checks = append(slices.Clone(src.Checks), "SELinux label "+ctx+" from the target's file_contexts")
			op.Source = &src
		}
	}
}

// restoreOps plans writing a restored entry.
func restoreOps(root *sysroot.Root, path string, res *pkgdb.Restored) (repair.Fix, error) {
	src := &repair.Source{Package: res.Package.Name, Version: res.Package.Version, Arch: res.Package.Arch, From: res.From, Checks: res.Checks}
	mode := repair.ModeOf(res.Mode)
	owner := &repair.Owner{UID: res.UID, GID: res.GID}
	var mtime *time.Time
	if res.MTime > 0 {
		// rpm records the time and verifies it: restore it too.
		mt := time.Unix(res.MTime, 0)
		mtime = &mt
	}
	pkg := res.Package.Name + " " + res.Package.Version
	b := repair.NewFix(fmt.Sprintf("Restore %s from %s (%s)", path, pkg, res.From))
	add := func(op repair.Op, err error) {
		if err == nil {
			op.Source = src
		}
		b.Add(op, err)
	}
	switch {
	case res.IsSymlink():
		b = repair.NewFix(fmt.Sprintf("Restore the symlink %s -> %s of %s", path, res.LinkTarget, pkg))
		op, err := repair.MakeSymlink(root, path, res.LinkTarget)
		if err == nil && (res.UID != 0 || res.GID != 0) {
			op.Owner = owner
		}
		add(op, err)
	case res.IsDir():
		b = repair.NewFix(fmt.Sprintf("Restore the directory %s (%s %d:%d) of %s", path, mode, res.UID, res.GID, pkg))
		st, err := repair.ReadState(root, path)
		switch {
		case err != nil:
			add(repair.Op{}, err)
		case st.Type == repair.Dir:
			if st.Mode != mode {
				add(repair.Chmod(root, path, mode))
			}
			if st.UID != res.UID || st.GID != res.GID {
				add(repair.Chown(root, path, res.UID, res.GID))
			}
		default:
			op, err := repair.Mkdir(root, path, mode)
			if err == nil {
				op.Owner = owner
			}
			add(op, err)
		}
	case res.IsNode():
		b = repair.NewFix(fmt.Sprintf("Restore %s %s (%d:%d) of %s", res.What(), path, res.Major, res.Minor, pkg))
		add(repair.Mknod(root, path, res.Type, mode, res.Major, res.Minor, res.UID, res.GID))
	default:
		if sib := intactSibling(root, res); sib != "" {
			b = repair.NewFix(fmt.Sprintf("Restore %s of %s as a hard link to %s, which is intact", path, pkg, sib))
			add(repair.Link(root, path, sib))
			break
		}
		op, err := repair.CreateFile(root, path, res.Data, mode, res.UID, res.GID)
		if err == nil {
			op.MTime = mtime
			if res.Caps != nil {
				op.Xattrs = map[string][]byte{"security.capability": res.Caps}
			}
		}
		add(op, err)
	}
	return b.Build()
}

// intactSibling returns a hard link of the restored file that is on disk
// exactly as the package installs it (content, mode, owner), or "".
func intactSibling(root *sysroot.Root, res *pkgdb.Restored) string {
	for _, h := range res.HardLinks {
		st, err := repair.ReadState(root, h)
		if err != nil || st.Type != repair.File || st.Size != int64(len(res.Data)) {
			continue
		}
		want := sha256.Sum256(res.Data)
		if st.SHA256 == hex.EncodeToString(want[:]) && st.Mode == repair.ModeOf(res.Mode) && st.UID == res.UID && st.GID == res.GID {
			return h
		}
	}
	return ""
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
