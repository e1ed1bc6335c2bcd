package restore

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"rescue/checks"
	"rescue/facts/ldso"
	"rescue/pkgdb"
	"rescue/sysroot"
)

// Add offers, as a fix of f, restoring the file at p (in whichever
// spelling the package database records it: /bin/bash or /usr/bin/bash)
// from the package that owns it. When no such fix can be planned it returns an error
// that says what to do instead (naming the package to fetch when the
// database knows it), for the caller to use as NoFix or to follow with
// another fix.
//
// Shared libraries come in pairs: the soname (libnss_files.so.2) is
// usually a symlink to the real file (libnss_files-2.31.so). When the
// package says p is such a symlink, the finding's message says which half
// is gone, and the fix restores exactly that: the symlink alone when its
// file is there, both when both are gone. When p is the real file and a
// symlink still points to it, the message says so too.
func Add(pass *checks.Pass, f *checks.Finding, p string) error {
	db, _ := pass.Facts.Packages()
	owned, _ := ldso.Owned(db, pass.Root, p)
	res, fix, err := Entry(pass, owned)
	if err != nil {
		if real := sonameFile(db, pass.Root, owned); real != "" {
			// dpkg records no file types: only the package file can
			// tell, but the package's other file says enough to guide.
			f.Message += fmt.Sprintf(": %s of the same package is there, so the name is most likely its soname symlink", real)
		}
		return fmt.Errorf("restore %s from its package: %w", owned, err)
	}
	switch {
	case res == nil:
		// To be fetched (a dry run): what the entry is shows then.
		if real := sonameFile(db, pass.Root, owned); real != "" {
			f.Message += fmt.Sprintf(": %s of the same package is there, so the name is most likely its soname symlink", real)
		}
	case res.IsSymlink():
		target := res.LinkTarget
		if !strings.HasPrefix(target, "/") {
			target = path.Join(path.Dir(owned), target)
		}
		if _, err := pass.Root.Stat(target); err == nil {
			f.Message += fmt.Sprintf(": the symlink %s -> %s is gone, the file it points to is there", owned, res.LinkTarget)
			break
		}
		// Both halves are gone: bring back the file too, in the same fix.
		targetOwned, _ := ldso.Owned(db, pass.Root, target)
		tres, tfix, err := Entry(pass, targetOwned)
		if err != nil || !tres.IsRegular() {
			f.Message += fmt.Sprintf(": the symlink %s -> %s is gone, and so is the file it points to", owned, res.LinkTarget)
			break
		}
		f.Message += fmt.Sprintf(": both the symlink %s -> %s and the file it points to are gone", owned, res.LinkTarget)
		fix.Message = fmt.Sprintf("Restore the symlink %s -> %s and the file %s of %s %s", owned, res.LinkTarget, targetOwned, res.Package.Name, res.Package.Version)
		fix.Ops = append(tfix.Ops, fix.Ops...)
	case res.IsRegular():
		if links := linksTo(pass.Root, owned); len(links) > 0 {
			f.Message += fmt.Sprintf(": %s still points to %s, the file itself is gone", strings.Join(links, ", "), path.Base(owned))
		}
	}
	f.Fixes = append(f.Fixes, fix)
	return nil
}

// linksTo lists the symlinks in p's directory that point to p (by its
// base name or its full path), as "name -> target".
func linksTo(root *sysroot.Root, p string) []string {
	if _, err := root.Lstat(p); err == nil {
		return nil // the file is there: not what this is about
	}
	dir := path.Dir(p)
	entries, err := root.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		t, err := root.Readlink(path.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if t == path.Base(p) || sysroot.Clean(path.Join(dir, t)) == p {
			out = append(out, e.Name()+" -> "+t)
		}
	}
	return out
}

// Offer is Add for findings that have no other fix: the error becomes the
// finding's NoFix.
func Offer(pass *checks.Pass, f *checks.Finding, p string) {
	if err := Add(pass, f, p); err != nil && len(f.Fixes) == 0 {
		f.NoFix = err.Error()
	}
}

// sonameFile returns, for a missing soname path (libnss_files.so.2), the
// file of the same package in the same directory that the name usually
// points to (libnss_files-2.31.so, libfoo.so.2.4.0) when it is on disk, or
// "".
func sonameFile(db pkgdb.DB, root *sysroot.Root, p string) string {
	base := path.Base(p)
	i := strings.Index(base, ".so")
	if db == nil || i <= 0 {
		return ""
	}
	stem := base[:i]
	for _, rec := range db.Owners(p) {
		for _, f := range db.Files(rec.Package) {
			b := path.Base(f.Path)
			if path.Dir(f.Path) != path.Dir(p) || b == base || !strings.HasPrefix(b, stem) {
				continue
			}
			rest := b[len(stem):]
			// libnss_files-2.31.so or libfoo.so.2.4.0: a longer
			// version of the same library.
			if !(strings.HasPrefix(rest, "-") && strings.HasSuffix(rest, ".so")) && !strings.HasPrefix(rest, base[i:]+".") {
				continue
			}
			if fi, err := root.Lstat(f.Path); err == nil && fi.Mode().IsRegular() {
				return f.Path
			}
		}
	}
	return ""
}
