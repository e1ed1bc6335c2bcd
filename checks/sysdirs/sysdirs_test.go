package sysdirs

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
	"rescue/sysroot"
)

func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: openFake})
}

// fakeDB is a test double for the package database: the archives that need
// one describe it in /var/lib/fakepkg/db, one "package version path" per
// line (a path ending in / is a directory, with its mode after it; "path
// -> target" is a symlink; "path ghost" a file listed but not shipped).
type fakeDB struct{ files []pkgdb.File }

const fakePath = "/var/lib/fakepkg/db"

func openFake(r *sysroot.Root) (pkgdb.DB, error) {
	data, err := r.ReadFile(fakePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	db := &fakeDB{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		file := pkgdb.File{Package: f[0], Version: f[1], Path: f[2], Size: -1}
		switch {
		case len(f) == 5 && f[3] == "->":
			file.Mode, file.LinkTarget = fs.ModeSymlink|0o777, f[4]
		case len(f) == 4 && f[3] == "ghost":
			file.Flags |= pkgdb.Ghost
		}
		if strings.HasSuffix(f[2], "/") {
			file.Path = strings.TrimSuffix(f[2], "/")
			file.Mode = fs.ModeDir | 0o755
			if len(f) > 3 && f[3] == "0555" {
				file.Mode = fs.ModeDir | 0o555
			}
		}
		db.files = append(db.files, file)
	}
	return db, nil
}

func (d *fakeDB) Kind() string { return "rpm" }

func (d *fakeDB) Packages() []pkgdb.Package {
	seen := map[string]bool{}
	var out []pkgdb.Package
	for _, f := range d.files {
		if !seen[f.Package] {
			seen[f.Package] = true
			out = append(out, pkgdb.Package{Name: f.Package, Version: f.Version})
		}
	}
	return out
}

func (d *fakeDB) Files(pkg string) []pkgdb.File {
	var out []pkgdb.File
	for _, f := range d.files {
		if f.Package == pkg {
			out = append(out, f)
		}
	}
	return out
}

func (d *fakeDB) Owners(p string) []pkgdb.File {
	var out []pkgdb.File
	for _, f := range d.files {
		if f.Path == p {
			out = append(out, f)
		}
	}
	return out
}
