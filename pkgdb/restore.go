package pkgdb

import (
	"archive/tar"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"rescue/dpkg"
	"rescue/rpmdb"
	"rescue/sysroot"
)

// CacheDirs are the target's own package caches, searched after the
// directories given with --packages.
var CacheDirs = []string{"/var/cache/dnf", "/var/cache/yum", "/var/cache/zypp/packages", "/var/cache/apt/archives"}

// Restored is an entry of a package (a regular file, a symlink, a
// directory, a device node or a FIFO) as its package installs it, checked
// against the package database.
type Restored struct {
	File    File    // the database's record of the entry
	Package Package // the installed package it belongs to
	// Type is the entry's type: 0 for a regular file, else fs.ModeSymlink,
	// fs.ModeDir, fs.ModeDevice (block), fs.ModeDevice|fs.ModeCharDevice
	// or fs.ModeNamedPipe.
	Type fs.FileMode
	Data []byte      // the content of a regular file
	Mode fs.FileMode // permission bits with setuid, setgid and sticky
	UID  int
	GID  int
	// LinkTarget is a symlink's target; Major and Minor a device's.
	LinkTarget   string
	Major, Minor uint32
	// HardLinks are the other paths of the package that are the same
	// file (hard links), for a restore that links to a surviving one.
	HardLinks []string
	// Caps is the security.capability value the file gets (rpm records
	// file capabilities), nil for none.
	Caps []byte
	// MTime is the modification time the package gives the file (Unix
	// seconds), 0 when unknown.
	MTime int64
	// From names the package file it came from: a host path for
	// --packages, "target:/var/cache/…" for the target's cache, the
	// database itself for what rpm records whole (symlinks, directories,
	// devices), or a URL.
	From string
	// Checks say what was verified, in words, for the plan: "md5
	// 0f3a… recorded by dpkg", "link target from the package (dpkg
	// records none)".
	Checks []string
}

// IsSymlink and the others name the entry's type.
func (r *Restored) IsSymlink() bool { return r.Type&fs.ModeSymlink != 0 }

// IsDir reports whether the entry is a directory.
func (r *Restored) IsDir() bool { return r.Type&fs.ModeDir != 0 }

// IsNode reports whether the entry is a device node or a FIFO.
func (r *Restored) IsNode() bool { return r.Type&(fs.ModeDevice|fs.ModeNamedPipe) != 0 }

// IsRegular reports whether the entry is a regular file.
func (r *Restored) IsRegular() bool { return r.Type == 0 }

// What names the entry's kind for messages: "the symlink", "the directory".
func (r *Restored) What() string {
	switch {
	case r.IsSymlink():
		return "the symlink"
	case r.IsDir():
		return "the directory"
	case r.Type&fs.ModeNamedPipe != 0:
		return "the FIFO"
	case r.IsNode():
		return "the device node"
	}
	return ""
}

// MissingPackageError says that no package file to restore from was found,
// and which package to fetch.
type MissingPackageError struct {
	Path     string
	Package  Package
	Kind     string
	Searched []string
	// Fetch is why the repositories did not provide it (nil when no
	// repository was asked).
	Fetch error
}

func (e *MissingPackageError) Error() string {
	where := "no directory given with --packages and no package cache in the target"
	if len(e.Searched) > 0 {
		where = "searched " + strings.Join(e.Searched, ", ")
	}
	msg := fmt.Sprintf("no package file of %s to restore %s from (%s)", e.Package, e.Path, where)
	if e.Fetch != nil {
		msg += "; " + e.Fetch.Error()
	}
	return msg + fmt.Sprintf("; fetch it (%s) and give its directory with --packages", e.FetchHint())
}

func (e *MissingPackageError) Unwrap() error { return e.Fetch }

// FetchHint is the command that downloads the exact package on a machine
// with the same distribution.
func (e *MissingPackageError) FetchHint() string {
	if e.Kind == "dpkg" {
		return "apt-get download " + e.Package.String()
	}
	return "dnf download " + e.Package.String() + " (or yumdownloader)"
}

// Fetcher gets package files from repositories: the last source a
// Restorer tries, after --packages and the target's own caches.
type Fetcher interface {
	// Fetch returns the package file of exactly pkg, verified against
	// repository metadata. A Fetched without a Path was only resolved
	// (a dry run: where it would come from, nothing downloaded).
	Fetch(ctx context.Context, pkg Package) (*Fetched, error)
}

// Fetched is a package file a Fetcher found.
type Fetched struct {
	Path   string // host path of the verified file; "" when only resolved
	URL    string
	Size   int64
	Checks []string // what was verified on the way, in words
}

// PendingFetchError is returned by Restore when the package was resolved
// in a repository but not downloaded (a dry run): what the entry is, and
// its content, are known only once it is fetched.
type PendingFetchError struct {
	Path    string
	File    File
	Package Package
	Fetched *Fetched
}

func (e *PendingFetchError) Error() string {
	return fmt.Sprintf("%s: %s is to be fetched from %s", e.Path, e.Package, e.Fetched.URL)
}

// Restorer finds package files and extracts single files from them.
type Restorer struct {
	root  *sysroot.Root
	db    DB
	dirs  []string // host directories (--packages)
	ids   *IDs
	fetch Fetcher // repositories, or nil

	once  sync.Once
	files []pkgFile // candidate package files, in search order
}

type pkgFile struct {
	name   string // base name
	host   string // host path, or ""
	target string // target path, or ""
}

func (p pkgFile) String() string {
	if p.host != "" {
		return p.host
	}
	return "target:" + p.target
}

// NewRestorer returns a Restorer for a target, searching dirs (host
// directories of .rpm/.deb files), then the target's package caches, then
// (when fetch is not nil) the repositories.
func NewRestorer(root *sysroot.Root, db DB, dirs []string, fetch Fetcher) *Restorer {
	return &Restorer{root: root, db: db, dirs: dirs, ids: LoadIDs(root), fetch: fetch}
}

// scan lists every package file in the search directories once.
func (r *Restorer) scan() {
	ext := ".rpm"
	if r.db.Kind() == "dpkg" {
		ext = ".deb"
	}
	for _, d := range r.dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() && strings.HasSuffix(e.Name(), ext) {
				r.files = append(r.files, pkgFile{name: e.Name(), host: p})
			}
			return nil
		})
	}
	if r.root == nil {
		return
	}
	for _, d := range CacheDirs {
		var found []pkgFile
		r.root.Walk(d, func(p string, fi fs.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() && strings.HasSuffix(fi.Name(), ext) {
				found = append(found, pkgFile{name: fi.Name(), target: p})
			}
			return nil
		})
		sort.Slice(found, func(i, j int) bool { return found[i].target < found[j].target })
		r.files = append(r.files, found...)
	}
}

// searched lists where scan looked, for messages.
func (r *Restorer) searched() []string {
	out := append([]string(nil), r.dirs...)
	if r.root != nil {
		for _, d := range CacheDirs {
			if r.root.Exists(d) {
				out = append(out, "target:"+d)
			}
		}
	}
	return out
}

func (r *Restorer) open(pf pkgFile) (*os.File, error) {
	if pf.host != "" {
		return os.Open(pf.host)
	}
	return r.root.Open(pf.target)
}

// Restore returns the entry at path (target-absolute) as the package that
// owns it installs it, checked against the database: what rpm records
// whole (symlinks with their targets, directories, device nodes) comes
// from the database itself; regular files, and everything of a dpkg
// package (dpkg records no types), come from a package file.
func (r *Restorer) Restore(p string) (*Restored, error) {
	p = sysroot.Clean(p)
	owners := r.db.Owners(p)
	if len(owners) == 0 {
		return nil, fmt.Errorf("%s belongs to no installed package", p)
	}
	var errs []error
	var missing *MissingPackageError
	for _, f := range owners {
		switch f.State {
		case StateNotInstalled, StateNetShared, StateWrongColor, StateReplaced:
			continue
		}
		pkg, ok := r.packageOf(f)
		if !ok {
			continue
		}
		if res, ok := r.fromDatabase(f, pkg); ok {
			return res, nil
		}
		r.once.Do(r.scan)
		res, err := r.restoreFrom(p, f, pkg)
		if err == nil {
			return res, nil
		}
		var m *MissingPackageError
		if errors.As(err, &m) {
			if missing == nil {
				missing = m
			}
			continue
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if missing != nil {
		return nil, missing
	}
	return nil, fmt.Errorf("%s: no owning package records it as installed", p)
}

// fromDatabase restores what rpm's database describes completely: a
// symlink (type, target, owner), a directory (mode, owner) or a device
// node (type, numbers, mode, owner). Regular files need their content,
// and dpkg records no file types.
func (r *Restorer) fromDatabase(f File, pkg Package) (*Restored, bool) {
	if r.db.Kind() != "rpm" || f.Mode == 0 || f.Mode.IsRegular() {
		return nil, false
	}
	res := &Restored{File: f, Package: pkg, Type: f.Mode.Type(), Mode: permBits(f.Mode), From: "the rpm database"}
	if res.IsSymlink() && f.LinkTarget == "" {
		return nil, false
	}
	res.LinkTarget = f.LinkTarget
	if res.IsNode() {
		res.Major, res.Minor = unixMajor(f.Rdev), unixMinor(f.Rdev)
	}
	res.UID, res.GID = r.rpmOwner(f)
	res.MTime = f.MTime
	res.Checks = []string{fmt.Sprintf("type, mode and owner%s as rpm's database records them for %s", map[bool]string{true: ", link target"}[res.IsSymlink()], pkg)}
	return res, true
}

// rpmOwner maps a record's owner names through the target's accounts; rpm
// installs files of an unknown user or group as root.
func (r *Restorer) rpmOwner(f File) (int, int) {
	uid, _ := r.ids.UID(f.User)
	gid, _ := r.ids.GID(f.Group)
	return max(uid, 0), max(gid, 0)
}

func permBits(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// unixMajor and unixMinor split rpm's 16-bit device number (the old
// encoding: major in the high byte, minor in the low one).
func unixMajor(rdev uint32) uint32 { return (rdev >> 8) & 0xff }
func unixMinor(rdev uint32) uint32 { return rdev & 0xff }

// tarMode turns a tar header's mode bits into permission bits.
func tarMode(m int64) fs.FileMode {
	out := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		out |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		out |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		out |= fs.ModeSticky
	}
	return out
}

// packageOf finds the Package record of a file's package.
func (r *Restorer) packageOf(f File) (Package, bool) {
	for _, p := range r.db.Packages() {
		if p.Name == f.Package && p.Version == f.Version && p.Arch == f.Arch {
			return p, true
		}
	}
	return Package{}, false
}

func (r *Restorer) restoreFrom(p string, f File, pkg Package) (*Restored, error) {
	kind := r.db.Kind()
	var mismatch []error
	for _, pf := range r.candidates(pkg, kind) {
		res, err := r.tryFile(pf, p, f, pkg, kind)
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, errNotThisPackage) {
			mismatch = append(mismatch, fmt.Errorf("%s: %w", pf, err))
		}
	}
	if len(mismatch) > 0 {
		return nil, fmt.Errorf("restoring %s from %s: %w", p, pkg, errors.Join(mismatch...))
	}
	missing := &MissingPackageError{Path: p, Package: pkg, Kind: kind, Searched: r.searched()}
	if r.fetch == nil {
		return nil, missing
	}
	fetched, err := r.fetch.Fetch(context.Background(), pkg)
	if err != nil {
		missing.Fetch = err
		return nil, missing
	}
	if fetched.Path == "" {
		return nil, &PendingFetchError{Path: p, File: f, Package: pkg, Fetched: fetched}
	}
	fh, err := os.Open(fetched.Path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	res, err := r.extract(fh, st.Size(), fetched.URL, f, pkg)
	if errors.Is(err, errNotThisPackage) {
		return nil, fmt.Errorf("restoring %s: %s is not %s", p, fetched.URL, pkg)
	}
	if err != nil {
		return nil, fmt.Errorf("restoring %s from %s: %w", p, fetched.URL, err)
	}
	res.Checks = append(append([]string{}, fetched.Checks...), res.Checks...)
	return res, nil
}

var errNotThisPackage = errors.New("a different package")

// candidates orders the package files by how likely they hold pkg: the
// conventional file name first, then any file starting with the name.
func (r *Restorer) candidates(pkg Package, kind string) []pkgFile {
	var exact, prefix []pkgFile
	var want, start string
	if kind == "dpkg" {
		v := strings.ReplaceAll(pkg.Version, ":", "%3a")
		want = pkg.Name + "_" + v + "_" + pkg.Arch + ".deb"
		start = pkg.Name + "_"
	} else {
		want = pkg.ID + ".rpm"
		start = pkg.Name + "-"
	}
	for _, f := range r.files {
		switch {
		case f.name == want:
			exact = append(exact, f)
		case strings.HasPrefix(f.name, start):
			prefix = append(prefix, f)
		}
	}
	return append(exact, prefix...)
}

func (r *Restorer) tryFile(pf pkgFile, p string, f File, pkg Package, kind string) (*Restored, error) {
	fh, err := r.open(pf)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	return r.extract(fh, st.Size(), pf.String(), f, pkg)
}

// extract reads the entry of f from a package file (an .rpm or a .deb of
// pkg) and checks it against the database record. errNotThisPackage means
// the file is another package or version.
func (r *Restorer) extract(fh io.ReaderAt, size int64, from string, f File, pkg Package) (*Restored, error) {
	res := &Restored{File: f, Package: pkg, From: from}
	inPkg := f.Path
	if f.PackagePath != "" {
		inPkg = f.PackagePath
	}
	if r.db.Kind() == "dpkg" {
		if err := r.extractDeb(fh, size, inPkg, res); err != nil {
			return nil, err
		}
	} else if err := r.extractRPM(fh, size, inPkg, res); err != nil {
		return nil, err
	}
	if res.IsRegular() {
		if f.Digest != "" {
			h := NewHash(f.DigestAlgo)
			if h == nil {
				return nil, fmt.Errorf("unknown digest algorithm %q in the database", f.DigestAlgo)
			}
			h.Write(res.Data)
			if got := hex.EncodeToString(h.Sum(nil)); got != f.Digest {
				return nil, fmt.Errorf("its %s has %s %s, the database records %s: the package file does not match the installed package", inPkg, f.DigestAlgo, got, f.Digest)
			}
			res.Checks = append(res.Checks, fmt.Sprintf("%s %s recorded by %s", f.DigestAlgo, f.Digest, r.db.Kind()))
		} else if f.Flags&Ghost == 0 {
			res.Checks = append(res.Checks, fmt.Sprintf("content from %s (%s records no digest for it)", pkg, r.db.Kind()))
		}
		if f.Size >= 0 && int64(len(res.Data)) != f.Size {
			return nil, fmt.Errorf("its %s has %d bytes, the database records %d", inPkg, len(res.Data), f.Size)
		}
	} else if f.Digest != "" {
		return nil, fmt.Errorf("its %s is not a regular file, but the database records a digest for it", inPkg)
	}
	// A statoverride is what dpkg itself applies after unpacking.
	if f.Mode != 0 && r.db.Kind() == "dpkg" {
		res.Mode = permBits(f.Mode)
		if uid, ok := r.ids.UID(f.User); ok {
			res.UID = uid
		}
		if gid, ok := r.ids.GID(f.Group); ok {
			res.GID = gid
		}
		res.Checks = append(res.Checks, fmt.Sprintf("mode and owner from dpkg-statoverride (%s %s:%s)", f.Mode.Perm(), f.User, f.Group))
	}
	return res, nil
}

// extractDeb reads an entry of a .deb: any type, with the owner names of
// its tar header mapped through the target's accounts (dpkg falls back to
// the numbers for names the target lacks).
func (r *Restorer) extractDeb(fh io.ReaderAt, size int64, inPkg string, res *Restored) error {
	pkg := res.Package
	deb, err := dpkg.OpenDeb(fh, size)
	if err != nil {
		return err
	}
	if deb.Name != pkg.Name || deb.Version != pkg.Version || (deb.Architecture != pkg.Arch && pkg.Arch != "") {
		return errNotThisPackage
	}
	e, err := deb.Lookup(inPkg)
	if err != nil {
		return err
	}
	switch e.Type {
	case tar.TypeReg:
	case tar.TypeLink:
		res.HardLinks = []string{e.LinkedFrom}
	case tar.TypeSymlink:
		res.Type, res.LinkTarget = fs.ModeSymlink, e.Linkname
		res.Checks = append(res.Checks, fmt.Sprintf("link target from the package %s_%s_%s itself (dpkg records no link targets)", deb.Name, deb.Version, deb.Architecture))
	case tar.TypeDir:
		res.Type = fs.ModeDir
	case tar.TypeChar:
		res.Type = fs.ModeDevice | fs.ModeCharDevice
	case tar.TypeBlock:
		res.Type = fs.ModeDevice
	case tar.TypeFifo:
		res.Type = fs.ModeNamedPipe
	}
	res.Data = e.Data
	res.Major, res.Minor = uint32(e.Devmajor), uint32(e.Devminor)
	res.Mode = tarMode(e.Mode)
	res.UID, res.GID = e.UID, e.GID
	if uid, ok := r.ids.UID(e.Uname); ok && e.Uname != "" {
		res.UID = uid
	}
	if gid, ok := r.ids.GID(e.Gname); ok && e.Gname != "" {
		res.GID = gid
	}
	res.MTime = e.MTime
	return nil
}

// extractRPM reads an entry of an .rpm: the content from the payload,
// everything else from the package's header, which must agree with the
// database's record.
func (r *Restorer) extractRPM(fh io.ReaderAt, size int64, inPkg string, res *Restored) error {
	pkg, f := res.Package, res.File
	rp, err := rpmdb.ReadPackageFile(fh, size)
	if err != nil {
		return err
	}
	if rp.Package.Name != pkg.Name || rp.Package.EVR() != pkg.Version || rp.Package.Arch != pkg.Arch {
		return errNotThisPackage
	}
	idx := -1
	for i := range rp.Package.NumFiles() {
		if rp.Package.Path(i) == inPkg {
			idx = i
			break
		}
	}
	if idx < 0 {
		return fmt.Errorf("%s: %w of %s", inPkg, rpmdb.ErrNotInPackage, rp.Package.NVRA())
	}
	pf := rp.Package.File(idx)
	mode := sysroot.FileMode(uint32(pf.Mode))
	if f.Mode != 0 && mode.Type() != f.Mode.Type() {
		return fmt.Errorf("its %s is a %v, the database records a %v", inPkg, mode.Type(), f.Mode.Type())
	}
	res.Type = mode.Type()
	if res.IsRegular() {
		if res.Data, err = rp.Extract(inPkg); err != nil {
			return err
		}
		// Hard links share an inode number in the header.
		if pf.Inode != 0 {
			for i := range rp.Package.NumFiles() {
				if o := rp.Package.File(i); i != idx && o.Inode == pf.Inode && o.IsRegular() {
					res.HardLinks = append(res.HardLinks, o.Path)
				}
			}
		}
	}
	res.LinkTarget = f.LinkTarget
	res.Major, res.Minor = unixMajor(f.Rdev), unixMinor(f.Rdev)
	res.Mode = permBits(f.Mode)
	res.UID, res.GID = r.rpmOwner(f)
	res.MTime = f.MTime
	if f.Caps != "" {
		caps, err := capXattrOf(f.Caps)
		if err != nil {
			return fmt.Errorf("the database's capabilities %q of %s: %w", f.Caps, f.Path, err)
		}
		res.Caps = caps
		res.Checks = append(res.Checks, "file capabilities "+f.Caps+" as rpm records them")
	}
	return nil
}
