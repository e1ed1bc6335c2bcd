// Package pkgdb is the one view checks have of a target's package database,
// whichever family it is: RPM (rpmdb/) or dpkg (dpkg/). It answers "which
// package owns this path, and what should it look like", and finds package
// files to restore a damaged file from.
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
}

// Package is one installed package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
}

// DB is a target's package database.
type DB interface {
	// Kind is "rpm" or "dpkg".
	Kind() string
	// Packages lists the installed packages.
	Packages() []Package
	// Files lists the files of one installed package.
	Files(pkg string) []File
	// Owners returns the records of every package that owns path (a
	// target-absolute path), or nil.
	Owners(path string) []File
}
