package dpkg

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"rescue/sysroot"
)

// AdminDir is dpkg's database directory.
const AdminDir = "/var/lib/dpkg"

// ErrNoDB is returned by Open when the target has no dpkg status file.
var ErrNoDB = errors.New("no dpkg database")

// DB is a target's dpkg database.
type DB struct {
	// Packages are the status paragraphs with files on disk (every state
	// but not-installed and config-files), in status file order.
	Packages []Package
	// Lists and Sums are each package's info/*.list paths and
	// info/*.md5sums entries, by package ID.
	Lists map[string][]string
	Sums  map[string][]Sum
	// Diversions and Overrides are the diversions and statoverride files.
	Diversions []Diversion
	Overrides  []Override
	// Filter holds the path-exclude/path-include options of dpkg.cfg.
	Filter *Filter
	// Problems are the damaged parts that were skipped.
	Problems []error
}

// Open reads the target's dpkg database.
func Open(root *sysroot.Root) (*DB, error) {
	status, err := root.ReadFile(path.Join(AdminDir, "status"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoDB
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s/status: %w", AdminDir, err)
	}
	db := &DB{Lists: map[string][]string{}, Sums: map[string][]Sum{}, Filter: &Filter{}}
	pkgs, problems := ParseStatus(status)
	db.Problems = append(db.Problems, problems...)
	if len(pkgs) == 0 {
		return db, fmt.Errorf("%s/status lists no package", AdminDir)
	}
	for _, p := range pkgs {
		switch p.State() {
		case "not-installed", "config-files", "":
			continue
		}
		db.Packages = append(db.Packages, p)
		list, err := readInfo(root, p, "list")
		if err != nil {
			db.Problems = append(db.Problems, err)
		}
		db.Lists[p.ID()] = ParseList(list)
		sums, err := readInfo(root, p, "md5sums")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			db.Problems = append(db.Problems, err)
		}
		s, problems := ParseMD5Sums(sums)
		for _, pr := range problems {
			db.Problems = append(db.Problems, fmt.Errorf("%s: %w", p.ID(), pr))
		}
		db.Sums[p.ID()] = s
	}
	if data, err := root.ReadFile(path.Join(AdminDir, "diversions")); err == nil {
		d, problems := ParseDiversions(data)
		db.Diversions = d
		db.Problems = append(db.Problems, problems...)
	}
	if data, err := root.ReadFile(path.Join(AdminDir, "statoverride")); err == nil {
		o, problems := ParseStatOverride(data)
		db.Overrides = o
		db.Problems = append(db.Problems, problems...)
	}
	if data, err := root.ReadFile("/etc/dpkg/dpkg.cfg"); err == nil {
		db.Filter.ParseConfig(data)
	}
	if entries, err := root.ReadDir("/etc/dpkg/dpkg.cfg.d"); err == nil {
		// dpkg reads the directory in C-locale order, skipping names
		// with characters other than alphanumerics, '_' and '-'.
		for _, e := range entries {
			if !validCfgName(e.Name()) {
				continue
			}
			if data, err := root.ReadFile(path.Join("/etc/dpkg/dpkg.cfg.d", e.Name())); err == nil {
				db.Filter.ParseConfig(data)
			}
		}
	}
	return db, nil
}

func validCfgName(n string) bool {
	for _, c := range n {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return n != ""
}

// readInfo reads info/ID.ext, falling back to the other naming: packages
// that became Multi-Arch: same keep their files under the arch-qualified
// name, older ones under the bare name.
func readInfo(root *sysroot.Root, p Package, ext string) ([]byte, error) {
	names := []string{p.ID()}
	if p.Architecture != "" && !strings.Contains(p.ID(), ":") {
		names = append(names, p.Name+":"+p.Architecture)
	} else if strings.Contains(p.ID(), ":") {
		names = append(names, p.Name)
	}
	var firstErr error
	for _, n := range names {
		data, err := root.ReadFile(path.Join(AdminDir, "info", n+"."+ext))
		if err == nil {
			return data, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// Diverted returns where the file a package ships at p is installed: the
// diversion's target when another package (or the administrator) diverted
// it, p itself otherwise.
func (db *DB) Diverted(p, pkgName string) string {
	for _, d := range db.Diversions {
		if d.From == p && d.By != pkgName {
			return d.To
		}
	}
	return p
}
