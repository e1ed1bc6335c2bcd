package sysroot

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
)

func sortEntries(e []fs.DirEntry) {
	slices.SortFunc(e, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}

// SkipDir, returned by a WalkFunc for a directory, skips that directory.
var SkipDir = fs.SkipDir

// WalkFunc is called for every entry under the walked directory. The path is
// target-absolute; info comes from Lstat, so symlinks are reported, not
// followed, and the walk never leaves the tree it started in.
type WalkFunc func(name string, info fs.FileInfo, err error) error

// Walk walks the tree at name in lexical order without following symlinks.
// The start itself is resolved (a /bin -> usr/bin link is walked as usr/bin).
func (r *Root) Walk(name string, fn WalkFunc) error {
	start, err := r.Resolve(name)
	if err != nil {
		return fn(Clean(name), nil, err)
	}
	fi, err := r.Lstat(start)
	if err != nil {
		return fn(start, nil, err)
	}
	err = r.walk(start, fi, fn)
	if errors.Is(err, fs.SkipDir) || errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

func (r *Root) walk(name string, fi fs.FileInfo, fn WalkFunc) error {
	if err := fn(name, fi, nil); err != nil || !fi.IsDir() {
		return err
	}
	entries, err := r.readDirNoFollow(name)
	if err != nil {
		if err := fn(name, fi, err); err != nil && !errors.Is(err, fs.SkipDir) {
			return err
		}
		return nil
	}
	for _, e := range entries {
		child := path.Join(name, e.Name())
		cfi, err := r.Lstat(child)
		if err != nil {
			if err := fn(child, nil, err); err != nil && !errors.Is(err, fs.SkipDir) {
				return err
			}
			continue
		}
		if err := r.walk(child, cfi, fn); err != nil {
			if errors.Is(err, fs.SkipDir) {
				if cfi.IsDir() {
					continue
				}
				return nil // SkipDir on a file skips the rest of its directory
			}
			return err
		}
	}
	return nil
}

// readDirNoFollow lists a directory reached without following its own last
// element (it was found by Lstat as a real directory).
func (r *Root) readDirNoFollow(name string) ([]fs.DirEntry, error) {
	return r.ReadDir(name)
}

// FS returns the root as an fs.FS for code that wants one (fs.WalkDir,
// fs.Glob). Names are unrooted, as fs.FS requires.
func (r *Root) FS() fs.FS { return rootFS{r} }

type rootFS struct{ r *Root }

func (f rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	return f.r.Open(name)
}

func (f rootFS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrInvalid}
	}
	return f.r.ReadFile(name)
}

func (f rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	return f.r.ReadDir(name)
}

// Glob returns the target-absolute names matching pattern (path.Match
// syntax, a target-absolute pattern), sorted. Symlinks in the directory part
// are followed inside the root.
func (r *Root) Glob(pattern string) ([]string, error) {
	m, err := fs.Glob(r.FS(), strings.TrimPrefix(Clean(pattern), "/"))
	if err != nil {
		return nil, err
	}
	for i := range m {
		m[i] = "/" + m[i]
	}
	return m, nil
}
