package pkgdb

import (
	"encoding/hex"
	"errors"
	"fmt"
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

// Restored is a file's content and metadata as its package ships it,
// checked against the package database.
type Restored struct {
	File File   // the database's record of the file
	Data []byte // the content (regular files)
	Mode fs.FileMode
	UID  int
	GID  int
	// From names the package file it came from: a host path for
	// --packages, "target:/var/cache/…" for the target's cache.
	From string
}

// MissingPackageError says that no package file to restore from was found,
// and which package to fetch.
type MissingPackageError struct {
	Path     string
	Package  Package
	Kind     string
	Searched []string
}

func (e *MissingPackageError) Error() string {
	where := "no directory given with --packages and no package cache in the target"
	if len(e.Searched) > 0 {
		where = "searched " + strings.Join(e.Searched, ", ")
	}
	return fmt.Sprintf("no package file of %s to restore %s from (%s); fetch it (%s) and give its directory with --packages",
		e.Package, e.Path, where, e.FetchHint())
}

// FetchHint is the command that downloads the exact package on a machine
// with the same distribution.
func (e *MissingPackageError) FetchHint() string {
	if e.Kind == "dpkg" {
		return "apt-get download " + e.Package.String()
	}
	return "dnf download " + e.Package.String() + " (or yumdownloader)"
}

// Restorer finds package files and extracts single files from them.
type Restorer struct {
	root *sysroot.Root
	db   DB
	dirs []string // host directories (--packages)
	ids  *IDs

	once  sync.Once
	files []pkgFile // candidate package files, in search order

	pkgOnce sync.Once
	pkgs    map[[3]string]Package // by name, version, arch
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
// directories of .rpm/.deb files) and then the target's package caches.
func NewRestorer(root *sysroot.Root, db DB, dirs []string) *Restorer {
	return &Restorer{root: root, db: db, dirs: dirs, ids: LoadIDs(root)}
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

// Restore extracts the file at path (target-absolute) from a package file
// of the package that owns it, and checks it against the database.
func (r *Restorer) Restore(p string) (*Restored, error) {
	p = sysroot.Clean(p)
	owners := r.db.Owners(p)
	if len(owners) == 0 {
		return nil, fmt.Errorf("%s belongs to no installed package", p)
	}
	r.once.Do(r.scan)
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

// packageOf finds the Package record of a file's package. The records are
// indexed once: looking through every package for each file made a
// database of many packages with a missing file each quadratic.
func (r *Restorer) packageOf(f File) (Package, bool) {
	r.pkgOnce.Do(func() {
		r.pkgs = map[[3]string]Package{}
		for _, p := range r.db.Packages() {
			k := [3]string{p.Name, p.Version, p.Arch}
			if _, dup := r.pkgs[k]; !dup {
				r.pkgs[k] = p
			}
		}
	})
	p, ok := r.pkgs[[3]string{f.Package, f.Version, f.Arch}]
	return p, ok
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
	return nil, &MissingPackageError{Path: p, Package: pkg, Kind: kind, Searched: r.searched()}
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
	res := &Restored{File: f, From: pf.String()}
	inPkg := f.Path
	if f.PackagePath != "" {
		inPkg = f.PackagePath
	}
	if kind == "dpkg" {
		deb, err := dpkg.OpenDeb(fh, st.Size())
		if err != nil {
			return nil, err
		}
		if deb.Name != pkg.Name || deb.Version != pkg.Version || (deb.Architecture != pkg.Arch && pkg.Arch != "") {
			return nil, errNotThisPackage
		}
		e, err := deb.Extract(inPkg)
		if err != nil {
			return nil, err
		}
		res.Data = e.Data
		res.Mode = fs.FileMode(e.Mode & 0o777)
		if e.Mode&0o4000 != 0 {
			res.Mode |= fs.ModeSetuid
		}
		if e.Mode&0o2000 != 0 {
			res.Mode |= fs.ModeSetgid
		}
		if e.Mode&0o1000 != 0 {
			res.Mode |= fs.ModeSticky
		}
		res.UID, res.GID = e.UID, e.GID
		if uid, ok := r.ids.UID(e.Uname); ok && e.Uname != "" {
			res.UID = uid
		}
		if gid, ok := r.ids.GID(e.Gname); ok && e.Gname != "" {
			res.GID = gid
		}
	} else {
		rp, err := rpmdb.ReadPackageFile(fh, st.Size())
		if err != nil {
			return nil, err
		}
		if rp.Package.Name != pkg.Name || rp.Package.EVR() != pkg.Version || rp.Package.Arch != pkg.Arch {
			return nil, errNotThisPackage
		}
		data, err := rp.Extract(inPkg)
		if err != nil {
			return nil, err
		}
		res.Data = data
		res.Mode = f.Mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		// rpm installs files owned by an unknown user or group as root.
		res.UID, _ = r.ids.UID(f.User)
		res.GID, _ = r.ids.GID(f.Group)
		res.UID, res.GID = max(res.UID, 0), max(res.GID, 0)
	}
	if f.Digest != "" {
		h := NewHash(f.DigestAlgo)
		if h == nil {
			return nil, fmt.Errorf("unknown digest algorithm %q in the database", f.DigestAlgo)
		}
		h.Write(res.Data)
		if got := hex.EncodeToString(h.Sum(nil)); got != f.Digest {
			return nil, fmt.Errorf("its %s has %s %s, the database records %s: the package file does not match the installed package", inPkg, f.DigestAlgo, got, f.Digest)
		}
	}
	if f.Size >= 0 && int64(len(res.Data)) != f.Size {
		return nil, fmt.Errorf("its %s has %d bytes, the database records %d", inPkg, len(res.Data), f.Size)
	}
	// A statoverride is what dpkg itself applies after unpacking.
	if f.Mode != 0 && kind == "dpkg" {
		res.Mode = f.Mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if uid, ok := r.ids.UID(f.User); ok {
			res.UID = uid
		}
		if gid, ok := r.ids.GID(f.Group); ok {
			res.GID = gid
		}
	}
	return res, nil
}
