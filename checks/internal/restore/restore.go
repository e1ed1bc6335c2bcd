// Package restore is the one way a check plans bringing an entry of the
// target back as its package installs it: a regular file, a symlink, a
// directory, a hard link to a surviving copy, a device node.
//
// What the package says the entry is (its bytes, mode, owner, where the
// package file was found) is a fact of the target: pass.Facts.Restored.
// Turning that description into repair ops, and telling the finding what
// exactly is gone, is the check framework's, and lives here: Entry plans
// the fix, Fix is Entry for callers that need only the fix, and Add and
// Offer attach it to a finding.
package restore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"rescue/checks"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/repair"
	"rescue/sysroot"
)

// Fix plans restoring the entry at path from the package that owns it,
// whatever its type (see Entry).
func Fix(pass *checks.Pass, path string) (repair.Fix, error) {
	_, fix, err := Entry(pass, path)
	return fix, err
}

// Entry plans restoring the entry at path from the package that owns it,
// and returns what the package says the entry is too, for findings that
// say what exactly is missing (the soname symlink, or the library file
// behind it). Each restored entry gets the package's mode, owner, file
// capabilities and modification time, and, on an SELinux target, the label
// the target's policy gives a new file there.
//
// When no package file is at hand the error (facts.ErrNoPackages) names
// the exact package and version to fetch. In a dry run whose package is
// still to be fetched from a repository, the fix is a single fetch op and
// the entry is nil.
func Entry(pass *checks.Pass, path string) (*pkgdb.Restored, repair.Fix, error) {
	res, err := pass.Facts.Restored(path)
	var pending *pkgdb.PendingFetchError
	if errors.As(err, &pending) {
		// A dry run: the package is found in a repository, and apply
		// fetches it; what the entry is becomes known then.
		src := &repair.Source{Package: pending.Package.Name, Version: pending.Package.Version, Arch: pending.Package.Arch,
			From: pending.Fetched.URL, Checks: pending.Fetched.Checks}
		if pending.File.Digest != "" {
			db, _ := pass.Facts.Packages()
			src.Checks = append(slices.Clone(src.Checks), fmt.Sprintf("then %s %s recorded by %s", pending.File.DigestAlgo, pending.File.Digest, db.Kind()))
		}
		fix, err := repair.NewFix(fmt.Sprintf("Restore %s from %s %s, to be fetched from %s", path, pending.Package.Name, pending.Package.Version, pending.Fetched.URL)).
			Add(repair.Fetch(pass.Root, path, src)).Build()
		return nil, fix, err
	}
	if err != nil {
		return nil, repair.Fix{}, err
	}
	fix, err := ops(pass.Root, path, res)
	if err == nil {
		label(pass.Facts, fix.Ops, res)
	}
	return res, fix, err
}

// label gives what the ops create the SELinux label the target's policy
// assigns it, when the target runs SELinux. A file that is replaced keeps
// its own label (the writer copies it).
func label(f *facts.Facts, ops []repair.Op, res *pkgdb.Restored) {
	set := f.RestoreLabels()
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

// ops plans writing a restored entry.
func ops(root *sysroot.Root, path string, res *pkgdb.Restored) (repair.Fix, error) {
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
