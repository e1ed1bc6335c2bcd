package ldso

import (
	"io/fs"
	"path"
	"strings"

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
