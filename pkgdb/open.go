package pkgdb

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math/bits"
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
	// Both readers go through their files one after another; on a cold
	// disk the files are fetched first, many at once.
	pf := root.Prefetch(context.Background(), DatabaseFiles(), 0)
	defer pf.Stop()
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

// DatabaseFiles are the files Open reads, as prefetch patterns: every
// place an RPM database may be, and dpkg's status with the file lists and
// digests of every package.
func DatabaseFiles() []string {
	var out []string
	for _, d := range rpmdb.Dirs {
		for _, n := range rpmdb.FileNames() {
			out = append(out, path.Join(d, n))
		}
	}
	a := dpkg.AdminDir
	return append(out, a+"/status", a+"/info/*.list", a+"/info/*.md5sums", a+"/diversions", a+"/statoverride")
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
	srcs   []fileSource // by index into pkgs
	byID   map[string]int
	byName map[string][]int
	// owners maps a path to its records; built on the first Owners call,
	// since a plain verify rarely needs it.
	ownersOnce sync.Once
	owners     map[string][]ref
	problems   []error

	canonOnce sync.Once
	canon     map[string][]ref // resolved path -> records

	rpm  *rpmdb.DB
	dpkg *dpkg.DB
}

// ref names one file record: package index, record index.
type ref struct{ pkg, file int32 }

// fileSource holds one package's file records. rpm records are decoded
// from the header on demand, so that a database of a whole system is not
// kept twice in memory.
type fileSource interface {
	n() int
	path(i int) string
	file(i int, f *File)
}

// fileList is a source of records already decoded (dpkg).
type fileList []File

func (l fileList) n() int              { return len(l) }
func (l fileList) path(i int) string   { return l[i].Path }
func (l fileList) file(i int, f *File) { *f = l[i] }

func (d *fileDB) Kind() string        { return d.kind }
func (d *fileDB) Source() string      { return d.source }
func (d *fileDB) Problems() []error   { return d.problems }
func (d *fileDB) Packages() []Package { return append([]Package(nil), d.pkgs...) }

// indexes returns the packages an ID or a name stands for.
func (d *fileDB) indexes(pkg string) []int {
	if i, ok := d.byID[pkg]; ok {
		return []int{i}
	}
	return d.byName[pkg]
}

func (d *fileDB) Files(pkg string) []File {
	var out []File
	for _, i := range d.indexes(pkg) {
		src := d.srcs[i]
		start := len(out)
		out = append(out, make([]File, src.n())...)
		for j := range src.n() {
			src.file(j, &out[start+j])
		}
	}
	return out
}

func (d *fileDB) get(r ref) File {
	var f File
	d.srcs[r.pkg].file(int(r.file), &f)
	return f
}

// Owners looks the path up as given, then as resolved inside the root: a
// package that lists /lib64/libc.so.6 owns /usr/lib64/libc.so.6 when /lib64
// is a symlink to usr/lib64, and the other way round.
func (d *fileDB) Owners(p string) []File {
	refs := d.ownerRefs(p)
	if len(refs) == 0 {
		return nil
	}
	out := make([]File, len(refs))
	for i, r := range refs {
		out[i] = d.get(r)
	}
	return out
}

// ownerRefs are the records of p, as given or as resolved in the root.
func (d *fileDB) ownerRefs(p string) []ref {
	p = sysroot.Clean(p)
	refs := d.exactOwners(p)
	if len(refs) == 0 && d.root != nil {
		d.canonOnce.Do(d.buildCanon)
		if c, err := d.resolve(p); err == nil {
			refs = d.canon[c]
		}
	}
	return refs
}

// exactOwners are the records listing exactly p.
func (d *fileDB) exactOwners(p string) []ref {
	d.ownersOnce.Do(func() {
		n := 0
		for _, s := range d.srcs {
			n += s.n()
		}
		d.owners = make(map[string][]ref, n)
		for i, s := range d.srcs {
			for j := range s.n() {
				p := s.path(j)
				d.owners[p] = append(d.owners[p], ref{int32(i), int32(j)})
			}
		}
	})
	return d.owners[p]
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
	d.canon = map[string][]ref{}
	dirs := map[string]string{}
	for i, s := range d.srcs {
		for j := range s.n() {
			dir, base := path.Split(s.path(j))
			r, ok := dirs[dir]
			if !ok {
				var err error
				if r, err = d.root.Resolve(dir); err != nil {
					r = path.Clean(dir)
				}
				dirs[dir] = r
			}
			c := path.Join(r, base)
			d.canon[c] = append(d.canon[c], ref{int32(i), int32(j)})
		}
	}
}

func (d *fileDB) add(p Package, src fileSource) {
	d.byID[p.ID] = len(d.pkgs)
	d.byName[p.Name] = append(d.byName[p.Name], len(d.pkgs))
	d.pkgs = append(d.pkgs, p)
	d.srcs = append(d.srcs, src)
}

func newFileDB(root *sysroot.Root, kind string) *fileDB {
	return &fileDB{root: root, kind: kind, byID: map[string]int{}, byName: map[string][]int{}}
}

// rpmFiles decodes an rpm package's records into Files on demand.
type rpmFiles struct {
	p   *rpmdb.Package
	pkg Package
}

func (r rpmFiles) n() int            { return r.p.NumFiles() }
func (r rpmFiles) path(i int) string { return r.p.Path(i) }
func (r rpmFiles) file(i int, out *File) {
	f := r.p.File(i)
	*out = File{
		Path: f.Path, Package: r.pkg.Name, Version: r.pkg.Version, Arch: r.pkg.Arch,
		Mode: sysroot.FileMode(uint32(f.Mode)), User: f.User, Group: f.Group, Size: f.Size,
		LinkTarget: f.LinkTo, Flags: rpmFlags(f.Flags), MTime: int64(f.Mtime), Rdev: uint32(f.Rdev), Caps: f.Caps,
		NoVerify: AttrAll &^ Attrs(f.VerifyFlags), State: rpmState(f.State),
	}
	if f.Digest != "" {
		out.Digest, out.DigestAlgo = lower(f.Digest), r.p.DigestAlgo
	}
}

// rpmState names rpm's RPMFILE_STATE_* values.
func rpmState(st int) string {
	switch st {
	case rpmdb.StateNormal:
		return StateNormal
	case rpmdb.StateReplaced:
		return StateReplaced
	case rpmdb.StateNotInstalled:
		return StateNotInstalled
	case rpmdb.StateNetShared:
		return StateNetShared
	case rpmdb.StateWrongColor:
		return StateWrongColor
	case rpmdb.StateMissing:
		return StateNoState
	}
	return StateNoState
}

// rpmFlagBits maps rpm's RPMFILE_* bits (0-12) to Flags.
var rpmFlagBits = [13]Flags{
	0: Config, 1: Doc, 3: MissingOK, 4: NoReplace, 5: Specfile, 6: Ghost, 7: License, 8: Readme, 12: Artifact,
}

func rpmFlags(f uint32) Flags {
	var out Flags
	for f != 0 {
		b := bits.TrailingZeros32(f)
		if b < len(rpmFlagBits) {
			out |= rpmFlagBits[b]
		}
		f &^= 1 << b
	}
	return out
}

func newRPM(root *sysroot.Root, db *rpmdb.DB) *fileDB {
	d := newFileDB(root, "rpm")
	d.source, d.rpm, d.problems = db.Path, db, db.Problems
	for _, p := range db.Packages {
		pkg := Package{Name: p.Name, Version: p.EVR(), Arch: p.Arch, ID: p.NVRA(), kind: "rpm"}
		if _, dup := d.byID[pkg.ID]; dup {
			pkg.ID = fmt.Sprintf("%s#%d", pkg.ID, p.Instance)
		}
		d.add(pkg, rpmFiles{p: p, pkg: pkg})
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
		d.add(pkg, fileList(files))
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
