package pkgdb

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"path"
	"sort"
	"strings"
	"sync"

	"rescue/dpkg"
	"rescue/rpmdb"
	"rescue/sysroot"
)

// Open detects the target's package family and reads its database: an RPM
// database (Berkeley DB, NDB or SQLite, at /usr/lib/sysimage/rpm,
// /var/lib/rpm or /usr/share/rpm) or dpkg's /var/lib/dpkg. When both exist
// (Debian with rpm installed, for instance) the one that holds more
// packages wins. Nothing is written to the target. A target with neither
// database gives (nil, nil), as facts.Packages documents.
//
// A database that is partly damaged is returned with the packages that
// could be read; Problems lists what was skipped.
func Open(root *sysroot.Root) (DB, error) {
	rdb, rerr := rpmdb.Open(root)
	ddb, derr := dpkg.Open(root)
	rpmOK := rdb != nil && len(rdb.Packages) > 0
	dpkgOK := ddb != nil && len(ddb.Packages) > 0
	switch {
	case rpmOK && dpkgOK && len(ddb.Packages) > len(rdb.Packages):
		return newDpkg(root, ddb), nil
	case rpmOK:
		return newRPM(root, rdb), nil
	case dpkgOK:
		return newDpkg(root, ddb), nil
	}
	switch {
	case rerr != nil && !errors.Is(rerr, rpmdb.ErrNoDB):
		return nil, rerr
	case derr != nil && !errors.Is(derr, dpkg.ErrNoDB):
		return nil, derr
	}
	return nil, nil
}

// Problems returns the damaged parts of db that were skipped when it was
// read (unreadable headers, pages, info files), or nil.
func Problems(db DB) []error {
	if p, ok := db.(interface{ Problems() []error }); ok {
		return p.Problems()
	}
	return nil
}

// Source returns the target path of db's main file ("/var/lib/rpm/Packages",
// "/var/lib/dpkg/status"), or "".
func Source(db DB) string {
	if s, ok := db.(interface{ Source() string }); ok {
		return s.Source()
	}
	return ""
}

// fileDB is the one implementation of DB, filled from either family.
type fileDB struct {
	root   *sysroot.Root
	kind   string
	source string
	pkgs   []Package
	files  map[string][]File // by package ID
	byName map[string][]string
	all    []*File
	// owners maps a path to indexes into all; built on the first
	// Owners call, since a plain verify rarely needs it.
	ownersOnce sync.Once
	owners     map[string][]int
	problems   []error

	canonOnce sync.Once
	canon     map[string][]int // resolved path -> indexes into all

	rpm  *rpmdb.DB
	dpkg *dpkg.DB
}

func (d *fileDB) Kind() string        { return d.kind }
func (d *fileDB) Source() string      { return d.source }
func (d *fileDB) Problems() []error   { return d.problems }
func (d *fileDB) Packages() []Package { return append([]Package(nil), d.pkgs...) }

func (d *fileDB) Files(pkg string) []File {
	if f, ok := d.files[pkg]; ok {
		return append([]File(nil), f...)
	}
	var out []File
	for _, id := range d.byName[pkg] {
		out = append(out, d.files[id]...)
	}
	return out
}

// Owners looks the path up as given, then as resolved inside the root: a
// package that lists /lib64/libc.so.6 owns /usr/lib64/libc.so.6 when /lib64
// is a symlink to usr/lib64, and the other way round.
func (d *fileDB) Owners(p string) []File {
	p = sysroot.Clean(p)
	d.ownersOnce.Do(func() {
		d.owners = make(map[string][]int, len(d.all))
		for i, f := range d.all {
			d.owners[f.Path] = append(d.owners[f.Path], i)
		}
	})
	idx := d.owners[p]
	if len(idx) == 0 && d.root != nil {
		d.canonOnce.Do(d.buildCanon)
		if c, err := d.resolve(p); err == nil {
			idx = d.canon[c]
		}
	}
	if len(idx) == 0 {
		return nil
	}
	out := make([]File, len(idx))
	for i, j := range idx {
		out[i] = *d.all[j]
	}
	return out
}

// resolve resolves the directory part of p inside the root, keeping the
// last element, as lstat would see the path.
func (d *fileDB) resolve(p string) (string, error) {
	dir, base := path.Split(p)
	r, err := d.root.Resolve(dir)
	if err != nil {
		return "", err
	}
	return path.Join(r, base), nil
}

// buildCanon indexes every file by its resolved path. Directories are
// resolved once each, so this costs one lookup per distinct directory.
func (d *fileDB) buildCanon() {
	d.canon = map[string][]int{}
	dirs := map[string]string{}
	for i, f := range d.all {
		dir, base := path.Split(f.Path)
		r, ok := dirs[dir]
		if !ok {
			var err error
			if r, err = d.root.Resolve(dir); err != nil {
				r = path.Clean(dir)
			}
			dirs[dir] = r
		}
		c := path.Join(r, base)
		d.canon[c] = append(d.canon[c], i)
	}
}

func (d *fileDB) add(p Package, files []File) {
	d.pkgs = append(d.pkgs, p)
	d.byName[p.Name] = append(d.byName[p.Name], p.ID)
	d.files[p.ID] = files
	for i := range files {
		d.all = append(d.all, &d.files[p.ID][i])
	}
}

func newFileDB(root *sysroot.Root, kind string) *fileDB {
	return &fileDB{root: root, kind: kind, files: map[string][]File{}, byName: map[string][]string{}}
}

var rpmStates = map[int]string{
	rpmdb.StateNormal:       StateNormal,
	rpmdb.StateReplaced:     StateReplaced,
	rpmdb.StateNotInstalled: StateNotInstalled,
	rpmdb.StateNetShared:    StateNetShared,
	rpmdb.StateWrongColor:   StateWrongColor,
	rpmdb.StateMissing:      StateNoState,
}

var rpmFlags = []struct {
	rpm  uint32
	flag Flags
}{
	{rpmdb.FileConfig, Config}, {rpmdb.FileDoc, Doc}, {rpmdb.FileGhost, Ghost},
	{rpmdb.FileMissingOK, MissingOK}, {rpmdb.FileLicense, License}, {rpmdb.FileNoReplace, NoReplace},
	{rpmdb.FileSpecfile, Specfile}, {rpmdb.FileReadme, Readme}, {rpmdb.FileArtifact, Artifact},
}

// NewRPM wraps an RPM database read by rpmdb (for tests and tools that read
// a database file directly). root may be nil; Owners then matches exact
// paths only.
func NewRPM(root *sysroot.Root, db *rpmdb.DB) DB { return newRPM(root, db) }

func newRPM(root *sysroot.Root, db *rpmdb.DB) *fileDB {
	d := newFileDB(root, "rpm")
	n := 0
	for _, p := range db.Packages {
		n += len(p.Files)
	}
	d.all = make([]*File, 0, n)
	d.source, d.rpm, d.problems = db.Path, db, db.Problems
	for _, p := range db.Packages {
		pkg := Package{Name: p.Name, Version: p.EVR(), Arch: p.Arch, ID: p.NVRA(), kind: "rpm"}
		if _, dup := d.files[pkg.ID]; dup {
			pkg.ID = fmt.Sprintf("%s#%d", pkg.ID, p.Instance)
		}
		files := make([]File, len(p.Files))
		for i, f := range p.Files {
			var flags Flags
			for _, m := range rpmFlags {
				if f.Flags&m.rpm != 0 {
					flags |= m.flag
				}
			}
			files[i] = File{
				Path: f.Path, Package: p.Name, Version: pkg.Version, Arch: p.Arch,
				Mode: sysroot.FileMode(uint32(f.Mode)), User: f.User, Group: f.Group, Size: f.Size,
				LinkTarget: f.LinkTo, Flags: flags, MTime: int64(f.Mtime), Rdev: uint32(f.Rdev), Caps: f.Caps,
				NoVerify: AttrAll &^ Attrs(f.VerifyFlags), State: rpmStates[f.State],
			}
			if f.Digest != "" {
				files[i].Digest, files[i].DigestAlgo = lower(f.Digest), p.DigestAlgo
			}
		}
		d.add(pkg, files)
	}
	return d
}

// lower lowercases hex, without copying the usual already-lowercase string.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// dpkg records digests and nothing else about a file; statoverride adds
// mode and owner where the administrator set them.
const dpkgUnknown = AttrSize | AttrLink | AttrMtime | AttrRdev | AttrCaps | AttrMode | AttrUser | AttrGroup

// NewDpkg wraps a dpkg database read by the dpkg package.
func NewDpkg(root *sysroot.Root, db *dpkg.DB) DB { return newDpkg(root, db) }

func newDpkg(root *sysroot.Root, db *dpkg.DB) *fileDB {
	d := newFileDB(root, "dpkg")
	d.source, d.dpkg, d.problems = dpkg.AdminDir+"/status", db, db.Problems
	overrides := map[string]dpkg.Override{}
	for _, o := range db.Overrides {
		overrides[o.Path] = o
	}
	for _, p := range db.Packages {
		pkg := Package{Name: p.Name, Version: p.Version, Arch: p.Architecture, ID: p.ID(), kind: "dpkg"}
		sums := map[string]string{}
		for _, s := range db.Sums[pkg.ID] {
			sums[s.Path] = s.MD5
		}
		conf := map[string]dpkg.Conffile{}
		for _, c := range p.Conffiles {
			conf[c.Path] = c
		}
		var files []File
		seen := map[string]bool{}
		addFile := func(shipped string) {
			if seen[shipped] {
				return
			}
			seen[shipped] = true
			f := File{
				Path: db.Diverted(shipped, p.Name), Package: p.Name, Version: p.Version, Arch: p.Architecture,
				Size: -1, NoVerify: dpkgUnknown,
			}
			if f.Path != shipped {
				f.PackagePath = shipped
			}
			if c, ok := conf[shipped]; ok {
				f.Flags |= Config
				if c.Hash != "newconffile" && len(c.Hash) == 32 {
					f.Digest, f.DigestAlgo = strings.ToLower(c.Hash), "md5"
				}
				if c.Obsolete || c.RemoveOnUpgrade {
					// An obsolete conffile is no longer shipped: its
					// absence is normal.
					f.Flags |= MissingOK
				}
			} else if s, ok := sums[shipped]; ok {
				f.Digest, f.DigestAlgo = s, "md5"
			}
			if f.Digest == "" {
				// A directory, a symlink, or a file without an
				// md5sums entry: only its presence can be checked.
				f.NoVerify |= AttrDigest
			}
			if db.Filter.Excluded(shipped) {
				f.State = StateNotInstalled
			}
			if o, ok := overrides[f.Path]; ok {
				// Only the permission bits are known: dpkg records no
				// file types, and verify compares only these bits.
				f.Mode = sysroot.FileMode(o.Mode)
				f.User, f.Group = o.User, o.Group
				f.NoVerify &^= AttrMode | AttrUser | AttrGroup
			}
			files = append(files, f)
		}
		for _, l := range db.Lists[pkg.ID] {
			addFile(l)
		}
		// md5sums and conffiles entries missing from the list (a damaged
		// .list) still describe files the package installed.
		for _, s := range db.Sums[pkg.ID] {
			addFile(s.Path)
		}
		for _, c := range p.Conffiles {
			addFile(c.Path)
		}
		d.add(pkg, files)
	}
	return d
}

// EmptyDigest is the hex digest of no bytes in algo ("md5", "sha256", …),
// or "" for an unknown algorithm.
func EmptyDigest(algo string) string {
	h := NewHash(algo)
	if h == nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NewHash returns a hash for a digest algorithm name, or nil.
func NewHash(algo string) hash.Hash {
	switch algo {
	case "md5":
		return md5.New()
	case "sha1":
		return sha1.New()
	case "sha224":
		return sha256.New224()
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return nil
}

// sortedIDs lists package IDs by name, then ID.
func sortedIDs(pkgs []Package) []string {
	ps := append([]Package(nil), pkgs...)
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Name != ps[j].Name {
			return ps[i].Name < ps[j].Name
		}
		return ps[i].ID < ps[j].ID
	})
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}
