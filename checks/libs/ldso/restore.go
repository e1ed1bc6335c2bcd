package ldso

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"rescue/checks"
	"rescue/pkgdb"
	"rescue/sysroot"
)

// usrmerge maps the top-level directories that merged-/usr systems make
// symlinks into /usr to their /usr counterparts.
var usrmerge = map[string]string{
	"/bin": "/usr/bin", "/sbin": "/usr/sbin", "/lib": "/usr/lib", "/lib64": "/usr/lib64",
	"/lib32": "/usr/lib32", "/libx32": "/usr/libx32",
}

// Aliases returns p and the other spellings of it that the target's
// merged-/usr symlinks make equivalent (/bin/bash and /usr/bin/bash when
// /bin -> usr/bin). Package databases record one spelling, often the old
// one (dpkg on Debian 12 lists /bin/bash), while a walk reaches the other.
func Aliases(root *sysroot.Root, p string) []string {
	p = sysroot.Clean(p)
	out := []string{p}
	dir := path.Dir(p)
	realDir, err := root.Resolve(dir)
	if err != nil {
		return out
	}
	for short, long := range usrmerge {
		var alt string
		switch {
		case dir == short || strings.HasPrefix(dir, short+"/"):
			alt = long + strings.TrimPrefix(p, short)
		case dir == long || strings.HasPrefix(dir, long+"/"):
			alt = short + strings.TrimPrefix(p, long)
		default:
			continue
		}
		if r, err := root.Resolve(path.Dir(alt)); err == nil && r == realDir {
			out = append(out, alt)
		}
	}
	return out
}

// Owned returns the spelling of p that the package database records and
// its records, or p and nil when no package owns it (or there is no
// database).
func Owned(db pkgdb.DB, root *sysroot.Root, p string) (string, []pkgdb.File) {
	if db == nil {
		return sysroot.Clean(p), nil
	}
	for _, a := range Aliases(root, p) {
		if recs := db.Owners(a); len(recs) > 0 {
			return a, recs
		}
	}
	return sysroot.Clean(p), nil
}

// AddRestore offers, as a fix of f, restoring the file at p from the
// package that owns it. When no such fix can be planned it returns an error
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
func AddRestore(pass *checks.Pass, f *checks.Finding, p string) error {
	db, _ := pass.Facts.Packages()
	owned, _ := Owned(db, pass.Root, p)
	res, fix, err := pass.Facts.RestoreEntry(owned)
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
		targetOwned, _ := Owned(db, pass.Root, target)
		tres, tfix, err := pass.Facts.RestoreEntry(targetOwned)
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

// Restore is AddRestore for findings that have no other fix: the error
// becomes the finding's NoFix.
func Restore(pass *checks.Pass, f *checks.Finding, p string) {
	if err := AddRestore(pass, f, p); err != nil && len(f.Fixes) == 0 {
		f.NoFix = err.Error()
	}
}

// Expected returns where a missing library belongs: the file a dangling
// link of that name points to, else the path a package owns for it in one
// of the search directories when the database knows it, else next to
// libc.so.6, else in the first default directory.
func (l *Loader) Expected(name string, a Arch, db pkgdb.DB) string {
	// A dangling link left where the library was names the file to
	// bring back (libnss_files.so.2 -> libnss_files-2.28.so).
	for _, d := range l.SearchPath(a) {
		p := path.Join(d, name)
		if fi, err := l.root.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return FileOf(l.root, p)
		}
	}
	if db != nil {
		for _, d := range l.SearchPath(a) {
			if p, recs := Owned(db, l.root, path.Join(d, name)); len(recs) > 0 {
				return FileOf(l.root, p)
			}
		}
	}
	if r := l.Find("libc.so.6", a, nil); r.Path != "" {
		return path.Join(path.Dir(r.Path), name)
	}
	return path.Join(DefaultDirs(a)[0], name)
}

// FileOf returns the file a library path really is: the path with the
// symlinks of its last element followed (libtinfo.so.6 -> libtinfo.so.6.4),
// which is what a restore must write. A dangling link gives the missing
// file it points to. The directory part keeps its spelling
// (/lib/x86_64-linux-gnu, as dpkg records it, not /usr/lib/...).
func FileOf(root *sysroot.Root, p string) string {
	if p == "" {
		return p
	}
	cur := sysroot.Clean(p)
	for i := 0; i < 40; i++ {
		fi, err := root.Lstat(cur)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return cur
		}
		target, err := root.Readlink(cur)
		if err != nil {
			return cur
		}
		if !strings.HasPrefix(target, "/") {
			target = path.Join(path.Dir(cur), target)
		}
		cur = sysroot.Clean(target)
	}
	return sysroot.Clean(p)
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
