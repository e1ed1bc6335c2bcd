// Package pkgdb is the one view checks have of a target's package database,
// whichever family it is: RPM (rpmdb/) or dpkg (dpkg/). It answers "which
// package owns this path, and what should it look like", and finds package
// files to restore a damaged file from.
//
// For checks, through facts:
//
//	db, err := pass.Facts.Packages()          // nil, nil: no package database
//	owners := db.Owners("/etc/pam.d/login")    // records, also via symlinked dirs
//	empty, known := owners[0].ExpectEmpty()    // should this file have content?
//	rep, err := pass.Facts.PackageVerify(true) // every file, metadata only, once
//	diff, err := pass.Facts.VerifyPaths(p...)  // these paths, digests included
//	res, err := pass.Facts.Restored(p)         // what its package installs there
//	fix, err := restore.Fix(pass, p)           // checks/internal/restore: the fix
//
// Open reads the database, Verify compares files with it the way rpm -V
// and debsums do, and Restorer extracts single files from .rpm and .deb
// files and checks them against it.
package pkgdb

import (
	"io/fs"
)

// Flags are what the package database says about a file.
type Flags uint32

// The file flags rescue uses (a subset of rpm's RPMFILE_* and dpkg's
// conffiles).
const (
	Config    Flags = 1 << iota // a configuration file: local changes are normal
	Doc                         // documentation: often excluded from images
	Ghost                       // listed but not shipped (created at run time)
	MissingOK                   // may legitimately be absent
	License
	NoReplace // rpm %config(noreplace)
	Specfile
	Readme
	Artifact
)

// Attrs are the attributes a verification compares, with rpm's bit values
// (RPMVERIFY_*), so that rpm's per-file verify flags carry over unchanged.
type Attrs uint32

// The attributes, in the order rpm -V prints them: S M 5 D L U G T P.
const (
	AttrDigest Attrs = 1 << 0
	AttrSize   Attrs = 1 << 1
	AttrLink   Attrs = 1 << 2
	AttrUser   Attrs = 1 << 3
	AttrGroup  Attrs = 1 << 4
	AttrMtime  Attrs = 1 << 5
	AttrMode   Attrs = 1 << 6
	AttrRdev   Attrs = 1 << 7
	AttrCaps   Attrs = 1 << 8

	AttrAll = AttrDigest | AttrSize | AttrLink | AttrUser | AttrGroup | AttrMtime | AttrMode | AttrRdev | AttrCaps
)

// File states recorded at install time (rpm's RPMFILE_STATE_*); dpkg
// records none, so its files are StateNormal, or StateNotInstalled when a
// path-exclude filter kept them off the disk.
const (
	StateNormal       = ""
	StateReplaced     = "replaced"      // another package's file took its place
	StateNotInstalled = "not installed" // excluded at install (docs, languages)
	StateNetShared    = "net shared"
	StateWrongColor   = "wrong color" // the other multilib arch's file won
	StateNoState      = "no state"    // the database recorded no state
)

// File is one file a package owns, as the database records it. Fields the
// database does not record are zero: dpkg keeps no modes or owners, for
// instance, so Mode is 0 and User is "".
type File struct {
	Path       string      `json:"path"`
	Package    string      `json:"package"`
	Version    string      `json:"version"` // full version: [epoch:]version-release for rpm
	Arch       string      `json:"arch,omitempty"`
	Mode       fs.FileMode `json:"mode,omitempty"` // type and permission bits; 0 when unknown
	User       string      `json:"user,omitempty"`
	Group      string      `json:"group,omitempty"`
	Size       int64       `json:"size"` // -1 when unknown
	Digest     string      `json:"digest,omitempty"`
	DigestAlgo string      `json:"digest_algo,omitempty"` // md5, sha1, sha256, …
	LinkTarget string      `json:"link_target,omitempty"`
	Flags      Flags       `json:"flags,omitempty"`

	// MTime, Rdev and Caps are what rpm records and verifies: the
	// modification time (Unix seconds), the device number of a device
	// node, and file capabilities in cap_to_text form ("" for none).
	MTime int64  `json:"mtime,omitempty"`
	Rdev  uint32 `json:"rdev,omitempty"`
	Caps  string `json:"caps,omitempty"`
	// NoVerify lists the attributes the package asks not to verify (rpm's
	// %verify(not …)); for dpkg, the attributes it does not record.
	NoVerify Attrs `json:"no_verify,omitempty"`
	// State is how the file was installed (StateNormal, StateReplaced, …).
	State string `json:"state,omitempty"`
	// PackagePath is where the file lies inside the package archive when
	// that differs from Path (a dpkg diversion moved it).
	PackagePath string `json:"package_path,omitempty"`
}

// ExpectEmpty says whether the database expects the file to be empty, and
// whether it knows: rpm records sizes, dpkg only digests (the MD5 of no
// bytes marks an empty file).
func (f File) ExpectEmpty() (empty, known bool) {
	if f.Size >= 0 {
		return f.Size == 0, true
	}
	if f.Digest != "" {
		return f.Digest == EmptyDigest(f.DigestAlgo), true
	}
	return false, false
}

// Regular reports whether the database knows the file to be a regular
// file: it has a content digest, or rpm recorded a regular file's mode (rpm
// records sizes, dpkg does not).
func (f File) Regular() bool {
	return f.Digest != "" || (f.Size >= 0 && f.Mode != 0 && f.Mode.IsRegular())
}

// Package is one installed package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
	// ID names the package uniquely in this database, for Files: rpm's
	// name-version-release.arch (several versions of one name can be
	// installed), dpkg's name or name:arch for Multi-Arch: same packages.
	ID string `json:"id"`

	kind string // "rpm" or "dpkg", for String
}

// String is what to ask for when fetching the package: rpm's
// name-[epoch:]version-release.arch, dpkg's name=version (with :arch).
func (p Package) String() string {
	if p.kind == "dpkg" {
		s := p.Name
		if p.Arch != "" {
			s += ":" + p.Arch
		}
		return s + "=" + p.Version
	}
	s := p.Name + "-" + p.Version
	if p.Arch != "" {
		s += "." + p.Arch
	}
	return s
}

// DB is a target's package database.
type DB interface {
	// Kind is "rpm" or "dpkg".
	Kind() string
	// Packages lists the installed packages.
	Packages() []Package
	// Files lists the files of one installed package, given by ID or by
	// name (then the files of every installed package of that name).
	Files(pkg string) []File
	// Owners returns the records of every package that owns path (a
	// target-absolute path), or nil.
	Owners(path string) []File
}
